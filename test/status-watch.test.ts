// status --watch without a network: rates between two readings, the frame, the engine over a
// fake transport (one connection per router for the whole watch, one exec per refresh,
// bounded forks, a router that goes away shown and reconnected, a slow one not waited for),
// and the command's refusals; a dual-stack link's IPv6 new connections and line.
import type { ReadStream, WriteStream } from 'node:tty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileHost } from '../src/compile/desired-state.js';
import { hostStatus, statusRequest } from '../src/deploy/status.js';
import { watchFleet } from '../src/deploy/status-watch.js';
import { parseStatus } from '../src/facts/status-gather.js';
import { hostRates } from '../src/report/status-rates.js';
import { bucketed, sparkline } from '../src/report/sparkline.js';
import { formatAge, watchFrame, type WatchHost } from '../src/report/status-watch.js';
import { TerminalScreen } from '../src/report/terminal-screen.js';
import { FakeTransport } from '../src/transport/fake-transport.js';
import type { HostConfig } from '../src/model/config.js';
import type { HostStatus } from '../src/model/status.js';
import { UnreachableError } from '../src/errors.js';
import { hostConfig, link } from './fixtures/render/host-config.js';
import { fixture, MANGLE6, runStatus, statusOutput, statusProject } from './helpers/status-output.js';

const health = { targets: ['198.51.100.1'], intervalMs: 1000, downAfter: 3, upAfter: 3, quorum: 1 };
const cfg: HostConfig = hostConfig({ links: [link('dsl', 1, 1), link('cable', 2, 2), link('lte', 3, 3)], health });
const desired = compileHost(cfg);
const MANGLE = fixture('three-links-random.legacy.counters.save').replace(/^#.*\n/gm, '');

/**
 * The status script's output at reading n: 2 s apart on the router's clock; dsl receives
 * 2.5 MB and cable 5 MB per reading (10 and 20 Mbit/s in), each sends a tenth of that; the
 * balance chain has sent n × (6, 21, 33) new connections.
 */
function output(n: number, opts: { monitor?: string; mangle6?: string } = {}): string {
  const counters = `${(100 + 2 * n).toFixed(2)} 9.00\nwan1 ${2_500_000 * n} ${250_000 * n} ${n} ${n} \nwan2 ${5_000_000 * n} ${500_000 * n} ${n} ${n} \nwan3 0 0 0 0 \n`;
  const mangle = MANGLE.replace(/^\[(\d+):(\d+)\] -A ML_BALANCE/gm, (_m, p: string, b: string) => `[${Number(p) * n}:${Number(b) * n}] -A ML_BALANCE`);
  return statusOutput({ counters, mangle, ...opts });
}

const reading = (n: number, opts: { monitor?: string } = {}): HostStatus => hostStatus(desired, parseStatus(output(n, opts), statusRequest(desired)));

describe('hostRates', () => {
  it('throughput from interface counters over the router clock; new connections and their share', () => {
    const r = hostRates(reading(1), reading(2))!;
    expect(r.seconds).toBeCloseTo(2, 6);
    expect(r.links.map((l) => [l.link, l.inMbps, l.outMbps, l.newConnections, l.newShare])).toEqual([
      ['dsl', 10, 1, 6, 0.1],
      ['cable', 20, 2, 21, 0.35],
      ['lte', 0, 0, 33, 0.55],
    ]);
  });

  it('a router that rebooted gives no rates; a reloaded balance chain counts from zero', () => {
    expect(hostRates(reading(3), reading(2))).toBeUndefined();
    const prev = reading(5);
    const cur = reading(6);
    // The monitor reloaded ML_BALANCE: its counters restarted (cable went back from 105 to 4).
    cur.links[1].newConnections = 4;
    cur.links[0].newConnections = 31; // more than before, yet counted from zero too
    const r = hostRates(prev, cur)!;
    expect(r.links.map((l) => l.newConnections)).toEqual([31, 4, 198]);
  });

  it('an interface whose counters went back (recreated) has no rate', () => {
    const cur = reading(2);
    cur.links[0].counters = { rxBytes: 10, txBytes: 10, rxPackets: 1, txPackets: 1 };
    expect(hostRates(reading(1), cur)!.links[0]).toMatchObject({ inMbps: null, outMbps: null });
  });
});

describe('a dual-stack router: IPv6 new connections from ip6tables\' balance chain', () => {
  // dsl and cable carry IPv6 (1:2 among them), lte IPv4 only.
  const cfg6: HostConfig = hostConfig({ links: [link('dsl', 1, 1, { gateway6: 'auto' }), link('cable', 2, 2, { gateway6: 'fe80::1' }), link('lte', 3, 3)], health });
  const desired6 = compileHost(cfg6);
  /** IPv6's ML_BALANCE after reading n: n × (12, 18) new connections (IPv4's as in output(n)). */
  const mangle6 = (n: number): string => MANGLE6.replace(/^\[(\d+):(\d+)\] -A ML_BALANCE/gm, (_m, p: string, b: string) => `[${Number(p) * n}:${Number(b) * n}] -A ML_BALANCE`);
  /** cable's IPv6 taken out: the monitor loaded a chain of dsl alone, its counters from zero. */
  const dslOnly = (packets: number): string =>
    MANGLE6.replace(/^\[\d+:\d+\] -A ML_BALANCE .*\n/gm, '').replace('COMMIT', `[${packets}:${packets * 80}] -A ML_BALANCE -m mark --mark 0x0/0xff00 -j MARK --set-xmark 0x100/0xff00\nCOMMIT`);
  const monitor6 = 'mask 7\nmask6 1\nlinks dsl cable lte\nlink dsl up 2026-11-30T10:00:00Z\nlink cable up 2026-11-30T10:04:00Z\nlink lte up 2026-11-30T10:00:00Z\nlink6 dsl up 2026-11-30T10:00:30Z\nlink6 cable down 2026-11-30T10:02:00Z';
  const reading6 = (n: number, m6 = mangle6(n), monitor?: string): HostStatus => hostStatus(desired6, parseStatus(output(n, { mangle6: m6, ...(monitor ? { monitor } : {}) }), statusRequest(desired6)));

  it('per family: IPv4 shares among IPv4\'s new connections, IPv6 among IPv6\'s; a link without IPv6 has none', () => {
    const r = hostRates(reading6(1), reading6(2))!;
    expect(r.links.map((l) => [l.link, l.newConnections, l.newShare, l.ipv6])).toEqual([
      ['dsl', 6, 0.1, { newConnections: 12, newShare: 0.4 }],
      ['cable', 21, 0.35, { newConnections: 18, newShare: 0.6 }],
      ['lte', 33, 0.55, undefined],
    ]);
  });

  it('IPv6\'s chain reloaded (the monitor took cable\'s IPv6 out) counts IPv6 from zero; IPv4\'s deltas are untouched', () => {
    const r = hostRates(reading6(5), reading6(6, dslOnly(7)))!;
    expect(r.links.map((l) => [l.newConnections, l.ipv6?.newConnections, l.ipv6?.newShare])).toEqual([
      [6, 7, 1],
      [21, 0, 0],
      [33, undefined, undefined],
    ]);
    // And the other way round: IPv4's reloaded, IPv6's not.
    const cur = reading6(6);
    cur.links[1].newConnections = 4;
    expect(hostRates(reading6(5), cur)!.links.map((l) => [l.newConnections, l.ipv6?.newConnections])).toEqual([
      [36, 12],
      [4, 18],
      [198, undefined],
    ]);
  });

  it('the frame: an IPv6 line under each dual-stack link (health and since, share in force, new connections), the rest blank', () => {
    const now = Date.parse('2026-11-30T10:05:05Z');
    const host: WatchHost = {
      host: 'r1',
      state: 'ok',
      status: reading6(2, dslOnly(5), monitor6),
      rates: hostRates(reading6(1, mangle6(1), monitor6), reading6(2, dslOnly(5), monitor6)),
      trend: { dsl: [{ at: now - 2000, value: 11 }], cable: [{ at: now - 2000, value: 22 }] },
      answeredAt: now - 100,
    };
    const lines = watchFrame([host], { now, intervalS: 2, width: 140, interactive: false });
    const cells = (i: number): string[] => lines[i].trim().split(/\s{2,}/);
    expect(lines.slice(4).map((l) => l.trim().split(/\s{2,}/)[0])).toEqual(['dsl', 'dsl (IPv6)', 'cable', 'cable (IPv6)', 'lte']);
    expect(cells(4).slice(0, 10)).toEqual(['dsl', 'up 5m05s', '1', '16.7%', '10% 6', '10.0', '1.0', '6', '-', '-']);
    expect(lines[5]).toBe(lines[5].trimEnd());
    expect(cells(5)).toEqual(['dsl (IPv6)', 'up 4m35s', '100.0%', '100% 5']);
    expect(cells(6).slice(0, 5)).toEqual(['cable', 'up 1m05s', '2', '33.3%', '35% 21']);
    expect(cells(7)).toEqual(['cable (IPv6)', 'down 3m05s', '0.0%', '0% 0']);
    // Under their headings: IN FORCE and NEW CONNS end where the IPv4 lines' do.
    const end = (line: string, text: string): number => line.indexOf(text) + text.length;
    expect(end(lines[5], '100.0%')).toBe(end(lines[4], '16.7%'));
    expect(end(lines[7], '0% 0')).toBe(end(lines[6], '35% 21'));
    expect(end(lines[3], 'NEW CONNS')).toBe(end(lines[6], '35% 21'));
    // The sparklines stay per interface: the IPv6 lines have none, the scale is still cable's 22.
    expect(lines[4].trimEnd().endsWith('▄')).toBe(true);
    expect(lines[6].trimEnd().endsWith('█')).toBe(true);
    expect(lines[8]).toMatch(/^ {2}lte\s+up 5m05s\s+3\s+50\.0%\s+55% 33\s/);
  });
});

describe('sparkline', () => {
  it('eighth blocks scaled to the largest value, gaps for no sample', () => {
    expect(sparkline([0, 1, 2, 4, 8, null, 8])).toBe('▁▁▂▄█ █');
    expect(sparkline([1, 1], 8)).toBe('▁▁');
    expect(sparkline([0, 0])).toBe('▁▁');
  });
  it('buckets the last span of samples, mean per bucket', () => {
    const now = 100_000;
    const samples = [
      { at: now - 59_000, value: 2 },
      { at: now - 58_000, value: 4 },
      { at: now - 1_000, value: 9 },
      { at: now - 61_000, value: 100 },
    ];
    expect(bucketed(samples, now, 60_000, 3)).toEqual([3, null, 9]);
  });
  it('ages', () => {
    expect([0, 7_900, 65_000, 3_600_000 + 5 * 60_000, 2 * 86_400_000 + 4 * 3_600_000].map(formatAge)).toEqual(['0s', '7s', '1m05s', '1h05m', '2d04h']);
  });
});

describe('the watch frame', () => {
  const monitor = 'mask 5\nlinks dsl cable lte\nlink dsl up 2026-11-30T10:00:00Z\nlink cable down 2026-11-30T10:04:00Z\nlink lte up 2026-11-30T10:00:00Z\nprobe dsl sent=100 lost=0 rtt_us=2500 loss_pm=0\nprobe cable sent=100 lost=40 rtt_us=- loss_pm=1000';
  const now = Date.parse('2026-11-30T10:05:05Z');

  it('per link: health and since when, weight and share in force, new connections, throughput, connections, probes, trend', () => {
    const host: WatchHost = {
      host: 'r1',
      state: 'ok',
      status: reading(2, { monitor }),
      rates: hostRates(reading(1, { monitor }), reading(2, { monitor })),
      trend: { dsl: [{ at: now - 2000, value: 11 }], cable: [{ at: now - 2000, value: 22 }] },
      answeredAt: now - 100,
    };
    const lines = watchFrame([host], { now, intervalS: 2, width: 140, interactive: true });
    expect(lines[0]).toBe('multilink status · 1 router · every 2 s · 10:05:05 · q quits');
    expect(lines[2]).toBe('r1 · random');
    expect(lines[3]).toMatch(/^ {2}LINK\s+HEALTH\s+WEIGHT\s+IN FORCE\s+NEW CONNS\s+IN Mb\/s\s+OUT Mb\/s\s+CONNS\s+RTT\s+LOSS {2}LAST 3 MIN \(IN\+OUT\)$/);
    const cells = (i: number): string[] => lines[i].trim().split(/\s{2,}/);
    expect(cells(4).slice(0, 10)).toEqual(['dsl', 'up 5m05s', '1', '16.7%', '10% 6', '10.0', '1.0', '6', '2.5 ms', '0%']);
    expect(cells(5).slice(0, 10)).toEqual(['cable', 'down 1m05s', '2', '33.3%', '35% 21', '20.0', '2.0', '21', '-', '100%']);
    expect(cells(6).slice(0, 10)).toEqual(['lte', 'up 5m05s', '3', '50.0%', '55% 33', '0.0', '0.0', '33', '-', '-']);
    // One scale per router: cable's 22 fills the block, dsl's 11 half of it.
    expect(lines[4].trimEnd().endsWith('▄')).toBe(true);
    expect(lines[5].trimEnd().endsWith('█')).toBe(true);
    expect(lines.every((l) => [...l].length <= 140)).toBe(true);
  });

  it('a router that went away keeps its last reading, said so; lines are cut to the terminal', () => {
    const away: WatchHost = { host: 'r2', state: 'unreachable', message: 'r2: connection refused', status: reading(1), trend: {}, answeredAt: now - 65_000 };
    const connecting: WatchHost = { host: 'r3', state: 'connecting', trend: {} };
    const lines = watchFrame([away, connecting], { now, intervalS: 2, width: 100, interactive: false });
    expect(lines[0]).toBe('multilink status · 2 routers · every 2 s · 10:05:05');
    expect(lines[2]).toBe('r2 · random · unreachable: r2: connection refused · retrying · last answer 1m05s ago');
    expect(lines).toContain('r3 · connecting…');
    const narrow = watchFrame([away, connecting], { now, intervalS: 2, width: 30, interactive: false });
    expect(narrow[2]).toBe('r2 · random · unreachable: r2:');
    expect(narrow.every((l) => [...l].length <= 30)).toBe(true);
    // The first reading has no rates yet.
    expect(lines[4]).toMatch(/^ {2}dsl\s+unmonitored\s+1\s+16\.7%\s+-\s+-\s+-\s+6\s+-\s+-/);
  });
});

describe('watchFleet over a fake transport', () => {
  const targets = (names: string[]) => names.map((name) => ({ cfg: { ...cfg, name }, desired: { ...desired, host: name } }));
  const opts = { acceptNewHostKeys: false, connectTimeoutMs: 1000, commandTimeoutMs: 5000, forks: 50, intervalMs: 150, retryMs: 0 };

  it('one connection per router for the whole watch, one exec per refresh, sessions closed at the end', async () => {
    let n = 0;
    const t = new FakeTransport(() => ({ stdout: output(++n), stderr: '', code: 0 }));
    const frames: WatchHost[][] = [];
    const views = await watchFleet(targets(['r1']), t, { ...opts, frames: 4 }, (hosts) => frames.push(hosts.map((h) => structuredClone(h))));
    expect(frames).toHaveLength(4);
    expect(t.connectionCount('r1')).toBe(1);
    expect(t.execCount('r1')).toBe(4);
    expect(t.openSessionCount).toBe(0);
    expect(frames[0][0].rates).toBeUndefined();
    expect(frames[3][0].rates?.links[1].inMbps).toBe(20);
    expect(views[0].trend.cable.map((s) => s.value)).toEqual([22, 22, 22]);
  });

  it('a router that goes away is shown as such with its last reading, and connected again', async () => {
    let n = 0;
    const t = new FakeTransport((host) => {
      n++;
      if (host === 'r2' && n >= 3 && n <= 4) throw new UnreachableError('r2', 'connection lost: read ECONNRESET');
      return { stdout: output(n), stderr: '', code: 0 };
    });
    const frames: WatchHost[][] = [];
    await watchFleet(targets(['r1', 'r2']), t, { ...opts, forks: 1, frames: 4 }, (hosts) => frames.push(hosts.map((h) => structuredClone(h))));
    expect(frames.map((f) => f.map((h) => h.state).join(' '))).toEqual(['ok ok', 'ok unreachable', 'ok ok', 'ok ok']);
    expect(frames[1][1].message).toBe('connection lost: read ECONNRESET');
    expect(frames[1][1].status?.links).toHaveLength(3);
    expect(t.connectionCount('r1')).toBe(1);
    expect(t.connectionCount('r2')).toBe(2);
    expect(t.openSessionCount).toBe(0);
  });

  it('an unreachable router is retried no sooner than retryMs; at most `forks` refreshes at once', async () => {
    let inFlight = 0;
    let most = 0;
    const t = new FakeTransport(async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      return { stdout: output(1), stderr: '', code: 0 };
    });
    t.setUnreachable('r5', 'no route to host');
    const frames: string[] = [];
    await watchFleet(targets(['r1', 'r2', 'r3', 'r4', 'r5']), t, { ...opts, forks: 2, frames: 3, retryMs: 60_000 }, (hosts) => frames.push(hosts[4].state));
    expect(most).toBe(2);
    expect(frames).toEqual(['unreachable', 'unreachable', 'unreachable']);
    expect(t.connects.filter((c) => c.host === 'r5')).toHaveLength(1);
  });

  it('a slow router is not waited for: frames keep their pace, it is asked again once it answered', async () => {
    const t = new FakeTransport(async (host) => {
      if (host === 'r2') await new Promise((r) => setTimeout(r, 400));
      return { stdout: output(1), stderr: '', code: 0 };
    });
    const start = Date.now();
    const states: string[] = [];
    await watchFleet(targets(['r1', 'r2']), t, { ...opts, frames: 4, intervalMs: 100 }, (hosts) => states.push(hosts[1].state));
    expect(Date.now() - start).toBeLessThan(1000);
    expect(states.slice(0, 3)).toEqual(['connecting', 'connecting', 'connecting']);
    expect(t.execCount('r1')).toBe(4);
    expect(t.execCount('r2')).toBe(1);
  });
});

describe('multilink status --watch, in-process', () => {
  let project: ReturnType<typeof statusProject>;
  beforeAll(() => {
    project = statusProject(['r1']);
  });
  afterAll(() => project.remove());

  const status = (transport: FakeTransport, ...args: string[]) => runStatus(project.inventory, transport, ...args);

  it('--watch needs a terminal and says so; without one, --frames N prints N frames', async () => {
    let n = 0;
    const t = new FakeTransport(() => ({ stdout: output(++n), stderr: '', code: 0 }));
    expect(process.stdout.isTTY).toBeFalsy();
    const refused = await status(t, '--watch');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--watch needs a terminal and stdout is not one: add --frames N/);
    expect(t.connects).toHaveLength(0);
    const two = await status(t, '--watch', '--frames', '2', '--interval', '0.5');
    expect(two.code, two.stderr).toBe(0);
    const frames = two.stdout.split(/\n(?=multilink status · )/);
    expect(frames).toHaveLength(2);
    expect(frames[1]).toMatch(/^ {2}cable\s+unmonitored\s+2\s+33\.3%\s+35% 21\s+20\.0\s+2\.0\s+21\s+-\s+-\s+\S+$/m);
    expect(two.stdout).not.toContain('\u001b[');
    expect(t.connects).toHaveLength(1);
  });

  it('refuses what does not go together', async () => {
    const t = new FakeTransport(() => ({ stdout: output(1), stderr: '', code: 0 }));
    for (const [args, why] of [
      [['--watch', '--json'], /--watch draws a view for people/],
      [['--watch', '--format', 'openmetrics', '--frames', '1'], /--watch draws a view for people/],
      [['--interval', '2'], /--interval goes with --watch/],
      [['--frames', '2'], /--frames goes with --watch/],
      [['--watch', '--interval', '0.1', '--frames', '1'], /--interval takes seconds from 0.5 to 3600/],
      [['--format', 'xml'], /--format takes table, json, openmetrics, prometheus/],
      [['--json', '--format', 'openmetrics'], /--json and --format openmetrics/],
      [['--history', '--format', 'openmetrics'], /--history goes with the table/],
    ] as const) {
      const r = await status(t, ...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(why);
    }
    expect(t.connects).toHaveLength(0);
  });
});

describe('TerminalScreen', () => {
  /** Stand-ins for a terminal's stdout and stdin (the parts the screen uses). */
  function terminal(rows = 24) {
    const written: string[] = [];
    const listeners = new Set<(b: Buffer) => void>();
    const out = { columns: 80, rows, write: (s: string) => written.push(s) > 0 };
    const input = {
      isTTY: true,
      isRaw: false,
      setRawMode(mode: boolean) {
        this.isRaw = mode;
        return this;
      },
      resume: () => undefined,
      pause: () => undefined,
      on: (_e: string, f: (b: Buffer) => void) => listeners.add(f),
      off: (_e: string, f: (b: Buffer) => void) => listeners.delete(f),
      press: (k: string) => [...listeners].forEach((f) => f(Buffer.from(k))),
      listeners,
    };
    return { written, out, input };
  }

  it('clears once, then draws each frame over the last from home, clearing what is left; q quits; close gives the terminal back', () => {
    const t = terminal();
    const screen = new TerminalScreen(t.out as unknown as WriteStream, t.input as unknown as ReadStream);
    let quits = 0;
    screen.listen(() => quits++);
    expect(t.input.isRaw).toBe(true);
    screen.draw(['a', 'b']);
    screen.draw(['c']);
    expect(t.written).toEqual(['\u001b[?25l\u001b[2J\u001b[Ha\u001b[K\nb\u001b[K\n\u001b[J', '\u001b[Hc\u001b[K\n\u001b[J']);
    t.input.press('x');
    t.input.press('q');
    t.input.press('\u0003');
    expect(quits).toBe(2);
    screen.close();
    expect(t.input.isRaw).toBe(false);
    expect(t.input.listeners.size).toBe(0);
    expect(t.written.at(-1)).toBe('\u001b[?25h');
  });

  it('a frame taller than the terminal is cut to fit, so it never scrolls', () => {
    const t = terminal(3);
    new TerminalScreen(t.out as unknown as WriteStream).draw(['1', '2', '3', '4']);
    expect(t.written[0]).toContain('1\u001b[K\n2\u001b[K\n\u001b[J');
    expect(t.written[0]).not.toContain('3');
    // A terminal that tells no size (rows 0, as under script(1) without one) gets every line.
    const unsized = terminal(0);
    new TerminalScreen(unsized.out as unknown as WriteStream).draw(['1', '2', '3', '4']);
    expect(unsized.written[0]).toContain('4\u001b[K\n\u001b[J');
  });
});
