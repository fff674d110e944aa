// `multilink rollback INVENTORY --limit PATTERN [--generation N]`.
import type { InventoryArg } from '../load/inventory.js';
import { UsageError } from '../errors.js';
import type { Transport } from '../transport/transport.js';
import type { Output } from '../report/view.js';
import { rollbackHost } from '../deploy/rollback.js';
import { runFleet } from '../deploy/fleet.js';
import { hostRunExitCode } from '../report/exit-codes.js';
import { chooseView, loadTargets, runOptions, type HostCommandOptions } from './common.js';

export interface RollbackCommandOptions extends HostCommandOptions {
  limit?: string;
  generation?: number;
}

export async function rollbackCommand(inventory: InventoryArg, opts: RollbackCommandOptions, transport: Transport, output: Output): Promise<number> {
  // A fleet-wide rollback by accident is worse than a refusal: say which hosts.
  if (!opts.limit) throw new UsageError('rollback needs --limit PATTERN naming the hosts to roll back');
  const targets = loadTargets(inventory, opts.limit, output, opts.shard, { vault: opts.vault });
  const view = chooseView('rollback', opts, output);
  const runOpts = runOptions(opts);
  const results = await runFleet(targets.map((t) => t.cfg), { forks: opts.forks }, view, (cfg) => rollbackHost(cfg, transport, runOpts, view, opts.generation));
  return hostRunExitCode('rollback', results.map((r) => r.outcome));
}
