// Batches of fixed-size downloads through the data plane, for measuring how well a balance
// uses the links: COUNT downloads from the server, one connection each, WORKERS at a time,
// timed from the batch's first byte to its last, with the bytes each link carried. And an
// ISP whose rate changes under way (tc on both sides), as a DSL line retrains.
import { join } from 'node:path';
import type { LabInfo } from './lab.js';
import { tbfArgs } from './dataplane-plan.js';
import { dataplaneOf } from './dataplane-setup.js';
import { wanBytes } from './dataplane-traffic.js';
import { LabError } from './errors.js';
import { isRunning } from './host-net.js';
import { backgroundProgram, inNamespace, logTail, programPath, recordProcess, spawnDetached, waitListening } from './lab-process.js';

export const DOWNLOAD_PORT = 9100;

/** The download server in the server namespace; its pid (recorded, stopped by `lab down`). */
export async function startDownloadServer(lab: LabInfo, opts: { size: number; maxS: number; port?: number }): Promise<number> {
  const dp = dataplaneOf(lab);
  const port = opts.port ?? DOWNLOAD_PORT;
  const logFile = join(dp.dir, `download-server-${port}.log`);
  if (!lab.files.includes(logFile)) lab.files.push(logFile);
  const pid = spawnDetached(dp.serverNamespace, process.execPath, [programPath('download-server'), dp.serverAddress, String(port), String(opts.size), String(opts.maxS), logFile], logFile);
  recordProcess(lab, pid, 'dataplane', logFile);
  await waitListening([{ ns: dp.serverNamespace, pid, port, label: 'download server', log: logFile }], 10_000);
  if (!isRunning(pid)) throw new LabError(`download server not listening on ${port}: ${logTail(logFile)}`);
  return pid;
}

export interface BatchResult {
  /** From the batch's first byte to its last. */
  seconds: number;
  downloads: number;
  failed: number;
  bytes: number;
  /** Bytes each link received during the batch (its router interface's counter). */
  linkBytes: Record<string, number>;
}

interface BatchOutput {
  first: number;
  last: number;
  downloads: { start: number; end: number; bytes: number; port: number; ok: boolean }[];
}

export async function runBatch(lab: LabInfo, opts: { count: number; workers: number; limitMs: number; port?: number }): Promise<BatchResult> {
  const dp = dataplaneOf(lab);
  const before = await wanBytes(lab);
  const args = [dp.serverAddress, String(opts.port ?? DOWNLOAD_PORT), String(opts.count), String(opts.workers), String(opts.limitMs)];
  const out = await backgroundProgram<BatchOutput>(dp.clientNamespace, 'batch-client', args, opts.limitMs + 15_000).done;
  const after = await wanBytes(lab);
  const linkBytes: Record<string, number> = {};
  for (const isp of dp.isps) {
    const a = after.get(isp.link);
    const b = before.get(isp.link);
    linkBytes[isp.link] = a && b ? a.rxBytes - b.rxBytes : 0;
  }
  return {
    seconds: out.first && out.last ? (out.last - out.first) / 1000 : 0,
    downloads: out.downloads.length,
    failed: out.downloads.filter((d) => !d.ok).length,
    bytes: out.downloads.reduce((s, d) => s + d.bytes, 0),
    linkBytes,
  };
}

/** ISP k's rate, both ways, changed in place (tc qdisc replace on both of its ports). */
export async function setIspRate(lab: LabInfo, k: number, rateMbit: number): Promise<void> {
  const dp = dataplaneOf(lab);
  const isp = dp.isps.find((i) => i.k === k);
  if (!isp) throw new LabError(`the data plane has no ISP ${k}`);
  for (const dev of [isp.routerPort, isp.serverPort]) {
    await inNamespace(dp.upstreamNamespace, 'tc', tbfArgs(dev, rateMbit), { timeoutMs: 10_000 });
  }
}
