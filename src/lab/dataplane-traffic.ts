// Traffic through the data-plane lab and what r1 made of it: short connections from the
// client, paced probes and long-lived streams (bounded child processes stopped by their own
// pid), a stream server, extra addresses, and r1's counters: new connections per link (its
// ML_BALANCE rules), bytes per wan interface, the link of each connection (conntrack mark).
import { join } from 'node:path';
import { CLIENT_INTERFACE } from './dataplane-plan.js';
import { dataplaneOf } from './dataplane-setup.js';
import { balanceCountersFromNft, balanceCountersFromSave, linkBytesFromJson, type LinkBytes } from './dataplane-measure.js';
import { LabError } from './errors.js';
import { isRunning } from './host-net.js';
import { backgroundProgram, inNamespace, logTail, programPath, recordProcess, spawnDetached, waitFor, waitListening, type Background } from './lab-process.js';
import type { LabInfo } from './manifest.js';
import { ipBatchOrThrow, run, type RunOptions, type RunResult } from './run.js';

export function inClient(lab: LabInfo, cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return inNamespace(dataplaneOf(lab).clientNamespace, cmd, args, options);
}

export interface ConnectOptions {
  count: number;
  concurrency?: number;
  /** Per connection; default 3 s. */
  perMs?: number;
  /** For all of them; default 120 s. */
  totalMs?: number;
  /** Namespace to connect from; default the client's. */
  from?: string;
  /** Address and port to connect to; default the server's "ok" port. */
  host?: string;
  port?: number;
  /** Source address in that namespace. */
  source?: string;
}

export interface ConnectResult {
  ok: number;
  failed: number;
  notStarted: number;
}

/** COUNT short TCP connections (by default from the client to the server's "ok" port). */
export async function openConnections(lab: LabInfo, opts: ConnectOptions): Promise<ConnectResult> {
  const dp = dataplaneOf(lab);
  const perMs = opts.perMs ?? 3000;
  const totalMs = opts.totalMs ?? 120_000;
  const args = [
    programPath('connect-client'),
    opts.host ?? dp.serverAddress,
    String(opts.port ?? dp.tcpPort),
    String(opts.count),
    String(opts.concurrency ?? 1),
    String(perMs),
    String(totalMs),
    opts.source ?? '-',
  ];
  const r = await inNamespace(opts.from ?? dp.clientNamespace, process.execPath, args, { timeoutMs: totalMs + perMs + 10_000 });
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as ConnectResult;
}

/** r1's link names in mark order: link k (play order) sets mark k × 0x100 (default mask 0xff00). */
export function linkMarks(lab: LabInfo, markStep = 0x100): Map<number, string> {
  return new Map(dataplaneOf(lab).isps.map((isp, i) => [(i + 1) * markStep, isp.link]));
}

/** New connections each link has received, from r1's ML_BALANCE rule counters. */
export async function balanceCounters(lab: LabInfo, family: 4 | 6 = 4): Promise<Map<string, number>> {
  const r = lab.routers[0];
  let byMark: Map<number, number>;
  if (r.firewall === 'nft') {
    const table = await inNamespace(r.namespace, 'nft', ['list', 'table', 'inet', 'multilink'], { timeoutMs: 15_000 });
    byMark = balanceCountersFromNft(table.stdout, family);
  } else {
    const save = await inNamespace(r.namespace, `ip${family === 6 ? '6' : ''}tables-${r.iptables}-save`, ['-c', '-t', 'mangle'], { timeoutMs: 15_000 });
    byMark = balanceCountersFromSave(save.stdout);
  }
  return new Map([...linkMarks(lab)].map(([mark, link]) => [link, byMark.get(mark) ?? 0]));
}

/** Bytes through r1's wan interfaces, per link name. */
export async function wanBytes(lab: LabInfo): Promise<Map<string, LinkBytes>> {
  const r = lab.routers[0];
  const res = await run('ip', ['-n', r.namespace, '-j', '-s', 'link', 'show'], { timeoutMs: 10_000 });
  const byIf = linkBytesFromJson(res.stdout);
  return new Map(dataplaneOf(lab).isps.map((isp) => [isp.link, byIf.get(isp.routerInterface) ?? { rxBytes: 0, txBytes: 0 }]));
}

/** Extra addresses (in 192.0.2.0/24) on the client's interface, e.g. distinct probe sources. */
export async function addClientAddresses(lab: LabInfo, addresses: readonly string[]): Promise<void> {
  const dp = dataplaneOf(lab);
  const have = await run('ip', ['-n', dp.clientNamespace, '-o', '-4', 'addr', 'show', 'dev', CLIENT_INTERFACE], { timeoutMs: 10_000 });
  const lines = addresses.filter((a) => !have.stdout.includes(` ${a}/`)).map((a) => `addr add ${a}/24 dev ${CLIENT_INTERFACE}`);
  await ipBatchOrThrow(lines, dp.clientNamespace);
}

/** An extra address on the server's lo (in 198.51.100.0/24): a second health target. */
export async function addServerAddress(lab: LabInfo, address: string): Promise<void> {
  const dp = dataplaneOf(lab);
  const have = await run('ip', ['-n', dp.serverNamespace, '-o', '-4', 'addr', 'show', 'dev', 'lo'], { timeoutMs: 10_000 });
  if (!have.stdout.includes(` ${address}/`)) await ipBatchOrThrow([`addr add ${address}/32 dev lo`], dp.serverNamespace);
}

/** Client port → link of r1's conntrack entries from the client to the server's DPORT (by mark). */
export async function connectionLinks(lab: LabInfo, opts: { dport: number; source?: string }): Promise<Map<number, string>> {
  const r = lab.routers[0];
  const args = ['-L', '-p', 'tcp', '--dport', String(opts.dport), ...(opts.source ? ['-s', opts.source] : [])];
  const res = await inNamespace(r.namespace, 'conntrack', args, { timeoutMs: 15_000, allowFailure: true });
  return connectionLinksFromList(res.stdout, linkMarks(lab));
}

/** Pure part of connectionLinks: `conntrack -L` lines → original sport → link by mark. */
export function connectionLinksFromList(text: string, marks: ReadonlyMap<number, string>, markMask = 0xff00): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split('\n')) {
    const sport = /\bsport=(\d+)/.exec(line);
    const mark = /\bmark=(\d+)/.exec(line);
    if (!sport || !mark) continue;
    const link = marks.get(Number(mark[1]) & markMask);
    if (link) out.set(Number(sport[1]), link);
  }
  return out;
}

export interface ProbeAttempt {
  /** Epoch ms the connection was started. */
  start: number;
  ms: number;
  ok: boolean;
  /** Client port (0 when it never connected). */
  port: number;
}

export interface ProbeOptions {
  /** Source address on the client (see addClientAddresses); default its own. */
  source?: string;
  intervalMs?: number;
  /** Per connection; default 900 ms (below the 1 s SYN retransmission). */
  perMs?: number;
  count: number;
  totalMs: number;
}

/** Paced new connections to the server's "ok" port, in the background. */
export function startProbe(lab: LabInfo, opts: ProbeOptions): Background<{ attempts: ProbeAttempt[] }> {
  const dp = dataplaneOf(lab);
  const perMs = opts.perMs ?? 900;
  const args = ['probe', dp.serverAddress, String(dp.tcpPort), opts.source ?? '-', String(opts.intervalMs ?? 50), String(perMs), String(opts.count), String(opts.totalMs)];
  return backgroundProgram(dp.clientNamespace, 'failover-client', args, opts.totalMs + perMs + 10_000);
}

/** COUNT connections from SOURCE one after another (each given perMs): e.g. for sticky. */
export async function probeSequence(lab: LabInfo, source: string, count: number, perMs = 3000): Promise<ProbeAttempt[]> {
  return (await startProbe(lab, { source, count, intervalMs: 20, perMs, totalMs: count * 20 + 1000 }).done).attempts;
}

export interface HeldStream {
  port: number;
  connectedAt: number;
  bytes: number;
  /** Bytes received per bucketMs slot from t0. */
  buckets: number[];
  /** Error code of a reset or failure before the end ('' for none), and when. */
  error: string;
  errorAt: number;
  /** The server closed it before the end (0 for never). */
  endedAt: number;
}

export interface HoldResult {
  t0: number;
  bucketMs: number;
  streams: HeldStream[];
}

export const STREAM_PORT = 9000;

/** The stream server in the server namespace (recorded in the manifest); its pid. */
export async function startStreamServer(
  lab: LabInfo,
  opts: { maxS: number; chunk?: number; everyMs?: number; port?: number; /** push (default): paced; echo: a chunk per piece the client sends. */ mode?: 'push' | 'echo' },
): Promise<number> {
  const dp = dataplaneOf(lab);
  const port = opts.port ?? STREAM_PORT;
  const logFile = join(dp.dir, `stream-server-${port}.log`);
  if (!lab.files.includes(logFile)) lab.files.push(logFile);
  const args = [programPath('stream-server'), dp.serverAddress, String(port), String(opts.maxS), String(opts.chunk ?? 8192), String(opts.everyMs ?? 50), opts.mode ?? 'push', logFile];
  const pid = spawnDetached(dp.serverNamespace, process.execPath, args, logFile);
  recordProcess(lab, pid, 'dataplane', logFile);
  await waitListening([{ ns: dp.serverNamespace, pid, port, label: 'stream server', log: logFile }], 10_000);
  if (!isRunning(pid)) throw new LabError(`stream server not listening on ${port}: ${logTail(logFile)}`);
  return pid;
}

/** COUNT long-lived streams from the client to the stream server, in the background. */
export function startHold(
  lab: LabInfo,
  opts: { count: number; maxS: number; bucketMs?: number; port?: number; source?: string; /** A byte every sendMs (for an echo server). */ sendMs?: number },
): Background<HoldResult> {
  const dp = dataplaneOf(lab);
  const args = ['hold', dp.serverAddress, String(opts.port ?? STREAM_PORT), String(opts.count), String(opts.maxS), String(opts.bucketMs ?? 100), opts.source ?? '-', String(opts.sendMs ?? 0)];
  return backgroundProgram(dp.clientNamespace, 'failover-client', args, opts.maxS * 1000 + 15_000);
}

export { waitFor };
