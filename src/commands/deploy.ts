// `multilink deploy INVENTORY`: converge every targeted host to its compiled state.
import type { InventoryArg } from '../load/inventory.js';
import type { Transport } from '../transport/transport.js';
import type { Output } from '../report/view.js';
import { deployHost } from '../deploy/host.js';
import { runFleet } from '../deploy/fleet.js';
import { hostRunExitCode } from '../report/exit-codes.js';
import { chooseView, failedHostResult, loadTargetsPerHost, runOptions, type FailedHost, type HostCommandOptions, type Target } from './common.js';

export interface DeployCommandOptions extends HostCommandOptions {
  limit?: string;
  check: boolean;
  diff: boolean;
  serial?: string;
  maxFailPercentage?: number;
}

export async function deployCommand(inventory: InventoryArg, opts: DeployCommandOptions, transport: Transport, output: Output): Promise<number> {
  // A host whose own data is bad fails without contact; the others proceed (as in Ansible).
  const hosts = loadTargetsPerHost(inventory, opts.limit, output, opts.shard, { vault: opts.vault });
  const byName = new Map<string, { target: Target } | { failed: FailedHost }>(hosts.map((h) => ['target' in h ? h.target.cfg.name : h.failed.name, h]));
  const view = chooseView(opts.check ? 'deploy --check' : 'deploy', opts, output);
  const runOpts = runOptions(opts, { check: opts.check });
  const results = await runFleet(
    [...byName.keys()].map((name) => ({ name })),
    { forks: opts.forks, serial: opts.serial, maxFailPercentage: opts.maxFailPercentage },
    view,
    async ({ name }) => {
      const h = byName.get(name)!;
      if ('failed' in h) return { result: failedHostResult(h.failed) };
      return deployHost(h.target.cfg, h.target.desired, transport, runOpts, view);
    },
  );
  return hostRunExitCode(opts.check ? 'deploy --check' : 'deploy', results.map((r) => r.outcome));
}
