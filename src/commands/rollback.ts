// `multilink rollback INVENTORY --limit PATTERN [--generation N]`.
import type { InventoryArg } from '../load/inventory.js';
import { UsageError } from '../errors.js';
import type { Transport } from '../transport/transport.js';
import type { Output } from '../report/view.js';
import { rollbackHost } from '../deploy/rollback.js';
import { runFleet } from '../deploy/fleet.js';
import { hostRunExitCode } from '../report/exit-codes.js';
import { chooseView, failedHostResult, loadTargetsPerHost, runOptions, type HostCommandOptions } from './common.js';

export interface RollbackCommandOptions extends HostCommandOptions {
  limit?: string;
  generation?: number;
}

export async function rollbackCommand(inventory: InventoryArg, opts: RollbackCommandOptions, transport: Transport, output: Output): Promise<number> {
  // A fleet-wide rollback by accident is worse than a refusal: say which hosts.
  if (!opts.limit) throw new UsageError('rollback needs --limit PATTERN naming the hosts to roll back');
  // A host whose own data is bad fails without contact; the others proceed.
  const hosts = loadTargetsPerHost(inventory, opts.limit, output, opts.shard, { vault: opts.vault });
  const view = chooseView('rollback', opts, output);
  const runOpts = runOptions(opts);
  const results = await runFleet(
    hosts.map((h) => ('target' in h ? { name: h.target.cfg.name, h } : { name: h.failed.name, h })),
    { forks: opts.forks },
    view,
    async ({ h }) => ('failed' in h ? { result: failedHostResult(h.failed) } : rollbackHost(h.target.cfg, transport, runOpts, view, opts.generation)),
  );
  return hostRunExitCode('rollback', results.map((r) => r.outcome));
}
