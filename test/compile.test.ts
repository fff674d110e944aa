import { describe, expect, it } from 'vitest';
import { compileHost } from '../src/compile/desired-state.js';
import type { DesiredState } from '../src/model/desired.js';
import { exception, hostConfig, link } from './fixtures/render/host-config.js';

const G = '-m mark --mark 0x0/0xff00';

function chain(d: DesiredState, name: string): string[] | undefined {
  return d.chains.find((c) => c.name === name)?.rules;
}

describe('compileHost', () => {
  it('a 3-link 1:2:3 random play with one exception of each kind, ftp and masquerade', () => {
    const cfg = hostConfig({
      links: [link('dsl', 1, 1), link('cable', 2, 2, { masquerade: false }), link('lte', 3, 3)],
      exceptions: [
        exception({ destination: '192.168.1.0/24', via: 'main' }),
        exception({ protocol: 'tcp', ports: [21, 22, 80, 443, 6667], via: 'dsl' }),
        exception({ protocol: 'udp', ports: [53], via: 'dsl' }),
        exception({ destination: '203.0.113.5/32', protocol: 'tcp', via: 'cable' }),
      ],
      helpers: ['ftp'],
      lan: ['lan0', 'lan1'],
    });
    const expected: DesiredState = {
      host: 'r1',
      settings: cfg.settings,
      method: 'random',
      traffic: ['forwarded', 'local'],
      links: [
        { name: 'dsl', index: 1, interface: 'wan1', gateway: '100.64.1.1', weight: 1, tier: 1, masquerade: true, inbound: true, mark: 0x100, table: 101, priority: 1000 },
        { name: 'cable', index: 2, interface: 'wan2', gateway: '100.64.2.1', weight: 2, tier: 1, masquerade: false, inbound: true, mark: 0x200, table: 102, priority: 1001 },
        { name: 'lte', index: 3, interface: 'wan3', gateway: '100.64.3.1', weight: 3, tier: 1, masquerade: true, inbound: true, mark: 0x300, table: 103, priority: 1002 },
      ],
      chains: [
        {
          table: 'mangle',
          name: 'ML_PRE',
          rules: [
            '-m mark ! --mark 0x0/0xff00 -j RETURN',
            '-j CONNMARK --restore-mark --nfmask 0xff00 --ctmask 0xff00',
            '-m mark ! --mark 0x0/0xff00 -j RETURN',
            '-i wan1 -m conntrack --ctstate NEW -j MARK --set-xmark 0x100/0xff00',
            '-i wan2 -m conntrack --ctstate NEW -j MARK --set-xmark 0x200/0xff00',
            '-i wan3 -m conntrack --ctstate NEW -j MARK --set-xmark 0x300/0xff00',
            '-p tcp -m conntrack --ctstate NEW -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN -j MARK --set-xmark 0xff00/0xff00',
            `-i lan0 -m conntrack --ctstate NEW ${G} -j ML_NEW`,
            `-i lan1 -m conntrack --ctstate NEW ${G} -j ML_NEW`,
            '-m conntrack --ctstate NEW -j CONNMARK --save-mark --nfmask 0xff00 --ctmask 0xff00',
          ],
        },
        {
          table: 'mangle',
          name: 'ML_OUT',
          rules: [
            '-m mark ! --mark 0x0/0xff00 -j RETURN',
            '-j CONNMARK --restore-mark --nfmask 0xff00 --ctmask 0xff00',
            '-m mark ! --mark 0x0/0xff00 -j RETURN',
            '-p tcp -m conntrack --ctstate NEW -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN -j MARK --set-xmark 0xff00/0xff00',
            `-m conntrack --ctstate NEW ${G} -j ML_NEW`,
            '-m conntrack --ctstate NEW -j CONNMARK --save-mark --nfmask 0xff00 --ctmask 0xff00',
          ],
        },
        {
          table: 'mangle',
          name: 'ML_NEW',
          rules: [
            '-m addrtype --dst-type LOCAL,BROADCAST,MULTICAST -j RETURN',
            `-p udp ${G} -m udp --sport 68 --dport 67 -j RETURN`,
            `-d 192.168.1.0/24 ${G} -j RETURN`,
            `-p tcp ${G} -m multiport --dports 21,22,80,443,6667 -j MARK --set-xmark 0x100/0xff00`,
            `-p udp ${G} -m udp --dport 53 -j MARK --set-xmark 0x100/0xff00`,
            `-d 203.0.113.5/32 -p tcp ${G} -j MARK --set-xmark 0x200/0xff00`,
            `${G} -j ML_BALANCE`,
          ],
        },
        {
          table: 'mangle',
          name: 'ML_BALANCE',
          rules: [
            `${G} -m statistic --mode random --probability 0.16666666651 -j MARK --set-xmark 0x100/0xff00`,
            `${G} -m statistic --mode random --probability 0.39999999991 -j MARK --set-xmark 0x200/0xff00`,
            `${G} -j MARK --set-xmark 0x300/0xff00`,
          ],
        },
        { table: 'mangle', name: 'ML_ACCT', rules: ['-o wan1', '-o wan2', '-o wan3'] },
        { table: 'nat', name: 'ML_MASQ', rules: ['-m mark --mark 0xff00/0xff00 -j RETURN', '-o wan1 -j MASQUERADE', '-o wan3 -j MASQUERADE'] },
        { table: 'raw', name: 'ML_HELPERS', rules: ['-p tcp -m tcp --dport 21 -j CT --helper ftp'] },
      ],
      jumps: [
        { table: 'mangle', chain: 'PREROUTING', rule: '-j ML_PRE' },
        { table: 'mangle', chain: 'OUTPUT', rule: '-j ML_OUT' },
        { table: 'mangle', chain: 'POSTROUTING', rule: '-j ML_ACCT' },
        { table: 'nat', chain: 'POSTROUTING', rule: '-j ML_MASQ' },
        { table: 'raw', chain: 'PREROUTING', rule: '-i lan0 -j ML_HELPERS' },
        { table: 'raw', chain: 'PREROUTING', rule: '-i lan1 -j ML_HELPERS' },
        { table: 'raw', chain: 'OUTPUT', rule: '-j ML_HELPERS' },
      ],
      rules: [
        { kind: 'main', priority: 999 },
        { kind: 'fwmark', priority: 1000, fwmark: 0x100, mask: 0xff00, table: 101 },
        { kind: 'fwmark', priority: 1001, fwmark: 0x200, mask: 0xff00, table: 102 },
        { kind: 'fwmark', priority: 1002, fwmark: 0x300, mask: 0xff00, table: 103 },
        { kind: 'oif', priority: 1003, dev: 'wan1', table: 101 },
        { kind: 'oif', priority: 1004, dev: 'wan2', table: 102 },
        { kind: 'oif', priority: 1005, dev: 'wan3', table: 103 },
      ],
      routes: [
        { table: 101, dst: 'default', via: '100.64.1.1', dev: 'wan1' },
        { table: 102, dst: 'default', via: '100.64.2.1', dev: 'wan2' },
        { table: 103, dst: 'default', via: '100.64.3.1', dev: 'wan3' },
      ],
      sysctls: [
        { key: 'net/ipv4/ip_forward', value: '1' },
        { key: 'net/ipv4/conf/wan1/rp_filter', value: '2' },
        { key: 'net/ipv4/conf/wan2/rp_filter', value: '2' },
        { key: 'net/ipv4/conf/wan3/rp_filter', value: '2' },
      ],
      modules: ['nf_conntrack_ftp', 'nf_nat_ftp'],
      balanceChain: { table: 'mangle', name: 'ML_BALANCE' },
      monitor: { intervalMs: 1000, guardOnly: true, links: [], balance: {} },
    };
    expect(compileHost(cfg)).toEqual(expected);
  });

  it('is pure: same input, same output, input untouched', () => {
    const cfg = hostConfig({ exceptions: [exception({ destination: '10.0.0.0/8', via: 'main' })] });
    const copy = structuredClone(cfg);
    expect(compileHost(cfg)).toEqual(compileHost(copy));
    expect(cfg).toEqual(copy);
  });

  it('without exceptions ML_NEW leaves the router’s own addresses alone, then balances', () => {
    expect(chain(compileHost(hostConfig()), 'ML_NEW')).toEqual(['-m addrtype --dst-type LOCAL,BROADCAST,MULTICAST -j RETURN',
            `-p udp ${G} -m udp --sport 68 --dport 67 -j RETURN`, `${G} -j ML_BALANCE`]);
  });

  it('keeps exception order (first match wins) and guards every rule after the first', () => {
    const d = compileHost(
      hostConfig({
        exceptions: [
          exception({ protocol: 'tcp', ports: [22], via: 'lte' }),
          exception({ destination: '10.0.0.0/8', via: 'main' }),
          exception({ protocol: 'tcp', ports: [22], via: 'dsl' }),
        ],
      }),
    );
    expect(chain(d, 'ML_NEW')).toEqual([
      '-m addrtype --dst-type LOCAL,BROADCAST,MULTICAST -j RETURN',
            `-p udp ${G} -m udp --sport 68 --dport 67 -j RETURN`,
      `-p tcp ${G} -m tcp --dport 22 -j MARK --set-xmark 0x300/0xff00`,
      `-d 10.0.0.0/8 ${G} -j RETURN`,
      `-p tcp ${G} -m tcp --dport 22 -j MARK --set-xmark 0x100/0xff00`,
      `${G} -j ML_BALANCE`,
    ]);
  });

  it('spells destinations and ports as iptables-save does', () => {
    const d = compileHost(
      hostConfig({
        exceptions: [
          exception({ destination: '203.0.113.5', via: 'main' }),
          exception({ destination: '0.0.0.0/0', protocol: 'udp', via: 'main' }),
          exception({ destination: '198.51.100.7/24', via: 'main' }),
          exception({ ports: [53, 53], via: 'dsl' }),
          exception({ protocol: 'udp', ports: Array.from({ length: 17 }, (_, i) => 5000 + i), via: 'cable' }),
        ],
      }),
    );
    expect(chain(d, 'ML_NEW')).toEqual([
      '-m addrtype --dst-type LOCAL,BROADCAST,MULTICAST -j RETURN',
            `-p udp ${G} -m udp --sport 68 --dport 67 -j RETURN`,
      `-d 203.0.113.5/32 ${G} -j RETURN`,
      `-p udp ${G} -j RETURN`,
      `-d 198.51.100.0/24 ${G} -j RETURN`,
      `-p tcp ${G} -m tcp --dport 53 -j MARK --set-xmark 0x100/0xff00`,
      `-p udp ${G} -m udp --dport 53 -j MARK --set-xmark 0x100/0xff00`,
      `-p udp ${G} -m multiport --dports 5000,5001,5002,5003,5004,5005,5006,5007,5008,5009,5010,5011,5012,5013,5014 -j MARK --set-xmark 0x200/0xff00`,
      `-p udp ${G} -m multiport --dports 5015,5016 -j MARK --set-xmark 0x200/0xff00`,
      `${G} -j ML_BALANCE`,
    ]);
  });

  it('exceptions by source and LAN interface: one rule per source and interface, in iptables-save order, each in its family', () => {
    const d = compileHost(
      hostConfig({
        lan: ['lan0', 'guest'],
        links: [link('dsl', 1, 1, { gateway6: '2001:db8:1::1' }), link('cable', 2, 2), link('lte', 3, 3, { gateway6: 'auto' })],
        exceptions: [
          exception({ in: ['guest'], via: 'lte' }),
          exception({ source: ['192.0.2.0/25', '2001:db8:5::/48'], in: ['lan0', 'guest'], protocol: 'udp', ports: [5060], via: 'dsl' }),
          exception({ source: ['198.51.100.7/32'], destination: '203.0.113.0/24', via: 'main' }),
          exception({ source: ['2001:db8:6::/64'], via: 'lte' }),
          exception({ source: ['192.0.2.128/25'], via: 'cable' }),
        ],
      }),
    );
    const own4 = ['-m addrtype --dst-type LOCAL,BROADCAST,MULTICAST -j RETURN', `-p udp ${G} -m udp --sport 68 --dport 67 -j RETURN`];
    expect(d.chains.find((c) => c.name === 'ML_NEW' && !c.family)?.rules).toEqual([
      ...own4,
      `-i guest ${G} -j MARK --set-xmark 0x300/0xff00`,
      `-s 192.0.2.0/25 -i lan0 -p udp ${G} -m udp --dport 5060 -j MARK --set-xmark 0x100/0xff00`,
      `-s 192.0.2.0/25 -i guest -p udp ${G} -m udp --dport 5060 -j MARK --set-xmark 0x100/0xff00`,
      `-s 198.51.100.7/32 -d 203.0.113.0/24 ${G} -j RETURN`,
      `-s 192.0.2.128/25 ${G} -j MARK --set-xmark 0x200/0xff00`,
      `${G} -j ML_BALANCE`,
    ]);
    // IPv6: the IPv4-only exceptions and the one via cable (no IPv6) are left out.
    expect(d.chains.find((c) => c.name === 'ML_NEW' && c.family === 6)?.rules.slice(3)).toEqual([
      `-i guest ${G} -j MARK --set-xmark 0x300/0xff00`,
      `-s 2001:db8:5::/48 -i lan0 -p udp ${G} -m udp --dport 5060 -j MARK --set-xmark 0x100/0xff00`,
      `-s 2001:db8:5::/48 -i guest -p udp ${G} -m udp --dport 5060 -j MARK --set-xmark 0x100/0xff00`,
      `-s 2001:db8:6::/64 ${G} -j MARK --set-xmark 0x300/0xff00`,
      `${G} -j ML_BALANCE`,
    ]);
  });

  it('refuses an exception via no link (validation should have)', () => {
    expect(() => compileHost(hostConfig({ exceptions: [exception({ via: 'nope' })] }))).toThrow(/nope/);
  });

  it('forwarded only: PREROUTING balances the lan; OUTPUT only restores (replies of inbound connections)', () => {
    const d = compileHost(hostConfig({ traffic: ['forwarded'], helpers: ['ftp'], lan: ['lan0'] }));
    expect(chain(d, 'ML_OUT')).toEqual(['-m mark ! --mark 0x0/0xff00 -j RETURN', '-j CONNMARK --restore-mark --nfmask 0xff00 --ctmask 0xff00']);
    expect(d.jumps.filter((j) => j.table !== 'nat')).toEqual([
      { table: 'mangle', chain: 'PREROUTING', rule: '-j ML_PRE' },
      { table: 'mangle', chain: 'OUTPUT', rule: '-j ML_OUT' },
      { table: 'mangle', chain: 'POSTROUTING', rule: '-j ML_ACCT' },
      { table: 'raw', chain: 'PREROUTING', rule: '-i lan0 -j ML_HELPERS' },
    ]);
    expect(d.sysctls[0]).toEqual({ key: 'net/ipv4/ip_forward', value: '1' });
  });

  it('local only: OUTPUT balances; PREROUTING only marks inbound connections; no forwarding sysctl, rp_filter off', () => {
    const d = compileHost(hostConfig({ traffic: ['local'], helpers: ['ftp'], rpFilter: 'off' }));
    expect(chain(d, 'ML_PRE')).not.toContain(`-i lan0 -m conntrack --ctstate NEW ${G} -j ML_NEW`);
    expect(chain(d, 'ML_PRE')).toContain('-i wan2 -m conntrack --ctstate NEW -j MARK --set-xmark 0x200/0xff00');
    expect(d.jumps.filter((j) => j.table !== 'nat')).toEqual([
      { table: 'mangle', chain: 'PREROUTING', rule: '-j ML_PRE' },
      { table: 'mangle', chain: 'OUTPUT', rule: '-j ML_OUT' },
      { table: 'mangle', chain: 'POSTROUTING', rule: '-j ML_ACCT' },
      { table: 'raw', chain: 'OUTPUT', rule: '-j ML_HELPERS' },
    ]);
    expect(d.sysctls).toEqual([
      { key: 'net/ipv4/conf/wan1/rp_filter', value: '0' },
      { key: 'net/ipv4/conf/wan2/rp_filter', value: '0' },
      { key: 'net/ipv4/conf/wan3/rp_filter', value: '0' },
    ]);
  });

  it('no masquerading link: no ML_MASQ and no nat jump; no helper: no raw chain, no modules', () => {
    const d = compileHost(hostConfig({ links: [link('a', 1, 1, { masquerade: false }), link('b', 2, 1, { masquerade: false })] }));
    expect(d.chains.map((c) => `${c.table} ${c.name}`)).toEqual(['mangle ML_PRE', 'mangle ML_OUT', 'mangle ML_NEW', 'mangle ML_BALANCE', 'mangle ML_ACCT']);
    expect(d.jumps.every((j) => j.table === 'mangle')).toBe(true);
    expect(d.modules).toEqual([]);
  });

  it('ML_ACCT counts every link, drained and backup ones too, hooked once from mangle POSTROUTING', () => {
    const d = compileHost(hostConfig({ traffic: ['forwarded'], links: [link('a', 1, 0), link('b', 2, 1), link('c', 3, 1, { tier: 2 })] }));
    expect(chain(d, 'ML_ACCT')).toEqual(['-o wan1', '-o wan2', '-o wan3']);
    expect(d.jumps.filter((j) => j.rule === '-j ML_ACCT')).toEqual([{ table: 'mangle', chain: 'POSTROUTING', rule: '-j ML_ACCT' }]);
  });

  it('numbers links from the settings: mask 0xff, table base, priority', () => {
    const cfg = hostConfig();
    cfg.settings = { ...cfg.settings, markMask: 0xff, tableBase: 200, rulePriority: 50 };
    const d = compileHost(cfg);
    expect(d.rules).toEqual([
      { kind: 'main', priority: 49 },
      { kind: 'fwmark', priority: 50, fwmark: 1, mask: 0xff, table: 201 },
      { kind: 'fwmark', priority: 51, fwmark: 2, mask: 0xff, table: 202 },
      { kind: 'fwmark', priority: 52, fwmark: 3, mask: 0xff, table: 203 },
      { kind: 'oif', priority: 53, dev: 'wan1', table: 201 },
      { kind: 'oif', priority: 54, dev: 'wan2', table: 202 },
      { kind: 'oif', priority: 55, dev: 'wan3', table: 203 },
    ]);
    expect(chain(d, 'ML_PRE')?.[0]).toBe('-m mark ! --mark 0x0/0xff -j RETURN');
    // The pinned mark (normal routing for good) is the top of the mask: no link ever gets it.
    expect(chain(d, 'ML_PRE')).toContain('-p tcp -m conntrack --ctstate NEW -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN -j MARK --set-xmark 0xff/0xff');
    expect(chain(d, 'ML_BALANCE')?.[2]).toBe('-m mark --mark 0x0/0xff -j MARK --set-xmark 0x3/0xff');
  });

  it('a full 32-bit mask is printed without /mask in mark matches, as iptables-save does', () => {
    const cfg = hostConfig();
    cfg.settings = { ...cfg.settings, markMask: 0xffffffff };
    const d = compileHost(cfg);
    expect(chain(d, 'ML_OUT')).toEqual([
      '-m mark ! --mark 0x0 -j RETURN',
      '-j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff',
      '-m mark ! --mark 0x0 -j RETURN',
      '-p tcp -m conntrack --ctstate NEW -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN -j MARK --set-xmark 0xffffffff/0xffffffff',
      '-m conntrack --ctstate NEW -m mark --mark 0x0 -j ML_NEW',
      '-m conntrack --ctstate NEW -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff',
    ]);
    expect(chain(d, 'ML_BALANCE')?.[2]).toBe('-m mark --mark 0x0 -j MARK --set-xmark 0x3/0xffffffff');
  });

  it('all weights 0 does not crash: an empty balance chain', () => {
    const d = compileHost(hostConfig({ links: [link('a', 1, 0), link('b', 2, 0)] }));
    expect(chain(d, 'ML_BALANCE')).toEqual([]);
  });

  it('an interface with a dot keeps its sysctl path one component', () => {
    const d = compileHost(hostConfig({ links: [link('vlan', 1, 1, { interface: 'eth0.100' })], traffic: ['local'] }));
    expect(d.sysctls).toEqual([{ key: 'net/ipv4/conf/eth0.100/rp_filter', value: '2' }]);
  });

  it('inbound off for a link: its arriving connections are not marked; off everywhere and local only: no PREROUTING hook', () => {
    const d = compileHost(hostConfig({ links: [link('a', 1, 1), link('b', 2, 1, { inbound: false })] }));
    expect(chain(d, 'ML_PRE')?.filter((r) => r.startsWith('-i wan'))).toEqual(['-i wan1 -m conntrack --ctstate NEW -j MARK --set-xmark 0x100/0xff00']);
    const none = compileHost(hostConfig({ traffic: ['local'], links: [link('a', 1, 1, { inbound: false }), link('b', 2, 1, { inbound: false })] }));
    expect(none.chains.map((c) => c.name)).not.toContain('ML_PRE');
    expect(none.jumps.map((j) => `${j.chain} ${j.rule}`)).toEqual(['OUTPUT -j ML_OUT', 'POSTROUTING -j ML_ACCT', 'POSTROUTING -j ML_MASQ']);
  });

  it('gateways: fixed, none (point-to-point: default dev IF), auto (learned at run time by the monitor)', () => {
    const d = compileHost(hostConfig({ links: [link('dsl', 1, 1), link('ppp', 2, 1, { gateway: 'none', interface: 'ppp0' }), link('wifi', 3, 1, { gateway: 'auto' })] }));
    expect(d.routes).toEqual([
      { table: 101, dst: 'default', dev: 'wan1', via: '100.64.1.1' },
      { table: 102, dst: 'default', dev: 'ppp0' },
      { table: 103, dst: 'default', dev: 'wan3', learned: true },
    ]);
    // An auto link needs the monitor even without health: it follows the gateway.
    expect(d.monitor).toMatchObject({ intervalMs: 1000, links: [{ name: 'dsl', gateway: 'fixed', table: 101 }, { name: 'ppp', gateway: 'none' }, { name: 'wifi', gateway: 'auto' }] });
    expect(d.monitor?.probes).toBeUndefined();
    // Without health, auto or adaptive only the guard runs (issue 19 §3): no link, no probe, no chain of its own.
    expect(compileHost(hostConfig()).monitor).toEqual({ intervalMs: 1000, guardOnly: true, links: [], balance: {} });
  });
});
