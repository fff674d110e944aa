// A small hand-written DesiredState and matching live facts, for planner and apply tests
// that must not depend on the compiler.
import type { DesiredState } from '../../src/model/desired.js';
import type { HostFacts } from '../../src/model/facts.js';

export function twoLinkDesired(): DesiredState {
  return {
    host: 'r1',
    settings: { stateDir: '/var/lib/multilink', runDir: '/var/run/multilink', markMask: 0xff00, tableBase: 100, rulePriority: 1000, boot: 'none', iptables: 'auto', firewall: 'auto' },
    method: 'random',
    traffic: ['forwarded'],
    links: [
      { name: 'dsl', index: 1, interface: 'wan1', gateway: '100.64.1.1', weight: 1, tier: 1, masquerade: true, inbound: false, mark: 0x100, table: 101, priority: 1000 },
      { name: 'cable', index: 2, interface: 'wan2', gateway: '100.64.2.1', weight: 1, tier: 1, masquerade: true, inbound: false, mark: 0x200, table: 102, priority: 1001 },
    ],
    chains: [
      {
        table: 'mangle',
        name: 'ML_MARK',
        rules: [
          '-m mark ! --mark 0x0/0xff00 -j RETURN',
          '-j CONNMARK --restore-mark --nfmask 0xff00 --ctmask 0xff00',
          '-m conntrack --ctstate NEW -m mark --mark 0x0/0xff00 -j ML_BALANCE',
          '-m conntrack --ctstate NEW -j CONNMARK --save-mark --nfmask 0xff00 --ctmask 0xff00',
        ],
      },
      {
        table: 'mangle',
        name: 'ML_BALANCE',
        rules: [
          '-m mark --mark 0x0/0xff00 -m statistic --mode random --probability 0.50000000000 -j MARK --set-xmark 0x100/0xff00',
          '-m mark --mark 0x0/0xff00 -j MARK --set-xmark 0x200/0xff00',
        ],
      },
      { table: 'nat', name: 'ML_MASQ', rules: ['-o wan1 -j MASQUERADE', '-o wan2 -j MASQUERADE'] },
    ],
    jumps: [
      { table: 'mangle', chain: 'PREROUTING', rule: '-i lan0 -j ML_MARK' },
      { table: 'nat', chain: 'POSTROUTING', rule: '-j ML_MASQ' },
    ],
    rules: [
      { kind: 'fwmark', priority: 1000, fwmark: 0x100, mask: 0xff00, table: 101 },
      { kind: 'fwmark', priority: 1001, fwmark: 0x200, mask: 0xff00, table: 102 },
    ],
    routes: [
      { table: 101, dst: 'default', via: '100.64.1.1', dev: 'wan1' },
      { table: 102, dst: 'default', via: '100.64.2.1', dev: 'wan2' },
    ],
    sysctls: [
      { key: 'net/ipv4/ip_forward', value: '1' },
      { key: 'net/ipv4/conf/wan1/rp_filter', value: '2' },
      { key: 'net/ipv4/conf/wan2/rp_filter', value: '2' },
    ],
    modules: ['nf_conntrack_ftp'],
    balanceChain: { table: 'mangle', name: 'ML_BALANCE' },
  };
}

const builtins = {
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
} as const;

/** Facts of a router that holds nothing of multilink's, plus a foreign rule and ip rule. */
export function pristineFacts(): HostFacts {
  const tables = Object.fromEntries(
    Object.entries(builtins).map(([t, chains]) => [t, { chains: chains.map((name) => ({ name, policy: 'ACCEPT', rules: [] as string[] })) }]),
  ) as unknown as HostFacts['iptables'];
  tables.mangle.chains[0].rules.push('-p tcp -m tcp --dport 8080 -j MARK --set-xmark 0x5/0xff');
  return {
    flavour: 'nft',
    iptables: tables,
    ipRules: [
      { priority: 0, text: 'from all lookup local', table: 'local' },
      { priority: 1500, text: 'from 192.0.2.0/24 lookup 200', table: '200' },
      { priority: 32766, text: 'from all lookup main', table: 'main' },
      { priority: 32767, text: 'from all lookup default', table: 'default' },
    ],
    routes: { 101: [], 102: [] },
    sysctls: { 'net/ipv4/ip_forward': '0', 'net/ipv4/conf/wan1/rp_filter': '1', 'net/ipv4/conf/wan2/rp_filter': '2' },
    modules: { nf_conntrack_ftp: 'builtin' },
    owned: null,
    generations: { current: null, list: [] },
    monitor: { script: null, running: false, links: [] },
    mainDefaults: { wan1: 'via 100.64.1.1', wan2: 'via 100.64.2.1' },
    tools: { ping: 'iputils', conntrack: true, stateFs: 'ext4' },
  };
}

/** Facts of the same router after a successful apply of twoLinkDesired(). */
export function convergedFacts(): HostFacts {
  const f = pristineFacts();
  const d = twoLinkDesired();
  for (const j of d.jumps) f.iptables[j.table].chains.find((c) => c.name === j.chain)!.rules.unshift(j.rule);
  for (const c of d.chains) f.iptables[c.table].chains.push({ name: c.name, policy: '-', rules: [...c.rules] });
  f.ipRules.splice(1, 0, { priority: 1000, text: 'from all fwmark 0x100/0xff00 lookup 101', fwmark: 0x100, mask: 0xff00, table: '101' }, { priority: 1001, text: 'from all fwmark 0x200/0xff00 lookup 102', fwmark: 0x200, mask: 0xff00, table: '102' });
  f.routes = { 101: [{ text: 'default via 100.64.1.1 dev wan1', dst: 'default', via: '100.64.1.1', dev: 'wan1' }], 102: [{ text: 'default via 100.64.2.1 dev wan2', dst: 'default', via: '100.64.2.1', dev: 'wan2' }] };
  f.sysctls = { 'net/ipv4/ip_forward': '1', 'net/ipv4/conf/wan1/rp_filter': '2', 'net/ipv4/conf/wan2/rp_filter': '2' };
  f.owned = {
    tables: [101, 102],
    priorities: [1000, 1001],
    chains: d.chains.map((c) => ({ table: c.table, name: c.name })),
    sysctls: { 'net/ipv4/ip_forward': '0', 'net/ipv4/conf/wan1/rp_filter': '1', 'net/ipv4/conf/wan2/rp_filter': '2' },
  };
  return f;
}
