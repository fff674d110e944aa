// `multilink remove INVENTORY --limit PATTERN [--check]`: take multilink off the targeted
// routers, through the same transaction as deploy; hosts no play targets any more included.
import type { InventoryArg } from '../load/inventory.js';
import { UsageError } from '../errors.js';
import type { Transport } from '../transport/transport.js';
import type { Output } from '../report/view.js';
import { removeHost } from '../deploy/remove.js';
import { runFleet } from '../deploy/fleet.js';
import { hostRunExitCode } from '../report/exit-codes.js';
import { chooseView, failedHostResult, loadHostRefs, runOptions, type HostCommandOptions } from './common.js';

export interface RemoveCommandOptions extends HostCommandOptions {
  limit?: string;
  check: boolean;
}

export async function removeCommand(inventory: InventoryArg, opts: RemoveCommandOptions, transport: Transport, output: Output): Promise<number> {
  // Taking a whole fleet off by accident is worse than a refusal: say which hosts.
  if (!opts.limit) throw new UsageError('remove needs --limit PATTERN naming the hosts to take multilink off (all: --limit all)');
  const hosts = loadHostRefs(inventory, opts.limit, output, opts.shard, { vault: opts.vault });
  const command = opts.check ? 'remove --check' : 'remove';
  const view = chooseView(command, opts, output);
  const runOpts = runOptions(opts, { check: opts.check });
  const results = await runFleet(
    hosts.map((h) => ('ref' in h ? { name: h.ref.name, h } : { name: h.failed.name, h })),
    { forks: opts.forks },
    view,
    async ({ h }) => ('failed' in h ? { result: failedHostResult(h.failed) } : removeHost(h.ref, transport, runOpts, view)),
  );
  return hostRunExitCode(command, results.map((r) => r.outcome));
}
