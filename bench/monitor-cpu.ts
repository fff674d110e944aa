// bench/monitor-cpu: what the link monitor costs a router's CPU with three links probed at
// 250 ms (issue 20 §1: at most 3% of one core), on a Debian-like lab router (iputils ping,
// dash) and an OpenWrt-like one (BusyBox ping and ash), both in one lab, measured at the
// same time; and, for the ratio, the same routers at the default 1 s (one ping per round).
// The CPU is read from /proc: the monitor's user and system time with its reaped children's
// (every sleep, ip, iptables-save it ran) plus that of its live descendants (the long-lived
// pings and their readers), over a window after a settling time. The lab (prefix bfPID…, a
// temp folder) is removed on exit, error or signal.
// Usage: npm run bench:monitor-cpu [-- --seconds 60 --settle 5]
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabInfo } from '../src/lab/lab.js';
import { runOnRouter } from '../src/lab/router-ops.js';
import { run, sleep } from '../src/lab/run.js';
import { startLab, stopLab } from './lib/lab-session.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'dist', 'bin.js');
const TARGET = '198.51.100.2';

function argOf(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0 || v > 3600) throw new Error(`--${name}: expected seconds from 1 to 3600`);
  return v;
}
const SECONDS = argOf('seconds', 60);
const SETTLE = argOf('settle', 5);
const log = (line: string): void => console.error(`[monitor-cpu] ${line}`);
const HZ = Number((await run('getconf', ['CLK_TCK'])).stdout.trim()) || 100;

interface Stat {
  ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  ticks: number;
}

function statOf(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // After the command: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
  } catch {
    return undefined;
  }
}

/** The monitor (pid) and every live descendant: pid → ticks. */
function tree(root: number): Map<number, number> {
  const all = new Map<number, Stat>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const s = statOf(Number(e));
    if (s) all.set(Number(e), s);
  }
  const out = new Map<number, number>();
  const add = (pid: number): void => {
    const s = all.get(pid);
    if (!s || out.has(pid)) return;
    out.set(pid, s.ticks);
    for (const [child, cs] of all) if (cs.ppid === pid) add(child);
  };
  add(root);
  return out;
}

function delta(a: Map<number, number>, b: Map<number, number>): number {
  let d = 0;
  for (const [pid, t] of b) d += t - (a.get(pid) ?? 0);
  return d;
}

async function monitorPid(lab: LabInfo, name: string): Promise<number> {
  const r = lab.routers.find((x) => x.name === name)!;
  const state = r.openwrt ? '/etc/multilink' : r.stateDir;
  const res = await runOnRouter(lab, name, `cat '${state}/monitor/pid' 2>/dev/null || cat /etc/multilink/monitor/pid`);
  const pid = Number(res.stdout.trim());
  if (!Number.isInteger(pid) || pid < 2) throw new Error(`no monitor pid on ${name}: ${res.stdout}${res.stderr}`);
  return pid;
}

async function deploy(lab: LabInfo, interval: string): Promise<void> {
  const pb = readFileSync(lab.playbook, 'utf8').replace(
    '  rp_filter: loose',
    `  rp_filter: loose\n  health: { targets: [${TARGET}], interval: ${interval}, down_after: 3, up_after: 4, quorum: 1 }`,
  );
  if (!pb.includes('health:')) throw new Error('the lab playbook has no rp_filter line to put health after');
  const playbook = join(lab.dir, `cpu-${interval}.yaml`);
  writeFileSync(playbook, pb);
  const inventory = join(lab.dir, `cpu-${interval}-inventory.yaml`);
  writeFileSync(inventory, readFileSync(lab.inventory, 'utf8').split(lab.playbook).join(playbook));
  const r = await run(process.execPath, [BIN, 'deploy', inventory, '--json'], { allowFailure: true, timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`deploy at ${interval} failed: ${r.stdout}${r.stderr}`);
}

interface Figure {
  router: string;
  kind: string;
  interval: string;
  pct: number;
  processes: number;
}

async function measure(lab: LabInfo, interval: string): Promise<Figure[]> {
  log(`deploying every router with interval ${interval}`);
  await deploy(lab, interval);
  await sleep(SETTLE * 1000);
  const pids = await Promise.all(lab.routers.map((r) => monitorPid(lab, r.name)));
  const before = pids.map((p) => tree(p));
  const t0 = Date.now();
  await sleep(SECONDS * 1000);
  const after = pids.map((p) => tree(p));
  const wall = (Date.now() - t0) / 1000;
  return lab.routers.map((r, i) => ({
    router: r.name,
    kind: r.openwrt ? 'OpenWrt-like (BusyBox ping, ash)' : 'Debian-like (iputils ping, dash)',
    interval,
    pct: (100 * delta(before[i], after[i])) / HZ / wall,
    processes: after[i].size,
  }));
}

const lab = await startLab(2, log, { openwrt: ['r1'] });
try {
  const ok = await run('ip', ['netns', 'exec', lab.upstreamNamespace, 'ip', 'addr', 'add', `${TARGET}/32`, 'dev', 'lo'], { allowFailure: true });
  if (ok.code !== 0) throw new Error(`could not add ${TARGET} upstream: ${ok.stderr}`);
  const fast = await measure(lab, '250ms');
  const slow = await measure(lab, '1s');
  const lines = [
    `monitor CPU, 3 links, 1 target, down_after 3, up_after 4; ${SECONDS} s window after ${SETTLE} s settling; ${new Date().toISOString()}; load average ${(await run('cat', ['/proc/loadavg'])).stdout.trim()}`,
    ...fast.map((f, i) => {
      const s = slow[i];
      return `  ${f.router} ${f.kind}: 250ms ${f.pct.toFixed(2)}% of one core (${f.processes} processes: monitor, pings, readers) vs 1s ${s.pct.toFixed(2)}% (${s.processes}); ratio ${(f.pct / Math.max(0.001, s.pct)).toFixed(2)}; goal <= 3%: ${f.pct <= 3 ? 'ok' : 'FAIL'}`;
    }),
  ];
  console.log(lines.join('\n'));
  process.exitCode = fast.every((f) => f.pct <= 3) ? 0 : 1;
} finally {
  stopLab(lab);
}
