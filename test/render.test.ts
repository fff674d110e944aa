import { describe, expect, it } from 'vitest';
import { compileHost } from '../src/compile/desired-state.js';
import { renderHost } from '../src/render/host.js';
import { renderRouteArgs, renderRuleArgs, routeShowText, ruleShowText } from '../src/render/ip.js';
import { renderBalanceChain, renderChains, renderJump, renderRestorePayload } from '../src/render/iptables-restore.js';
import { renderSysctlCommand, sysctlArgKey } from '../src/render/sysctl.js';
import { exception, hostConfig, link } from './fixtures/render/host-config.js';

const desired = compileHost(
  hostConfig({
    links: [link('dsl', 1, 1), link('cable', 2, 1, { masquerade: false })],
    exceptions: [exception({ destination: '192.168.1.0/24', via: 'main' })],
    helpers: ['ftp'],
  }),
);

describe('renderChains', () => {
  it('declares and fills the ML_ chains per table, without jumps', () => {
    expect(renderChains(desired)).toBe(
      [
        '*mangle',
        ':ML_MARK - [0:0]',
        ':ML_NEW - [0:0]',
        ':ML_BALANCE - [0:0]',
        ':ML_ACCT - [0:0]',
        '-A ML_MARK -m mark ! --mark 0x0/0xff00 -j RETURN',
        '-A ML_MARK -j CONNMARK --restore-mark --nfmask 0xff00 --ctmask 0xff00',
        '-A ML_MARK -m conntrack --ctstate NEW -m mark --mark 0x0/0xff00 -j ML_NEW',
        '-A ML_MARK -m conntrack --ctstate NEW -j CONNMARK --save-mark --nfmask 0xff00 --ctmask 0xff00',
        '-A ML_NEW -d 192.168.1.0/24 -j RETURN',
        '-A ML_NEW -m mark --mark 0x0/0xff00 -j ML_BALANCE',
        '-A ML_BALANCE -m mark --mark 0x0/0xff00 -m statistic --mode random --probability 0.50000000000 -j MARK --set-xmark 0x100/0xff00',
        '-A ML_BALANCE -m mark --mark 0x0/0xff00 -j MARK --set-xmark 0x200/0xff00',
        '-A ML_ACCT -o wan1',
        '-A ML_ACCT -o wan2',
        'COMMIT',
        '*nat',
        ':ML_MASQ - [0:0]',
        '-A ML_MASQ -o wan1 -j MASQUERADE',
        'COMMIT',
        '*raw',
        ':ML_HELPERS - [0:0]',
        '-A ML_HELPERS -p tcp -m tcp --dport 21 -j CT --helper ftp',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it('renders only the tables asked for', () => {
    expect(renderChains(desired, ['nat'])).toBe('*nat\n:ML_MASQ - [0:0]\n-A ML_MASQ -o wan1 -j MASQUERADE\nCOMMIT\n');
    expect(renderChains(desired, [])).toBe('');
  });

  it('renders the balance chain alone, or with other rules (the monitor’s subsets)', () => {
    expect(renderBalanceChain(desired, ['-m mark --mark 0x0/0xff00 -j MARK --set-xmark 0x200/0xff00'])).toBe(
      '*mangle\n:ML_BALANCE - [0:0]\n-A ML_BALANCE -m mark --mark 0x0/0xff00 -j MARK --set-xmark 0x200/0xff00\nCOMMIT\n',
    );
    expect(renderBalanceChain(desired)).toContain('--probability 0.50000000000');
  });
});

describe('jumps', () => {
  const j = { table: 'mangle', chain: 'PREROUTING', rule: '-i lan0 -j ML_MARK' } as const;
  it('append, insert at the top, delete', () => {
    expect(renderJump(j)).toBe('-A PREROUTING -i lan0 -j ML_MARK');
    expect(renderJump(j, 'insert')).toBe('-I PREROUTING 1 -i lan0 -j ML_MARK');
    expect(renderJump(j, 'delete')).toBe('-D PREROUTING -i lan0 -j ML_MARK');
  });

  it('inserts in reverse so the jumps end up in the given order', () => {
    const jumps = [j, { ...j, rule: '-i lan1 -j ML_MARK' }];
    expect(renderRestorePayload([], jumps)).toBe(
      '*mangle\n-I PREROUTING 1 -i lan1 -j ML_MARK\n-I PREROUTING 1 -i lan0 -j ML_MARK\nCOMMIT\n',
    );
    expect(renderRestorePayload([], jumps, 'append')).toBe(
      '*mangle\n-A PREROUTING -i lan0 -j ML_MARK\n-A PREROUTING -i lan1 -j ML_MARK\nCOMMIT\n',
    );
  });
});

describe('ip rules and routes', () => {
  it('arguments, one word each, and the text ip prints back', () => {
    const rule = { priority: 1000, fwmark: 0x100, mask: 0xff00, table: 101 };
    expect(renderRuleArgs(rule)).toEqual(['priority', '1000', 'fwmark', '0x100/0xff00', 'lookup', '101']);
    expect(ruleShowText(rule)).toBe('from all fwmark 0x100/0xff00 lookup 101');
    expect(ruleShowText({ ...rule, fwmark: 1, mask: 0xffffffff })).toBe('from all fwmark 0x1 lookup 101');
    const route = { table: 101, dst: 'default', via: '100.64.1.1', dev: 'wan1' };
    expect(renderRouteArgs(route)).toEqual(['default', 'via', '100.64.1.1', 'dev', 'wan1', 'table', '101']);
    expect(routeShowText(route)).toBe('default via 100.64.1.1 dev wan1');
  });
});

describe('sysctls', () => {
  it('dotted when possible, slashes when an interface has a dot', () => {
    expect(sysctlArgKey('net/ipv4/ip_forward')).toBe('net.ipv4.ip_forward');
    expect(sysctlArgKey('net/ipv4/conf/eth0.100/rp_filter')).toBe('net/ipv4/conf/eth0.100/rp_filter');
    expect(renderSysctlCommand({ key: 'net/ipv4/conf/wan1/rp_filter', value: '2' })).toBe('sysctl -w net.ipv4.conf.wan1.rp_filter=2');
  });
});

describe('renderHost', () => {
  it('prints every section as literal commands', () => {
    expect(renderHost(desired)).toBe(`# multilink: desired state of host r1 (method random, traffic forwarded,local)

# iptables-restore --noflush payload
*mangle
:ML_MARK - [0:0]
:ML_NEW - [0:0]
:ML_BALANCE - [0:0]
:ML_ACCT - [0:0]
-A ML_MARK -m mark ! --mark 0x0/0xff00 -j RETURN
-A ML_MARK -j CONNMARK --restore-mark --nfmask 0xff00 --ctmask 0xff00
-A ML_MARK -m conntrack --ctstate NEW -m mark --mark 0x0/0xff00 -j ML_NEW
-A ML_MARK -m conntrack --ctstate NEW -j CONNMARK --save-mark --nfmask 0xff00 --ctmask 0xff00
-A ML_NEW -d 192.168.1.0/24 -j RETURN
-A ML_NEW -m mark --mark 0x0/0xff00 -j ML_BALANCE
-A ML_BALANCE -m mark --mark 0x0/0xff00 -m statistic --mode random --probability 0.50000000000 -j MARK --set-xmark 0x100/0xff00
-A ML_BALANCE -m mark --mark 0x0/0xff00 -j MARK --set-xmark 0x200/0xff00
-A ML_ACCT -o wan1
-A ML_ACCT -o wan2
-I POSTROUTING 1 -j ML_ACCT
-I OUTPUT 1 -j ML_MARK
-I PREROUTING 1 -i lan0 -j ML_MARK
COMMIT
*nat
:ML_MASQ - [0:0]
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
ip rule add priority 1000 fwmark 0x100/0xff00 lookup 101
ip rule add priority 1001 fwmark 0x200/0xff00 lookup 102

# ip routes
ip route replace default via 100.64.1.1 dev wan1 table 101
ip route replace default via 100.64.2.1 dev wan2 table 102

# sysctls
sysctl -w net.ipv4.ip_forward=1
sysctl -w net.ipv4.conf.wan1.rp_filter=2
sysctl -w net.ipv4.conf.wan2.rp_filter=2

# modules
modprobe nf_conntrack_ftp
modprobe nf_nat_ftp

# link monitor
# (none)
`);
  });

  it('says so when a section is empty', () => {
    const d = compileHost(hostConfig({ helpers: [], traffic: ['local'] }));
    expect(renderHost(d)).toContain('# modules\n# (none)\n');
  });
});
