// Runs a job over the targeted hosts, `forks` at a time, feeding a view.
import type { HostConfig } from '../model/config.js';
import type { HostResult } from '../model/result.js';
import type { HostRun } from './host.js';
import type { RunView } from '../report/view.js';
import { runPool } from './pool.js';

export async function runFleet(
  hosts: HostConfig[],
  forks: number,
  view: RunView,
  job: (cfg: HostConfig) => Promise<HostRun>,
): Promise<HostResult[]> {
  view.start(hosts.map((h) => h.name));
  const runs = await runPool(hosts, forks, async (cfg) => {
    const run = await job(cfg);
    view.done(run.result, run.plan);
    return run.result;
  });
  await view.finish(runs);
  return runs;
}
