// status: counters parsed from recorded `iptables-save -c` output, the balance chain read
// back into shares for every method, conntrack counts, the one-round-trip status script,
// and the command over a fake transport.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIptablesSave } from '../src/facts/iptables-save.js';
import type { LiveTable } from '../src/model/facts.js';
import { balanceShares } from '../src/facts/balance-shares.js';
import { parseConntrackCount } from '../src/facts/conntrack.js';
import { parseStatus, statusScript, type StatusRequest } from '../src/facts/status-gather.js';
import { balanceRules } from '../src/compile/balance.js';
import { compileHost } from '../src/compile/desired-state.js';
import { statusHost, statusRequest } from '../src/deploy/status.js';
import { formatBytes, statusText } from '../src/report/status-report.js';
import { FakeTransport } from '../src/transport/fake-transport.js';
import type { HostConfig } from '../src/model/config.js';
import type { StatusReport } from '../src/model/status.js';
import { compiledLinks, hostConfig, link } from './fixtures/render/host-config.js';
import { openMetricsText, statusMetrics } from '../src/report/status-metrics.js';
import { parseOpenMetrics } from './helpers/openmetrics.js';
import { fixture, runStatus, sec, statusOutput, statusProject } from './helpers/status-output.js';

const MASK = 0xff00;

describe('parseIptablesSave -c (recorded from iptables 1.8.9 after 60 local UDP connections over 1:2:3)', () => {
  const chain = (t: LiveTable, name: string) => t.chains.find((c) => c.name === name)!;
  const packets = (t: LiveTable, name: string) => chain(t, name).ruleCounters!.map((c) => c.packets);

  it.each(['legacy', 'nft'])('%s: rule counters per chain, rule text as without -c', (flavour) => {
    const text = fixture(`three-links-random.${flavour}.counters.save`);
    const counted = parseIptablesSave(text);
    const plain = parseIptablesSave(text.replace(/^\[\d+:\d+\] /gm, '').replace(/ \[\d+:\d+\]$/gm, ''));
    expect(counted.chains.map((c) => [c.name, c.rules])).toEqual(plain.chains.map((c) => [c.name, c.rules]));
    expect(plain.chains.every((c) => c.ruleCounters === undefined)).toBe(true);
    const acct = chain(counted, 'ML_ACCT');
    expect(acct.rules).toEqual(['-o wan1', '-o wan2', '-o wan3']);
    expect(acct.ruleCounters!.reduce((s, r) => s + r.packets, 0)).toBe(60);
    expect(acct.ruleCounters!.reduce((s, r) => s + r.bytes, 0)).toBe(2280);
    // Every packet is counted on the link its balance rule chose.
    expect(packets(counted, 'ML_ACCT')).toEqual(packets(counted, 'ML_BALANCE'));
    expect(acct).toMatchObject({ policy: '-', counters: { packets: 0, bytes: 0 } });
  });

  it('legacy keeps the built-in chains’ policy counters', () => {
    const out = chain(parseIptablesSave(fixture('three-links-random.legacy.counters.save')), 'OUTPUT');
    expect(out).toMatchObject({ policy: 'ACCEPT', counters: { packets: 60, bytes: 2280 } });
  });

  it('a rule printed without counters among counted ones reads as zeros; a rule without arguments is kept', () => {
    expect(parseIptablesSave('*mangle\n:ML_ACCT - [0:0]\n-A ML_ACCT -o wan1\n[7:700] -A ML_X\nCOMMIT\n').chains).toEqual([
      { name: 'ML_ACCT', policy: '-', counters: { packets: 0, bytes: 0 }, rules: ['-o wan1'], ruleCounters: [{ packets: 0, bytes: 0 }] },
      { name: 'ML_X', policy: '-', rules: [''], ruleCounters: [{ packets: 7, bytes: 700 }] },
    ]);
  });
});

describe('balanceShares: the live balance chain read back', () => {
  const shares = (rules: string[]): number[] => {
    const s = balanceShares(rules, MASK).shares;
    return [0x100, 0x200, 0x300, 0x400, 0x500].map((m) => s.get(m) ?? 0);
  };

  it.each([
    ['random', [1, 2, 3]],
    ['random', [97, 1, 13, 250, 7]],
    ['random', [1, 4095]],
    ['nth', [1, 2, 3]],
    ['nth', [5, 3]],
    ['sticky', [1, 2, 3]],
  ] as const)('%s %j: each link gets weight / total', (method, weights) => {
    const total = weights.reduce((a, b) => a + b, 0);
    const got = shares(balanceRules(compiledLinks([...weights]), method, MASK));
    weights.forEach((w, i) => expect(got[i]).toBeCloseTo(w / total, 5));
  });

  it('nth is exact', () => {
    expect(shares(balanceRules(compiledLinks([1, 1, 2]), 'nth', MASK)).slice(0, 3)).toEqual([0.25, 0.25, 0.5]);
  });

  it('drained and backup links get nothing; the chain of a monitor subset shows only healthy links', () => {
    expect(shares(balanceRules(compiledLinks([2, 0, 1], [1, 1, 2]), 'random', MASK)).slice(0, 3)).toEqual([1, 0, 0]);
    const links = compiledLinks([1, 1, 2]);
    expect(shares(balanceRules(links.filter((l) => l.index !== 3), 'random', MASK)).slice(0, 3)).toEqual([0.5, 0.5, 0]);
  });

  it('an empty chain gives no shares; a statistic mode it does not know is listed', () => {
    expect(balanceShares([], MASK).shares.size).toBe(0);
    const odd = '-m mark --mark 0x0/0xff00 -m statistic --mode weird -j MARK --set-xmark 0x100/0xff00';
    expect(balanceShares([odd, '-j MARK --set-xmark 0x200/0xff00'], MASK)).toEqual({ shares: new Map([[0x200, 1]]), unknown: [odd] });
  });
});

describe('conntrack count', () => {
  it('reads the summary line conntrack prints on stderr', () => {
    expect(parseConntrackCount('conntrack v1.4.7 (conntrack-tools): 21 flow entries have been shown.\n')).toEqual({ count: 21 });
    expect(parseConntrackCount('conntrack v1.4.7 (conntrack-tools): 0 flow entries have been shown.')).toEqual({ count: 0 });
    expect(parseConntrackCount('@@ML-absent\n')).toEqual({ missing: true });
    expect(parseConntrackCount('conntrack v1.4.7 (conntrack-tools): Operation failed: invalid parameters\n')).toEqual({ unreadable: 'conntrack v1.4.7 (conntrack-tools): Operation failed: invalid parameters' });
  });
});

describe('the status script and its parser', () => {
  const req: StatusRequest = { iptables: 'auto', mask: MASK, links: [1, 2, 3].map((k) => ({ mark: k * 0x100, interface: `wan${k}` })), runDir: '/var/run/multilink', adaptive: false };

  it('is one script: counters, conntrack by mark under the mask, operstate, the monitor state', () => {
    const script = statusScript(req).text;
    expect(script).toContain('ml_save_counters mangle');
    expect(script).toContain('{ conntrack -L -m 0x200/0xff00 >/dev/null; } 2>&1');
    expect(script).toContain('/sys/class/net/wan3/operstate');
    expect(script).toContain('ml_read /var/run/multilink/state');
    expect(script).toContain('ml_read /var/run/multilink/history');
    // The clock and the interface counters first, together.
    expect(script.indexOf('@@ML counters')).toBeLessThan(script.indexOf('@@ML flavour'));
    expect(script).toContain("printf '%s ' wan2; cat /sys/class/net/wan2/statistics/rx_bytes /sys/class/net/wan2/statistics/tx_bytes /sys/class/net/wan2/statistics/rx_packets /sys/class/net/wan2/statistics/tx_packets 2>/dev/null | tr '\\n' ' '; echo");
    expect(() => statusScript({ ...req, links: [{ mark: 0x100, interface: 'wan1;reboot' }] })).toThrow(/invalid interface name/);
  });

  it('parses every section; a failed conntrack is unreadable, not fatal', () => {
    const facts = parseStatus(statusOutput({ conntrack: { '0x100': '6', '0x200': 'conntrack: Operation not supported', '0x300': '@@ML-absent' }, operstate: { wan1: 'up', wan2: '@@ML-absent', wan3: 'down' } }), req);
    expect(facts.flavour).toBe('legacy');
    expect(facts.connections).toEqual({ '0x100': { count: 6 }, '0x200': { unreadable: 'conntrack: Operation not supported' }, '0x300': { missing: true } });
    expect(facts.operstate).toEqual({ wan1: 'up', wan2: null, wan3: 'down' });
    const acct = facts.mangle.chains.find((c) => c.name === 'ML_ACCT')!;
    expect([acct.rules[1], acct.ruleCounters![1]]).toEqual(['-o wan2', { packets: 21, bytes: 798 }]);
    expect(facts.monitor).toBeNull();
    expect(facts.history).toEqual([]);
    expect(facts.uptime).toBe(5127.43);
    expect(facts.interfaces).toEqual({ wan1: { rxBytes: 1500000, txBytes: 250000, rxPackets: 1100, txPackets: 900 }, wan2: { rxBytes: 3000000, txBytes: 500000, rxPackets: 2200, txPackets: 1800 }, wan3: null });
    const monitored = parseStatus(statusOutput({ monitor: 'mask 5\nlinks dsl cable lte\nlink dsl up 2026-11-30T10:00:00Z\nlink cable down 2026-11-30T10:01:00Z\nlink lte up 2026-11-30T10:00:00Z' }), req);
    expect(monitored.monitor?.links).toEqual([
      { link: 'dsl', state: 'up', since: '2026-11-30T10:00:00Z' },
      { link: 'cable', state: 'down', since: '2026-11-30T10:01:00Z' },
      { link: 'lte', state: 'up', since: '2026-11-30T10:00:00Z' },
    ]);
  });

  it('a failed iptables-save is an error', () => {
    const out = statusOutput().replace(/@@ML iptables-counters mangle\n[\s\S]*?@@ML-rc 0/, sec('iptables-counters mangle', 'iptables-legacy-save: permission denied', 4));
    expect(() => parseStatus(out, req)).toThrow(/reading "iptables-counters mangle" failed with exit code 4: iptables-legacy-save: permission denied/);
  });
});

describe('statusHost over a fake transport', () => {
  const cfg: HostConfig = hostConfig({ links: [link('dsl', 1, 1), link('cable', 2, 2), link('lte', 3, 3)] });
  const desired = compileHost(cfg);
  const opts = { acceptNewHostKeys: false, connectTimeoutMs: 1000, commandTimeoutMs: 1000 };

  it('one connection, one round trip; shares, connections, packets and bytes per link', async () => {
    const t = new FakeTransport(() => ({ stdout: statusOutput(), stderr: '', code: 0 }));
    const h = await statusHost(cfg, desired, t, opts);
    expect(t.connectionCount('r1')).toBe(1);
    expect(t.execCount('r1')).toBe(1);
    expect(t.openSessionCount).toBe(0);
    expect(h).toMatchObject({ host: 'r1', status: 'ok', method: 'random', flavour: 'legacy', notes: [] });
    expect(h.links).toEqual([
      { link: 'dsl', interface: 'wan1', tier: 1, weight: 1, configuredShare: 0.166667, share: 0.166667, connections: 6, packets: 6, bytes: 228, operstate: 'up', health: 'unmonitored', newConnections: 6, counters: { rxBytes: 1500000, txBytes: 250000, rxPackets: 1100, txPackets: 900 } },
      { link: 'cable', interface: 'wan2', tier: 1, weight: 2, configuredShare: 0.333333, share: 0.333333, connections: 21, packets: 21, bytes: 798, operstate: 'up', health: 'unmonitored', newConnections: 21, counters: { rxBytes: 3000000, txBytes: 500000, rxPackets: 2200, txPackets: 1800 } },
      { link: 'lte', interface: 'wan3', tier: 1, weight: 3, configuredShare: 0.5, share: 0.5, connections: 33, packets: 33, bytes: 1254, operstate: 'down', health: 'unmonitored', newConnections: 33, counters: null },
    ]);
    expect(h.uptime).toBe(5127.43);
    // Uploaded wrapped in ml_main, so a truncated upload runs nothing.
    expect(t.execsFor('r1')[0].stdin).toBe(`ml_main() {\n${statusScript(statusRequest(desired)).text}\n}\nml_main\n`);
  });

  it('method adaptive: per link the learnt weight, capacity, what it carried and per connection, and when the chain changed; in text, JSON and metrics', async () => {
    const health = { targets: ['198.51.100.1'], intervalMs: 1000, downAfter: 3, upAfter: 3, quorum: 1 };
    const cfg = hostConfig({ method: 'adaptive', links: [link('dsl', 1, 1), link('cable', 1, 2), link('lte', 1, 3)], health });
    const desired = compileHost(cfg);
    expect(statusScript(statusRequest(desired)).text).toContain('ml_read /var/run/multilink/adaptive');
    const adaptive = [
      'at 2026-11-30T10:00:04Z',
      'changed 2026-11-30T10:00:02Z',
      'link 1 weight 0.180000 cap 2500000 rate 2500000 conns 12.50',
      'link 2 weight 0.330000 cap 5000000 rate 1250000 conns 0.25',
      'link 3 weight 0.490000 cap 0 rate 0 conns 0.00',
      'link 4 weight oops',
    ].join('\n');
    const t = new FakeTransport(() => ({ stdout: statusOutput({ adaptive }), stderr: '', code: 0 }));
    const h = await statusHost(cfg, desired, t, opts);
    expect(h.links.map((l) => l.adaptive)).toEqual([
      { weight: 0.18, capacityBps: 2500000, rateBps: 2500000, connections: 12.5, perConnectionBps: 200000, measuredAt: '2026-11-30T10:00:04Z', changedAt: '2026-11-30T10:00:02Z' },
      // A lone download a quarter of the time: it got the whole link while it ran.
      { weight: 0.33, capacityBps: 5000000, rateBps: 1250000, connections: 0.25, perConnectionBps: 5000000, measuredAt: '2026-11-30T10:00:04Z', changedAt: '2026-11-30T10:00:02Z' },
      { weight: 0.49, capacityBps: 0, rateBps: 0, connections: 0, perConnectionBps: null, measuredAt: '2026-11-30T10:00:04Z', changedAt: '2026-11-30T10:00:02Z' },
    ]);
    const report: StatusReport = { command: 'status', hosts: [h], summary: { ok: 1, unreachable: 0, error: 0 } };
    const text = statusText(report);
    expect(text).toMatch(/^method adaptive, learnt on the router/m);
    expect(text).toMatch(/^r1\s+dsl\s+18\.0%\s+20 Mbit\/s\s+20 Mbit\/s\s+12\.5\s+1\.6 Mbit\/s\s+2026-11-30T10:00:04Z\s+2026-11-30T10:00:02Z$/m);
    expect(text).toMatch(/^r1\s+lte\s+49\.0%\s+not yet\s+0\.0 Mbit\/s\s+0\.0\s+-\s/m);
    const families = parseOpenMetrics(openMetricsText(statusMetrics(report)));
    expect(families.get('multilink_link_capacity_bytes_per_second')?.samples.map((s) => s.value)).toEqual([2500000, 5000000, 0]);
    expect(families.get('multilink_link_learnt_weight_ratio')?.samples.map((s) => s.value)).toEqual([0.18, 0.33, 0.49]);
    // Before the first measurement (or with another method) there is nothing of it.
    const none = await statusHost(cfg, desired, new FakeTransport(() => ({ stdout: statusOutput({ adaptive: '@@ML-absent' }), stderr: '', code: 0 })), opts);
    expect(none.links.every((l) => l.adaptive === undefined)).toBe(true);
    expect(statusText({ ...report, hosts: [none] })).not.toContain('method adaptive');
  });

  it('with a link monitor: health as the monitor last decided, not the carrier', async () => {
    const health = { targets: ['198.51.100.1'], intervalMs: 1000, downAfter: 3, upAfter: 3, quorum: 1 };
    const monitoredCfg = hostConfig({ links: [link('dsl', 1, 1), link('cable', 2, 2), link('lte', 3, 3)], health });
    const monitor = [
      'mask 5',
      'links dsl cable lte',
      'link dsl up 2026-11-30T10:00:00Z',
      'link cable down 2026-11-30T10:01:00Z',
      'probe dsl sent=120 lost=2 rtt_us=12500 loss_pm=62',
      'probe cable sent=120 lost=40 rtt_us=- loss_pm=1000 future=1',
      'probe lte sent=oops',
    ].join('\n');
    const history = [
      '2026-11-30T09:59:00Z cable up down 3 failed rounds',
      '2026-11-30T10:00:00Z cable down up 3 good rounds',
      '2026-11-30T10:01:00Z cable up down 3 failed rounds',
      'not a history line',
      '2026-11-30T10:01:00Z old up down a link of an older play',
    ].join('\n');
    const t = new FakeTransport(() => ({ stdout: statusOutput({ monitor, history }), stderr: '', code: 0 }));
    const h = await statusHost(monitoredCfg, compileHost(monitoredCfg), t, opts);
    expect(h.links.map((l) => [l.link, l.operstate, l.health, l.since])).toEqual([
      ['dsl', 'up', 'up', '2026-11-30T10:00:00Z'],
      ['cable', 'up', 'down', '2026-11-30T10:01:00Z'],
      // The state file does not name lte (yet): not known, so not claimed.
      ['lte', 'down', 'unmonitored', undefined],
    ]);
    expect(h.links.map((l) => l.probe)).toEqual([
      { sent: 120, lost: 2, rttMs: 12.5, loss: 0.062 },
      { sent: 120, lost: 40, rttMs: null, loss: 1 },
      undefined,
    ]);
    expect(h.links.map((l) => l.history?.map((c) => `${c.at} ${c.from}>${c.to} ${c.why}`))).toEqual([
      [],
      ['2026-11-30T09:59:00Z up>down 3 failed rounds', '2026-11-30T10:00:00Z down>up 3 good rounds', '2026-11-30T10:01:00Z up>down 3 failed rounds'],
      [],
    ]);
  });

  it('a router not deployed yet (no ML_ chains) and without conntrack: unknowns are null, with notes', async () => {
    const bare = '*mangle\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [5:300]\nCOMMIT\n';
    const t = new FakeTransport(() => ({ stdout: statusOutput({ mangle: bare, conntrack: { '0x100': '@@ML-absent', '0x200': '@@ML-absent', '0x300': '@@ML-absent' } }), stderr: '', code: 0 }));
    const h = await statusHost(cfg, desired, t, opts);
    expect(h.status).toBe('ok');
    expect(h.links.map((l) => [l.share, l.connections, l.packets, l.bytes])).toEqual([[null, null, null, null], [null, null, null, null], [null, null, null, null]]);
    expect(h.notes).toEqual(['ML_BALANCE is missing: not deployed?', 'ML_ACCT is missing: deploy to count packets and bytes per link', 'conntrack is not installed: connections are not counted']);
  });

  it('unreachable, and a script that fails', async () => {
    const t = new FakeTransport(() => ({ stdout: '', stderr: 'no iptables-nft tools on this host', code: 90 }));
    expect(await statusHost(cfg, desired, t, opts)).toMatchObject({ status: 'error', message: 'reading the status failed (exit 90): no iptables-nft tools on this host', links: [] });
    t.setUnreachable('r1', 'connection refused');
    expect(await statusHost(cfg, desired, t, opts)).toMatchObject({ status: 'unreachable', message: 'connection refused' });
  });
});

describe('status views', () => {
  it('bytes in binary units', () => {
    expect([0, 1023, 1024, 1536, 5 * 1024 ** 3].map(formatBytes)).toEqual(['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '5.0 GiB']);
  });
});

describe('multilink status, in-process with a fake transport', () => {
  let project: ReturnType<typeof statusProject>;
  let transport: FakeTransport;
  beforeAll(() => {
    project = statusProject(['r1', 'r2']);
  });
  afterAll(() => project.remove());

  const status = (...args: string[]) => runStatus(project.inventory, transport, ...args);

  it('--json: one document; human: one table row per host and link', async () => {
    transport = new FakeTransport(() => ({ stdout: statusOutput(), stderr: '', code: 0 }));
    const json = await status('--json');
    expect(json.code, json.stderr).toBe(0);
    const doc = JSON.parse(json.stdout) as StatusReport;
    expect(doc.command).toBe('status');
    expect(doc.summary).toEqual({ ok: 2, unreachable: 0, error: 0 });
    expect(doc.hosts.map((h) => h.links.map((l) => l.bytes))).toEqual([[228, 798, 1254], [228, 798, 1254]]);
    const human = await status();
    expect(human.code).toBe(0);
    expect(human.stdout).toBe(`${statusText(doc)}\n`);
    const lines = human.stdout.split('\n');
    expect(lines[0]).toMatch(/^HOST\s+LINK\s+IF\s+CARRIER\s+WEIGHT\s+CONFIGURED\s+IN FORCE\s+CONNS\s+PACKETS\s+BYTES SENT\s+HEALTH\s+PROBES$/);
    expect(lines[2]).toMatch(/^r1\s+cable\s+wan2\s+up\s+2\s+33\.3%\s+33\.3%\s+21\s+21\s+798 B\s+unmonitored\s+-$/);
  });

  it('a host that does not answer: exit 1, its row says why', async () => {
    transport = new FakeTransport(() => ({ stdout: statusOutput(), stderr: '', code: 0 }));
    transport.setUnreachable('r2', 'connection refused');
    const res = await status();
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^r2\s+\(unreachable\)\s+connection refused$/m);
    expect(res.stdout).toContain('\n2 hosts: ok=1 unreachable=1\n');
  });
});
