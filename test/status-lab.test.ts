// Issue 13 acceptance on the data-plane lab (client → r1 → ISPs shaped to 20/40/60 Mbit/s →
// server), with the link monitor probing the server through each link (interval 1 s,
// down_after 3, up_after 3): with downloads saturating two links, a `status --watch` refresh
// shows each link's throughput within 20% of its shaped rate, the whole watch over one SSH
// connection (the router's sshd log says so); two OpenMetrics scrapes parse, carry every
// link and their byte counters grow; a broken link turns down in the watch view within
// interval × down_after + 2 s; breaking and repairing it leaves two `multilink` lines in the
// router's syslog (BusyBox syslogd in the router's namespace) and two entries in its history.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labSupport, startTestLab, stopTestLab } from './helpers/lab.js';
import { cli } from './helpers/cli.js';
import { deployPlaybook } from './helpers/dataplane.js';
import { parseOpenMetrics } from './helpers/openmetrics.js';
import { startRouterSyslog, type RouterSyslog } from './helpers/router-syslog.js';
import { breakIsp, repairIsp, type LabInfo } from '../src/lab/lab.js';
import { inClient } from '../src/lab/dataplane-traffic.js';
import { monitorState, renderHealthPlaybook } from '../src/lab/dataplane-health.js';
import { waitFor } from '../src/lab/lab-process.js';
import { iperfSummaryFromJson } from '../src/lab/dataplane-measure.js';
import { findCommand } from '../src/lab/packages.js';
import { loadTargets } from '../src/commands/common.js';
import { watchFleet } from '../src/deploy/status-watch.js';
import { watchFrame } from '../src/report/status-watch.js';
import { Ssh2Transport } from '../src/transport/ssh2-transport.js';

function support(): { ok: boolean; reason?: string } {
  const base = labSupport();
  if (!base.ok) return base;
  for (const cmd of ['iperf3', 'conntrack', 'busybox', 'nsenter']) if (!findCommand(cmd)) return { ok: false, reason: `${cmd} is missing (apt-get install iperf3 conntrack busybox util-linux)` };
  return { ok: true };
}

const lab0 = support();
if (!lab0.ok) console.warn(`skipping status lab tests: ${lab0.reason}`);

const HEALTH = { targets: ['198.51.100.1'], intervalS: 1, downAfter: 3, upAfter: 3, quorum: 1 };
const DOWN_LIMIT_S = HEALTH.intervalS * HEALTH.downAfter + 2;
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/** The processes under the router's sshd (what a status exec that hangs is waiting on). */
function routerProcesses(lab: LabInfo): string {
  const ps = spawnSync('ps', ['-eo', 'pid,ppid,etime,stat,wchan:24,args', '--forest'], { encoding: 'utf8' }).stdout.split('\n');
  const at = ps.findIndex((l) => l.trim().startsWith(`${lab.routers[0].sshdPid} `));
  if (at < 0) return '(sshd not found)';
  // ps --forest indents children with "\\_": the subtree is what follows, indented deeper.
  const depth = (l: string): number => l.indexOf('\\_');
  const end = ps.findIndex((l, i) => i > at && depth(l) <= depth(ps[at]));
  return ps.slice(at, end < 0 ? undefined : end).map((l) => l.slice(0, 220)).join('\n');
}

/** The cells of a link's row in a watch frame (columns are two spaces or more apart). */
function row(frame: string, link: string): string[] {
  const line = frame.split('\n').find((l) => l.startsWith(`  ${link} `));
  if (!line) throw new Error(`no row for ${link} in:\n${frame}`);
  return line.trim().split(/\s{2,}/);
}

describe.skipIf(!lab0.ok)('status on the data-plane lab', () => {
  let lab: LabInfo;
  let syslog: RouterSyslog | undefined;
  let inventory: string;

  beforeAll(async () => {
    const t0 = Date.now();
    lab = await startTestLab(1, { dataplane: true });
    const t1 = Date.now();
    // Before the deploy: the monitor it starts inherits the syslog's namespace.
    syslog = await startRouterSyslog(lab, 'r1');
    // nth 1:1 over dsl and cable, lte drained: downloads load exactly two links.
    await deployPlaybook(lab, 'status', renderHealthPlaybook({ method: 'nth', weights: [1, 1, 0], health: HEALTH }));
    inventory = join(lab.dir, 'inventory-status.yaml');
    const t2 = Date.now();
    const up = await waitFor(() => ['dsl', 'cable', 'lte'].every((l) => monitorState(lab)?.links[l] === 'up'), 15_000);
    expect(up, 'every link up in the monitor state').toBeDefined();
    console.log(`setup: lab ${((t1 - t0) / 1000).toFixed(1)} s, syslog and deploy ${((t2 - t1) / 1000).toFixed(1)} s, links up ${((Date.now() - t2) / 1000).toFixed(1)} s`);
  }, 240_000);

  afterAll(async () => {
    syslog?.stop();
    if (lab) await stopTestLab(lab);
  });

  it('with downloads on two links, one --watch refresh shows each within 20% of its shaped rate; OpenMetrics byte counters grow between two scrapes', async () => {
    const dp = lab.dataplane!;
    const download = inClient(lab, 'iperf3', ['-c', dp.serverAddress, '-p', String(dp.iperfPorts[0]), '-R', '-P', '8', '-t', '12', '-J'], { timeoutMs: 40_000 });
    try {
      await sleep(3000); // past slow start
      const accepted = (): number => (readFileSync(lab.routers[0].sshdLog, 'utf8').match(/Accepted publickey/g) ?? []).length;
      const before = accepted();
      const watch = await cli('status', inventory, '--watch', '--frames', '3', '--interval', '2');
      expect(watch.code, watch.stderr).toBe(0);
      // One SSH connection for the whole watch: one handshake for three refreshes.
      expect(accepted() - before).toBe(1);
      const frames = watch.stdout.split(/\n(?=multilink status · )/);
      expect(frames).toHaveLength(3);
      const last = frames[2];
      const rates = Object.fromEntries(['dsl', 'cable', 'lte'].map((l) => [l, Number(row(last, l)[5])]));
      console.log(`watch frame during downloads:\n${last}`);
      expect(rates.dsl).toBeGreaterThanOrEqual(dp.rates[0] * 0.8);
      expect(rates.dsl).toBeLessThanOrEqual(dp.rates[0] * 1.2);
      expect(rates.cable).toBeGreaterThanOrEqual(dp.rates[1] * 0.8);
      expect(rates.cable).toBeLessThanOrEqual(dp.rates[1] * 1.2);
      expect(rates.lte).toBeLessThan(1);
      expect(row(last, 'dsl')[1]).toMatch(/^up \d/);

      const scrape = async () => {
        const r = await cli('status', inventory, '--format', 'openmetrics');
        expect(r.code, r.stderr).toBe(0);
        return parseOpenMetrics(r.stdout);
      };
      const received = (om: ReturnType<typeof parseOpenMetrics>) =>
        Object.fromEntries(om.get('multilink_link_receive_bytes')!.samples.map((s) => [s.labels.link, s.value]));
      const a = await scrape();
      await sleep(1500);
      const b = await scrape();
      for (const family of ['multilink_link_up', 'multilink_link_weight', 'multilink_link_receive_bytes', 'multilink_link_transmit_bytes', 'multilink_link_out_bytes', 'multilink_link_probe_loss_ratio']) {
        expect(b.get(family)?.samples.map((s) => `${s.labels.router}/${s.labels.link}`), family).toEqual(['r1/dsl', 'r1/cable', 'r1/lte']);
      }
      const [ra, rb] = [received(a), received(b)];
      // 1.5 s of 20 and 40 Mbit/s: well over a megabyte each.
      expect(rb.dsl - ra.dsl).toBeGreaterThan(1_000_000);
      expect(rb.cable - ra.cable).toBeGreaterThan(2_000_000);
      const out = (om: ReturnType<typeof parseOpenMetrics>, link: string) => om.get('multilink_link_out_bytes')!.samples.find((s) => s.labels.link === link)!.value;
      expect(out(b, 'cable')).toBeGreaterThan(out(a, 'cable'));
    } finally {
      const sum = iperfSummaryFromJson((await download).stdout);
      console.log(`iperf3 -R -P 8: ${(sum.receivedBps / 1e6).toFixed(1)} Mbit/s received`);
    }
  }, 90_000);

  it('a broken link turns down in the watch view within interval × down_after + 2 s; break and repair leave two multilink lines in syslog and in the history', async () => {
    const targets = loadTargets(inventory, undefined, { out: () => undefined, err: () => undefined });
    const stop = new AbortController();
    let downAt: number | undefined;
    let frame = '';
    const breakAt = Date.now();
    await breakIsp(lab, 2);
    let stuck = '';
    await watchFleet(targets, new Ssh2Transport(), { acceptNewHostKeys: false, connectTimeoutMs: 10_000, commandTimeoutMs: 10_000, forks: 10, intervalMs: 500, frames: 40, signal: stop.signal }, (hosts, now) => {
      frame = watchFrame(hosts, { now, intervalS: 0.5, width: 160, interactive: false }).join('\n');
      if (hosts[0].state !== 'ok' && !stuck) stuck = `${hosts[0].state} at +${now - breakAt} ms; processes under r1's sshd:\n${routerProcesses(lab)}`;
      if (hosts[0].state === 'ok' && row(frame, 'cable')[1].startsWith('down')) {
        downAt = now;
        stop.abort();
      }
    });
    const downS = ((downAt ?? Infinity) - breakAt) / 1000;
    console.log(`cable down in the watch view ${downS.toFixed(2)} s after its ISP broke:\n${frame}${stuck ? `\n${stuck}` : ''}`);
    expect(downS).toBeLessThanOrEqual(DOWN_LIMIT_S);

    await repairIsp(lab, 2);
    expect(await waitFor(() => monitorState(lab)?.links.cable === 'up', 10_000)).toBeDefined();
    const lines = (): string[] => syslog!.messages().split('\n').filter((l) => /\bmultilink(\[\d+\])?: /.test(l));
    await waitFor(() => lines().length >= 2, 5000);
    expect(lines()).toHaveLength(2);
    expect(lines()[0]).toMatch(/daemon\.notice multilink(\[\d+\])?: link cable down \(3 failed rounds\)$/);
    expect(lines()[1]).toMatch(/daemon\.notice multilink(\[\d+\])?: link cable up \(3 good rounds\)$/);

    const history = await cli('status', inventory, '--history');
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toMatch(/^r1\s+cable\s+\S+Z\s+up -> down\s+3 failed rounds$/m);
    expect(history.stdout).toMatch(/^r1\s+cable\s+\S+Z\s+down -> up\s+3 good rounds$/m);

    // Issue 23 §12: a monitor that starts again (here: killed, and the deploy starts it) keeps
    // each link's since from the state of this boot; it does not reset every link to "now".
    const sinces = async (): Promise<Record<string, string | undefined>> => {
      const res = await cli('status', inventory, '--json');
      expect(res.code, res.stderr).toBe(0);
      const doc = JSON.parse(res.stdout) as { hosts: { links: { link: string; since?: string }[] }[] };
      return Object.fromEntries(doc.hosts[0].links.map((l) => [l.link, l.since]));
    };
    const before = await sinces();
    expect(before.cable).toMatch(/Z$/);
    expect(before.dsl).toMatch(/Z$/);
    const pid = Number(readFileSync(join(lab.routers[0].stateDir, 'monitor', 'pid'), 'utf8').trim());
    process.kill(pid, 'SIGTERM');
    await waitFor(() => { try { process.kill(pid, 0); return false; } catch { return true; } }, 5000);
    await new Promise((r) => setTimeout(r, 1100));
    const again = await cli('deploy', inventory);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(await waitFor(() => monitorState(lab)?.links.cable === 'up', 10_000)).toBeDefined();
    expect(await sinces()).toEqual(before);
  }, 90_000);
});
