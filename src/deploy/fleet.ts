// Runs a job over the targeted hosts in batches of --serial, --forks at a time inside a
// batch. As in Ansible, when a batch's failures exceed --max-fail-percentage, later
// batches are not started and their hosts end `skipped`.
import type { HostOutcome, HostResult } from '../model/result.js';
import type { HostRun } from './host.js';
import type { FleetEvents } from '../model/events.js';
import { runPool } from '../util/pool.js';
import { UsageError } from '../errors.js';

export interface FleetOptions {
  forks: number;
  /** Batch size: a count, or a percentage of the targeted hosts ("30%"). Undefined: one batch. */
  serial?: string;
  /** Stop after a batch whose failed share exceeds this percentage. Undefined: never stop. */
  maxFailPercentage?: number;
}

const OK: ReadonlySet<HostOutcome> = new Set(['unchanged', 'changed', 'would_change']);

export function batchSize(serial: string | undefined, total: number): number {
  if (serial === undefined) return Math.max(1, total);
  const m = /^([1-9][0-9]*)(%?)$/.exec(serial.trim());
  if (!m) throw new UsageError(`--serial takes a count or a percentage (5, 30%), not ${JSON.stringify(serial)}`);
  const n = Number(m[1]);
  if (m[2] === '%') {
    if (n > 100) throw new UsageError(`--serial ${serial}: a percentage is at most 100%`);
    return Math.max(1, Math.floor((total * n) / 100));
  }
  return n;
}

export async function runFleet<H extends { name: string }>(hosts: H[], options: FleetOptions, view: FleetEvents, job: (cfg: H) => Promise<HostRun>): Promise<HostResult[]> {
  view.start(hosts.map((h) => h.name));
  const size = batchSize(options.serial, hosts.length);
  const results: HostResult[] = [];
  let stopped: string | undefined;
  for (let i = 0; i < hosts.length; i += size) {
    const batch = hosts.slice(i, i + size);
    if (stopped) {
      for (const cfg of batch) {
        const r: HostResult = { host: cfg.name, outcome: 'skipped', message: stopped, changes: [], durationMs: 0 };
        view.done(r);
        results.push(r);
      }
      continue;
    }
    const runs = await runPool(batch, options.forks, async (cfg) => {
      const run = await job(cfg);
      view.done(run.result, run.plan);
      return run.result;
    });
    results.push(...runs);
    const failed = runs.filter((r) => !OK.has(r.outcome)).length;
    if (options.maxFailPercentage !== undefined && (failed * 100) / runs.length > options.maxFailPercentage) {
      stopped = `not started: ${failed} of ${runs.length} hosts of an earlier batch failed (more than --max-fail-percentage ${options.maxFailPercentage})`;
    }
  }
  await view.finish(results);
  return results;
}
