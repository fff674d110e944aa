import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseIptablesSave, jumpTarget } from '../src/facts/iptables-save.js';
import { parseIpRules } from '../src/facts/ip-rule.js';
import { parseIpRoutes } from '../src/facts/ip-route.js';
import { parseSysctl, sysctlCommand, isSysctlKey } from '../src/facts/sysctl.js';
import { parseModule } from '../src/facts/modules.js';
import { parseOwned } from '../src/facts/owned.js';
import { gatherScript, parseGather } from '../src/facts/gather.js';
import { parseReply } from '../src/shell/reply.js';
import { parseMonitorState } from '../src/facts/monitor.js';
import { sinceText as statusSinceText } from '../src/report/status-report.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/facts/${name}`, import.meta.url), 'utf8');

describe('iptables-save parser', () => {
  for (const flavour of ['legacy', 'nft']) {
    it(`reads mangle chains and rules from iptables-${flavour}-save`, () => {
      const t = parseIptablesSave(fixture(`iptables-${flavour}-mangle.txt`));
      expect(t.chains.map((c) => c.name)).toEqual(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING', 'FOREIGN', 'ML_BALANCE', 'ML_MARK', 'ML_NEW']);
      const pre = t.chains.find((c) => c.name === 'PREROUTING')!;
      expect(pre.policy).toBe('ACCEPT');
      expect(pre.rules).toEqual(['-i lan0 -j ML_MARK', '-p tcp -m tcp --dport 8080 -j MARK --set-xmark 0x5/0xffffffff']);
      expect(t.chains.find((c) => c.name === 'ML_BALANCE')!.rules[0]).toBe(
        '-m mark --mark 0x0/0xff00 -m statistic --mode random --probability 0.33333333302 -j MARK --set-xmark 0x100/0xff00',
      );
      expect(t.chains.find((c) => c.name === 'ML_MARK')!.policy).toBe('-');
    });
    it(`reads nat and raw from iptables-${flavour}-save`, () => {
      expect(parseIptablesSave(fixture(`iptables-${flavour}-nat.txt`)).chains.find((c) => c.name === 'ML_MASQ')!.rules).toEqual(['-o wan2 -j MASQUERADE']);
      expect(parseIptablesSave(fixture(`iptables-${flavour}-raw.txt`)).chains.find((c) => c.name === 'ML_HELPERS')!.rules).toEqual([
        '-p tcp -m tcp --dport 21 -j CT --helper ftp',
      ]);
    });
  }
  it('strips -c counters and treats empty output as an empty table', () => {
    const t = parseIptablesSave('*mangle\n:PREROUTING ACCEPT [12:345]\n[3:180] -A PREROUTING -i lan0 -j ML_MARK\nCOMMIT\n');
    expect(t.chains[0].rules).toEqual(['-i lan0 -j ML_MARK']);
    expect(parseIptablesSave('').chains).toEqual([]);
  });
  it('finds ML_ jump targets only', () => {
    expect(jumpTarget('-i lan0 -j ML_MARK')).toBe('ML_MARK');
    expect(jumpTarget('-g ML_X')).toBe('ML_X');
    expect(jumpTarget('-j MARK --set-xmark 0x1/0x1')).toBeUndefined();
    expect(jumpTarget('-j FOREIGN')).toBeUndefined();
  });
});

describe('ip rule parser', () => {
  it('reads priorities, fwmark/mask and tables', () => {
    const rules = parseIpRules(fixture('ip-rule.txt'));
    expect(rules.map((r) => r.priority)).toEqual([0, 1000, 1001, 1500, 32766, 32767]);
    expect(rules[1]).toEqual({ priority: 1000, text: 'from all fwmark 0x100/0xff00 lookup 101', fwmark: 0x100, mask: 0xff00, table: '101' });
    expect(rules[3]).toEqual({ priority: 1500, text: 'from 192.0.2.0/24 lookup 200', table: '200' });
    expect(parseIpRules('5:\tfrom all fwmark 0x7 lookup 7\n')[0].mask).toBe(0xffffffff);
  });
  it('reads a rule whose interface is absent (iproute2: `[detached]`) as the rule it is', () => {
    expect(parseIpRules('1007:\tfrom all oif wan5 [detached] lookup 104\n')).toEqual([{ priority: 1007, text: 'from all oif wan5 lookup 104', table: '104' }]);
  });
});

describe('ip route parser', () => {
  it('reads routes and trims the trailing space ip prints', () => {
    expect(parseIpRoutes(fixture('ip-route-102.txt'))).toEqual([
      { text: 'default via 100.64.2.1 dev wan2', dst: 'default', via: '100.64.2.1', dev: 'wan2' },
      { text: '203.0.113.0/24 via 100.64.2.1 dev wan2 metric 5', dst: '203.0.113.0/24', via: '100.64.2.1', dev: 'wan2' },
    ]);
  });
  it('treats a table that does not exist as empty', () => {
    expect(parseIpRoutes(fixture('ip-route-empty.txt'))).toEqual([]);
  });
});

describe('small facts', () => {
  it('sysctl: value or absent', () => {
    expect(parseSysctl('2\n')).toBe('2');
    expect(parseSysctl('@@ML-absent\n')).toBeNull();
    expect(sysctlCommand('net/ipv4/conf/eth0.2/rp_filter').text).toContain('/proc/sys/net/ipv4/conf/eth0.2/rp_filter');
    expect(isSysctlKey('net/ipv4/conf/eth0.2/rp_filter')).toBe(true);
    expect(isSysctlKey('net/../../etc/passwd')).toBe(false);
    expect(isSysctlKey("net/ipv4/x'; reboot")).toBe(false);
  });
  it('module states', () => {
    expect(parseModule('builtin\n')).toBe('builtin');
    expect(parseModule('no-module-support')).toBe('no-module-support');
    expect(() => parseModule('weird')).toThrow(/unexpected module state/);
  });
  it('ownership record: absent, valid, corrupt', () => {
    expect(parseOwned('')).toBeNull();
    expect(parseOwned('{"tables":[101],"priorities":[1000],"chains":[{"table":"mangle","name":"ML_MARK"},{"table":"filter","name":"X"}],"sysctls":{"net/ipv4/ip_forward":"0"}}')).toEqual({
      tables: [101],
      priorities: [1000],
      chains: [{ table: 'mangle', name: 'ML_MARK' }],
      sysctls: { 'net/ipv4/ip_forward': '0' },
    });
    expect(() => parseOwned('{"tables": "x"}')).toThrow();
    expect(() => parseOwned('not json')).toThrow();
  });
});

describe('gather script and its output', () => {
  const req = { iptables: 'auto' as const, tables: [101, 102], sysctls: ['net/ipv4/ip_forward'], modules: ['nf_conntrack_ftp'], stateDir: '/var/lib/multilink', runDir: '/var/run/multilink' };
  it('has one section per fact', () => {
    const script = gatherScript(req).text;
    // The three tables' sections from one iptables-save (lib.sh ml_save_sections).
    expect(script).toContain('\nml_save_sections mangle nat raw\n');
    for (const s of ['flavour', 'ip-rule', 'main-defaults', 'route 101', 'route 102', 'sysctl net/ipv4/ip_forward', 'module nf_conntrack_ftp', 'owned', 'tools']) {
      expect(script).toContain(`echo '@@ML ${s}'`);
    }
  });
  it('refuses values that could inject shell', () => {
    expect(() => gatherScript({ ...req, modules: ['x; reboot'] })).toThrow();
    expect(() => gatherScript({ ...req, sysctls: ['a/$(reboot)'] })).toThrow();
  });
  const output = [
    '@@ML flavour', 'nft', '@@ML-rc 0',
    '@@ML iptables mangle', fixture('iptables-nft-mangle.txt'), '@@ML-rc 0',
    '@@ML iptables nat', fixture('iptables-nft-nat.txt'), '@@ML-rc 0',
    '@@ML iptables raw', '', '@@ML-rc 0',
    '@@ML ip-rule', fixture('ip-rule.txt'), '@@ML-rc 0',
    '@@ML main-defaults',
    'default via 100.64.3.1 dev wan3 proto dhcp src 100.64.3.2 metric 300 linkdown ',
    'default via 100.64.9.1 dev wan3 proto dhcp metric 100 ',
    'default dev ppp0 proto static scope link metric 50 ',
    '@@ML-rc 0',
    '@@ML route 101', fixture('ip-route-101.txt'), '@@ML-rc 0',
    '@@ML route 102', fixture('ip-route-102.txt'), '@@ML-rc 0',
    '@@ML sysctl net/ipv4/ip_forward', '1', '@@ML-rc 0',
    '@@ML module nf_conntrack_ftp', 'no-module-support', '@@ML-rc 0',
    '@@ML owned', '', '@@ML-rc 0',
    '@@ML route 104', 'default via 100.64.4.1 dev wan4 linkdown ', '@@ML-rc 0',
    '@@ML generations', 'current 3', 'gen 2 confirmed', 'gen 3 confirmed', 'gen 4 unconfirmed', '@@ML-rc 0',
    '@@ML monitor-script', '@@ML-rc 0',
    '@@ML monitor-runtime', 'mask 5', 'links dsl cable lte', 'link dsl up 2026-11-23T10:00:00Z', 'link cable down 2026-11-23T10:01:00Z', 'link lte up 2026-11-23T10:00:00Z', 'gateway lte via 100.64.9.1', 'running 4242', '@@ML-rc 0',
    '@@ML tools', 'ping busybox', 'conntrack no', 'state-fs tmpfs', '@@ML-rc 0',
    '@@ML nft', 'nft missing', '@@ML-rc 0',
  ].join('\n');
  it('parses every section', () => {
    const facts = parseGather(output, req);
    expect(facts.flavour).toBe('nft');
    expect(facts.iptables.raw.chains).toEqual([]);
    expect(facts.routes[102]).toHaveLength(2);
    expect(facts.sysctls['net/ipv4/ip_forward']).toBe('1');
    expect(facts.modules.nf_conntrack_ftp).toBe('no-module-support');
    expect(facts.owned).toBeNull();
    expect(parseReply(output).sections).toHaveLength(17);
    expect(facts.nft).toEqual({ state: 'missing', table: null });
    // The lowest metric wins; a point-to-point default route has no gateway.
    expect(facts.mainDefaults).toEqual({ wan3: 'via 100.64.9.1', ppp0: 'dev' });
    expect(facts.tools).toEqual({ ping: 'busybox', conntrack: false, stateFs: 'tmpfs' });
    expect(facts.monitor).toEqual({
      script: null,
      running: true,
      pid: 4242,
      mask: 5,
      linkNames: ['dsl', 'cable', 'lte'],
      links: [
        { link: 'dsl', state: 'up', since: '2026-11-23T10:00:00Z' },
        { link: 'cable', state: 'down', since: '2026-11-23T10:01:00Z' },
        { link: 'lte', state: 'up', since: '2026-11-23T10:00:00Z', gateway: 'via 100.64.9.1' },
      ],
    });
    // a table only the ownership list names is gathered too; status flags are not part of a route
    expect(facts.routes[104]).toEqual([{ text: 'default via 100.64.4.1 dev wan4', dst: 'default', via: '100.64.4.1', dev: 'wan4' }]);
    expect(facts.generations).toEqual({ current: 3, list: [{ n: 2, confirmed: true }, { n: 3, confirmed: true }, { n: 4, confirmed: false }] });
  });
  it('names a failed or missing section', () => {
    expect(() => parseGather(output.replace('@@ML ip-rule\n', '@@ML ip-rule\nx\n').replace(/(@@ML ip-rule[\s\S]*?)@@ML-rc 0/, '$1@@ML-rc 2'), req)).toThrow(/"ip-rule" failed with exit code 2/);
    expect(() => parseGather(output.replace('@@ML owned', '@@ML other'), req)).toThrow(/lacks section "owned"/);
  });
});

describe("the monitor's since, counted from the router's uptime (issue 23 §12)", () => {
  const state = (lines: string[]): ReturnType<typeof parseMonitorState> => parseMonitorState(['mask 3', 'links dsl cable', ...lines].join('\n'));

  it('a change recorded with the clock set: its time, as recorded', () => {
    const s = state(['link dsl up 2026-12-07T10:00:00Z 100', 'now 2026-12-07T10:05:00Z 400']);
    expect(s.links[0]).toEqual({ link: 'dsl', state: 'up', since: '2026-12-07T10:00:00Z' });
  });

  it('a change recorded before NTP stepped the clock: counted back from the uptime', () => {
    const s = state(['link dsl down 2018-03-01T00:00:07Z 50', 'link cable up - 60', 'now 2026-12-07T10:05:00Z 400']);
    expect(s.links.map((l) => l.since)).toEqual(['2026-12-07T09:59:10Z', '2026-12-07T09:59:20Z']);
  });

  it('while the clock is still not set: only seconds after the boot, no time', () => {
    const s = state(['link dsl up - 50', 'link6 dsl down - 70', 'now 2018-03-01T00:06:00Z 400']);
    expect(s.links[0]).toEqual({ link: 'dsl', state: 'up', sinceBootS: 50, state6: 'down', sinceBootS6: 70 });
    expect(statusSinceText({ sinceBootS: 50 })).toBe(' since boot+50s (router clock not set)');
    expect(statusSinceText({ since: '2026-12-07T09:59:10Z', sinceBootS: 50 })).toBe(' since 2026-12-07T09:59:10Z');
  });

  it("an older monitor's line (no uptime), or an uptime of another boot: the time as recorded", () => {
    const s = state(['link dsl up 2026-12-07T10:00:00Z', 'link cable up 2026-12-07T09:00:00Z 999', 'now 2026-12-07T10:05:00Z 400']);
    expect(s.links.map((l) => l.since)).toEqual(['2026-12-07T10:00:00Z', '2026-12-07T09:00:00Z']);
  });
});

describe("the monitor's since, read twice a second apart", () => {
  it('gives the same time: a recorded time within 5 s of the uptime count is kept as recorded', () => {
    const a = parseMonitorState('link dsl up 2026-12-07T10:00:00Z 100\nnow 2026-12-07T10:05:00Z 401');
    const b = parseMonitorState('link dsl up 2026-12-07T10:00:00Z 100\nnow 2026-12-07T10:05:01Z 401');
    expect(a.links[0].since).toBe('2026-12-07T10:00:00Z');
    expect(b.links[0].since).toBe('2026-12-07T10:00:00Z');
  });
});
