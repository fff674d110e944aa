// `multilink deploy INVENTORY`: converge every targeted host to its compiled state.
import type { InventoryArg } from '../load/inventory.js';
import type { Transport } from '../transport/transport.js';
import type { Output } from '../report/view.js';
import { deployHost } from '../deploy/host.js';
import { runFleet } from '../deploy/fleet.js';
import { hostRunExitCode } from '../report/exit-codes.js';
import { chooseView, loadTargets, runOptions, type HostCommandOptions } from './common.js';

export interface DeployCommandOptions extends HostCommandOptions {
  limit?: string;
  check: boolean;
  diff: boolean;
  serial?: string;
  maxFailPercentage?: number;
}

export async function deployCommand(inventory: InventoryArg, opts: DeployCommandOptions, transport: Transport, output: Output): Promise<number> {
  const targets = loadTargets(inventory, opts.limit, output, opts.shard, { vault: opts.vault });
  const byName = new Map(targets.map((t) => [t.cfg.name, t]));
  const view = chooseView(opts.check ? 'deploy --check' : 'deploy', opts, output);
  const runOpts = runOptions(opts, { check: opts.check });
  const results = await runFleet(
    targets.map((t) => t.cfg),
    { forks: opts.forks, serial: opts.serial, maxFailPercentage: opts.maxFailPercentage },
    view,
    (cfg) => deployHost(cfg, byName.get(cfg.name)!.desired, transport, runOpts, view),
  );
  return hostRunExitCode(opts.check ? 'deploy --check' : 'deploy', results.map((r) => r.outcome));
}
