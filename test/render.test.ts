import { describe, expect, it } from 'vitest';
import { compileHost } from '../src/compile/desired-state.js';
import type { TableOps } from '../src/model/plan.js';
import { renderHost } from '../src/commands/render-host.js';
import { ipCommand, routeArgs, routeReplaceWords, routeShowText, ruleAddWords, ruleArgs, ruleShowText } from '../src/render/ip.js';
import { chainPayload, tableOpsPayload } from '../src/render/iptables-restore.js';
import { sysctlWriteCommand } from '../src/render/sysctl.js';
import { exception, hostConfig, link, METHODS } from './fixtures/render/host-config.js';
import { freshFacts } from '../src/facts/fresh.js';
import { gatherRequest } from '../src/facts/gather-request.js';
import { planHost } from '../src/plan/plan.js';
import { scopeOf, snapshotFromDesired, snapshotFromFacts } from '../src/apply/snapshot.js';
import { planScript, type TransactionInput } from '../src/apply/transaction.js';

const desired = compileHost(
  hostConfig({
    links: [link('dsl', 1, 1), link('cable', 2, 1, { masquerade: false })],
    exceptions: [exception({ destination: '192.168.1.0/24', via: 'main' })],
    helpers: ['ftp'],
  }),
);

describe('iptables-restore payloads', () => {
  const chains = (tables: string[]) =>
    desired.chains.filter((c) => tables.includes(c.table)).map((c) => chainPayload(c.table, c.name, c.rules)).join('');

  it('one chain: declared (created or emptied) and filled', () => {
    expect(chains(['nat'])).toBe('*nat\n:ML_MASQ - [0:0]\n-A ML_MASQ -m mark --mark 0xff00/0xff00 -j RETURN\n-A ML_MASQ -o wan1 -j MASQUERADE\nCOMMIT\n');
    expect(chainPayload('mangle', 'ML_BALANCE', ['-m mark --mark 0x0/0xff00 -j MARK --set-xmark 0x200/0xff00'])).toBe(
      '*mangle\n:ML_BALANCE - [0:0]\n-A ML_BALANCE -m mark --mark 0x0/0xff00 -j MARK --set-xmark 0x200/0xff00\nCOMMIT\n',
    );
    expect(tableOpsPayload([])).toBe('');
  });

  it('table operations in transaction order: declare, unhook, fill, drop, hook', () => {
    const ops: TableOps = {
      table: 'mangle',
      declare: ['ML_BALANCE', 'ML_OLD'],
      unhook: [{ chain: 'PREROUTING', rule: '-i lan9 -j ML_MARK' }],
      fill: [{ name: 'ML_BALANCE', rules: ['-j MARK --set-xmark 0x100/0xff00'] }],
      drop: ['ML_OLD'],
      hook: [
        { chain: 'PREROUTING', rule: '-i lan0 -j ML_MARK' },
        { chain: 'PREROUTING', rule: '-i lan1 -j ML_MARK' },
      ],
    };
    expect(tableOpsPayload([ops])).toBe(
      [
        '*mangle',
        ':ML_BALANCE - [0:0]',
        ':ML_OLD - [0:0]',
        '-D PREROUTING -i lan9 -j ML_MARK',
        '-A ML_BALANCE -j MARK --set-xmark 0x100/0xff00',
        '-X ML_OLD',
        // Inserted in reverse, so the jumps end up in the given order.
        '-I PREROUTING 1 -i lan1 -j ML_MARK',
        '-I PREROUTING 1 -i lan0 -j ML_MARK',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });
});

describe('ip rules and routes', () => {
  it('arguments, one word each, the commands, and the text ip prints back', () => {
    const rule = { kind: 'fwmark', priority: 1000, fwmark: 0x100, mask: 0xff00, table: 101 } as const;
    expect(ruleArgs(rule)).toEqual(['priority', '1000', 'fwmark', '0x100/0xff00', 'lookup', '101']);
    expect(ipCommand(ruleAddWords(rule)).text).toBe('ip -4 rule add priority 1000 fwmark 0x100/0xff00 lookup 101');
    expect(ruleShowText(rule)).toBe('from all fwmark 0x100/0xff00 lookup 101');
    expect(ruleShowText({ ...rule, fwmark: 1, mask: 0xffffffff })).toBe('from all fwmark 0x1 lookup 101');
    expect(ipCommand(ruleAddWords({ kind: 'main', priority: 999 })).text).toBe('ip -4 rule add priority 999 lookup main suppress_prefixlength 0');
    expect(ruleShowText({ kind: 'main', priority: 999 })).toBe('from all lookup main suppress_prefixlength 0');
    expect(ipCommand(ruleAddWords({ kind: 'oif', priority: 1003, dev: 'wan1', table: 101 })).text).toBe('ip -4 rule add priority 1003 oif wan1 lookup 101');
    expect(ruleShowText({ kind: 'oif', priority: 1003, dev: 'wan1', table: 101 })).toBe('from all oif wan1 lookup 101');
    const route = { table: 101, dst: 'default', via: '100.64.1.1', dev: 'wan1' };
    expect(routeArgs(route)).toEqual(['default', 'via', '100.64.1.1', 'dev', 'wan1', 'table', '101']);
    expect(ipCommand(routeReplaceWords(route)).text).toBe('ip -4 route replace default via 100.64.1.1 dev wan1 table 101');
    expect(routeShowText(route)).toBe('default via 100.64.1.1 dev wan1');
    const p2p = { table: 104, dst: 'default', dev: 'tun0' };
    expect(ipCommand(routeReplaceWords(p2p)).text).toBe('ip -4 route replace default dev tun0 table 104');
    expect(routeShowText(p2p)).toBe('default dev tun0 scope link');
  });
});

describe('sysctls', () => {
  it('written to /proc/sys by key, interface names with a dot included; anything but a number is refused', () => {
    expect(sysctlWriteCommand('net/ipv4/conf/wan1/rp_filter', '2').text).toBe('ml_sysctl net/ipv4/conf/wan1/rp_filter 2');
    expect(sysctlWriteCommand('net/ipv4/conf/eth0.100/rp_filter', '0').text).toBe('ml_sysctl net/ipv4/conf/eth0.100/rp_filter 0');
    expect(() => sysctlWriteCommand('net/ipv4/conf/wan1/rp_filter', '2; reboot')).toThrow(/invalid sysctl value/);
    expect(() => sysctlWriteCommand('net/../../etc/passwd', '1')).toThrow(/invalid sysctl key/);
  });
});

describe('renderHost', () => {
  it('prints every section as literal commands', () => {
    expect(renderHost(desired)).toBe(`# multilink: what a deploy sends to host r1 on a router it never touched (method random, traffic forwarded,local)

# iptables-restore --noflush payload (firewall auto: for a router without nft; one with nft gets table inet multilink, as multilink_firewall: nft renders)
*mangle
:ML_PRE - [0:0]
:ML_OUT - [0:0]
:ML_NEW - [0:0]
:ML_BALANCE - [0:0]
:ML_ACCT - [0:0]
-A ML_PRE -m mark ! --mark 0x0/0xff00 -j RETURN
-A ML_PRE -j CONNMARK --restore-mark --nfmask 0xff00 --ctmask 0xff00
-A ML_PRE -m mark ! --mark 0x0/0xff00 -j RETURN
-A ML_PRE -i wan1 -m conntrack --ctstate NEW -j MARK --set-xmark 0x100/0xff00
-A ML_PRE -i wan2 -m conntrack --ctstate NEW -j MARK --set-xmark 0x200/0xff00
-A ML_PRE -p tcp -m conntrack --ctstate NEW -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN -j MARK --set-xmark 0xff00/0xff00
-A ML_PRE -i lan0 -m conntrack --ctstate NEW -m mark --mark 0x0/0xff00 -j ML_NEW
-A ML_PRE -m conntrack --ctstate NEW -j CONNMARK --save-mark --nfmask 0xff00 --ctmask 0xff00
-A ML_OUT -m mark ! --mark 0x0/0xff00 -j RETURN
-A ML_OUT -j CONNMARK --restore-mark --nfmask 0xff00 --ctmask 0xff00
-A ML_OUT -m mark ! --mark 0x0/0xff00 -j RETURN
-A ML_OUT -p tcp -m conntrack --ctstate NEW -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN -j MARK --set-xmark 0xff00/0xff00
-A ML_OUT -m conntrack --ctstate NEW -m mark --mark 0x0/0xff00 -j ML_NEW
-A ML_OUT -m conntrack --ctstate NEW -j CONNMARK --save-mark --nfmask 0xff00 --ctmask 0xff00
-A ML_NEW -m addrtype --dst-type LOCAL,BROADCAST,MULTICAST -j RETURN
-A ML_NEW -p udp -m mark --mark 0x0/0xff00 -m udp --sport 68 --dport 67 -j RETURN
-A ML_NEW -d 192.168.1.0/24 -m mark --mark 0x0/0xff00 -j RETURN
-A ML_NEW -m mark --mark 0x0/0xff00 -j ML_BALANCE
-A ML_BALANCE -m mark --mark 0x0/0xff00 -m statistic --mode random --probability 0.50000000000 -j MARK --set-xmark 0x100/0xff00
-A ML_BALANCE -m mark --mark 0x0/0xff00 -j MARK --set-xmark 0x200/0xff00
-A ML_ACCT -o wan1
-A ML_ACCT -o wan2
-I POSTROUTING 1 -j ML_ACCT
-I OUTPUT 1 -j ML_OUT
-I PREROUTING 1 -j ML_PRE
COMMIT
*nat
:ML_MASQ - [0:0]
-A ML_MASQ -m mark --mark 0xff00/0xff00 -j RETURN
-A ML_MASQ -o wan1 -j MASQUERADE
-I POSTROUTING 1 -j ML_MASQ
COMMIT
*raw
:ML_HELPERS - [0:0]
-A ML_HELPERS -p tcp -m tcp --dport 21 -j CT --helper ftp
-I OUTPUT 1 -j ML_HELPERS
-I PREROUTING 1 -i lan0 -j ML_HELPERS
COMMIT

# ip rules
ip -4 rule add priority 999 lookup main suppress_prefixlength 0
ip -4 rule add priority 1000 fwmark 0x100/0xff00 lookup 101
ip -4 rule add priority 1001 fwmark 0x200/0xff00 lookup 102
ip -4 rule add priority 1002 oif wan1 lookup 101
ip -4 rule add priority 1003 oif wan2 lookup 102

# ip routes
ip -4 route replace default via 100.64.1.1 dev wan1 table 101
ip -4 route replace default via 100.64.2.1 dev wan2 table 102

# sysctls (ml_sysctl KEY VALUE writes VALUE to /proc/sys/KEY)
ml_sysctl net/ipv4/ip_forward 1
ml_sysctl net/ipv4/conf/wan1/rp_filter 2
ml_sysctl net/ipv4/conf/wan2/rp_filter 2

# modules (modprobe only where not loaded or built in)
modprobe nf_conntrack_ftp
modprobe nf_nat_ftp

# link monitor
# guard only (no health, gateway auto or adaptive): the script is lib.sh, src/remote/monitor-record.sh, src/remote/monitor-guard.sh, these variables, then src/remote/monitor-guard-loop.sh
ML_STATE=/var/lib/multilink
ML_RUN=/var/run/multilink
ML_INTERVAL=1
ML_CHAIN=ML_BALANCE
ML_NFT=''
ML_GUARD='-A PREROUTING -j ML_PRE|-A OUTPUT -j ML_OUT|-A POSTROUTING -j ML_ACCT|-A POSTROUTING -j ML_MASQ|-A PREROUTING -i lan0 -j ML_HELPERS|-A OUTPUT -j ML_HELPERS'
ML_GUARD6=''
ML_LOG_MAX=65536
`);
  });

  it('says so when a section is empty', () => {
    const d = compileHost(hostConfig({ helpers: [], traffic: ['local'] }));
    expect(renderHost(d)).toContain('# modules (modprobe only where not loaded or built in)\n# (none)\n');
  });
});

describe('render prints what a deploy sends', () => {
  const health = { targets: ['198.51.100.1', '198.51.100.2'], intervalMs: 1000, downAfter: 3, upAfter: 3, quorum: 1 };
  for (const method of METHODS) {
    it(`${method}: every payload line and command of \`render\` is in the apply script of a first deploy, as is`, () => {
      const d = compileHost(hostConfig({ method, helpers: ['ftp'], health, exceptions: [exception({ protocol: 'udp', ports: [53], via: 'dsl' })] }));
      const facts = freshFacts(d);
      const ops = planHost(d, facts).ops!;
      const scope = scopeOf({ priorities: d.rules.map((r) => r.priority), tables: d.routes.map((r) => r.table) });
      const t: TransactionInput = {
        req: gatherRequest(d),
        priorGather: '',
        ops,
        desired: d,
        ownedBefore: null,
        prior: snapshotFromFacts({ ...facts, sysctls: {} }, scope, []),
        target: snapshotFromDesired(d, ops.owned),
        scope,
        meta: {},
        confirmTimeoutS: 60,
        id: 'abcdef0123456789',
      };
      // The plan the controller sends holds the steps as the router runs them.
      const apply = planScript(t).text;
      const rendered = renderHost(d);
      const sections = rendered.split(/\n\n(?=# )/);
      const payload = sections.find((x) => x.startsWith('# iptables-restore'))!.split('\n').slice(1).join('\n');
      expect(payload).toMatch(/^\*mangle\n/);
      expect(apply).toContain(`${payload}\n`);
      const commands = sections
        .filter((x) => /^# (ip rules|ip routes|sysctls|modules)/.test(x))
        .flatMap((x) => x.split('\n').slice(1))
        .filter((l) => !l.startsWith('#'));
      expect(commands.length).toBe(d.rules.length + d.routes.length + d.sysctls.length + d.modules.length);
      // ip commands go to the router's ip in one process (ml_ip_steps): one line each, its words after `ip -4`.
      const batched = apply.split('\n').map((l) => l.replace(/^\s*ml_ip_steps '/, '').replace(/'$/, ''));
      for (const c of commands) {
        const ip = /^ip -4 (.*)$/.exec(c);
        if (ip) expect(batched, c).toContain(ip[1]);
        else expect(apply, c).toContain(` ${c}\n`);
      }
      // The monitor's variables and precompiled chains are in the monitor script apply writes.
      const monitor = sections.find((x) => x.startsWith('# link monitor'))!.split('\n').slice(2).join('\n');
      expect(monitor).toContain('ml_balance()');
      expect(apply).toContain(monitor);
    });
  }
});
