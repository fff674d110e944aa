// `multilink status INVENTORY`: per host and link, the share in force, connections and
// traffic. Exit 0 when every host answered, 1 otherwise.
import type { Transport } from '../transport/transport.js';
import type { Output } from '../report/view.js';
import { statusFleet } from '../deploy/status.js';
import { statusJson, statusText } from '../report/status-report.js';
import { statusExitCode } from '../report/exit-codes.js';
import { loadTargets } from './common.js';
import { checkOptions, type CheckCommandOptions } from './drift.js';

export async function statusCommand(inventory: string, opts: CheckCommandOptions, transport: Transport, output: Output): Promise<number> {
  const targets = loadTargets(inventory, opts.limit, output, opts.shard);
  const report = await statusFleet(targets, transport, checkOptions(opts));
  output.out(opts.json ? statusJson(opts.shard ? { ...report, shard: opts.shard } : report) : statusText(report));
  return statusExitCode(report.hosts.map((h) => h.status));
}
