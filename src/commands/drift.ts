// `multilink drift INVENTORY`: compare every targeted host with its compiled state, change
// nothing. Exit 0 all in sync, 2 drift on some host, 1 some host could not be checked.
import type { InventoryArg } from '../load/inventory.js';
import type { Transport } from '../transport/transport.js';
import type { Output } from '../report/view.js';
import { countStatuses, driftFleet } from '../deploy/drift.js';
import { driftExitCode } from '../plan/drift.js';
import { driftJson, driftText } from '../report/drift-report.js';
import { failedHostResult, loadTargetsPerHost } from './common.js';
import { DRIFT_STATUSES, type DriftStatus, type HostDrift } from '../model/drift.js';
import type { Shard } from '../util/shard.js';
import type { VaultKeyring } from '../load/vault.js';

export interface CheckCommandOptions {
  limit?: string;
  forks: number;
  json: boolean;
  acceptNewHostKeys: boolean;
  connectTimeout: number;
  commandTimeout: number;
  shard?: Shard;
  vault?: VaultKeyring;
}

export function checkOptions(opts: CheckCommandOptions): { forks: number; acceptNewHostKeys: boolean; connectTimeoutMs: number; commandTimeoutMs: number } {
  return { forks: opts.forks, acceptNewHostKeys: opts.acceptNewHostKeys, connectTimeoutMs: opts.connectTimeout * 1000, commandTimeoutMs: opts.commandTimeout * 1000 };
}

export async function driftCommand(inventory: InventoryArg, opts: CheckCommandOptions, transport: Transport, output: Output): Promise<number> {
  // A host whose own data is bad is not checked ('error', with its diagnostics); the others are.
  const hosts = loadTargetsPerHost(inventory, opts.limit, output, opts.shard, { vault: opts.vault });
  const checked = await driftFleet(hosts.flatMap((h) => ('target' in h ? [h.target] : [])), transport, checkOptions(opts));
  const byName = new Map(checked.hosts.map((h) => [h.host, h]));
  const all: HostDrift[] = hosts.map((h) => {
    if ('target' in h) return byName.get(h.target.cfg.name) as HostDrift;
    const failed = failedHostResult(h.failed);
    return { host: failed.host, status: 'error', differences: [], ...(failed.message ? { message: failed.message } : {}) };
  });
  const report = { ...checked, hosts: all, summary: countStatuses<DriftStatus>(all.map((h) => h.status), DRIFT_STATUSES) };
  output.out(opts.json ? driftJson(opts.shard ? { ...report, shard: opts.shard } : report) : driftText(report));
  return driftExitCode(report.hosts.map((h) => h.status));
}
