// What every command shares: loading the project, choosing a view, parsing numbers.
import type { HostConfig, HostRef } from '../model/config.js';
import type { DesiredState } from '../model/desired.js';
import { InputError, UsageError } from '../errors.js';
import { loadProject, assertNoErrors, type LoadOptions } from '../load/resolve.js';
import type { InventoryArg } from '../load/inventory.js';
import type { VaultKeyring } from '../load/vault.js';
import { compileHost } from '../compile/desired-state.js';
import { formatDiagnostic } from '../diagnostics.js';
import { JsonView } from '../report/json-view.js';
import { ListrView } from '../report/listr-view.js';
import { PlainView } from '../report/plain-view.js';
import type { Output } from '../report/view.js';
import type { FleetEvents } from '../model/events.js';
import type { RunOptions } from '../deploy/host.js';
import { ArmGate } from '../deploy/arm-gate.js';
import { selectShard, shardNote, type Shard } from '../util/shard.js';

export interface Target {
  cfg: HostConfig;
  desired: DesiredState;
}

/**
 * Load, validate and compile: everything that happens before any host is contacted. `load`
 * carries the vault passwords and whether the command connects (render does not).
 */
export function loadTargets(inventory: InventoryArg, limit: string | undefined, output: Output, shard?: Shard, load: Pick<LoadOptions, 'vault' | 'connect'> = {}): Target[] {
  const project = loadProject(inventory, { limit, ...load });
  assertNoErrors(project);
  for (const d of project.diagnostics) output.err(formatDiagnostic(d));
  if (project.untargeted.length) output.err(`note: no play targets ${project.untargeted.join(', ')}; left alone`);
  if (project.hosts.length === 0) throw new InputError([{ severity: 'error', summary: `no host to act on${limit ? ` (--limit ${limit})` : ''}` }]);
  return shardHosts(project.hosts, shard, output).map((cfg) => ({ cfg, desired: compileHost(cfg) }));
}

/**
 * `remove`: every host within --limit, whether a play targets it or not (the router's own
 * ownership record says what to remove): how to reach it and where multilink's files are.
 */
export function loadHostRefs(inventory: InventoryArg, limit: string, output: Output, shard?: Shard, load: Pick<LoadOptions, 'vault'> = {}): HostRef[] {
  const project = loadProject(inventory, { limit, ...load, untargeted: true });
  assertNoErrors(project);
  for (const d of project.diagnostics) output.err(formatDiagnostic(d));
  const refs = new Map<string, HostRef>([...project.hosts, ...project.untargetedRefs].map((h) => [h.name, h]));
  // In the inventory's order.
  const hosts = [...project.inventory.hosts.keys()].flatMap((name) => refs.get(name) ?? []);
  if (hosts.length === 0) throw new InputError([{ severity: 'error', summary: `no host to act on (--limit ${limit})` }]);
  return shardHosts(hosts, shard, output);
}

/** With --shard: only this share of the targeted hosts (said on stderr; it may be none). */
export function shardHosts<T extends { name: string }>(hosts: T[], shard: Shard | undefined, output: Output): T[] {
  if (!shard) return hosts;
  const selected = selectShard(hosts, (h) => h.name, shard);
  output.err(`note: ${shardNote(shard, selected.length, hosts.length)}`);
  return selected;
}

export function chooseView(command: string, opts: { json?: boolean; diff?: boolean; verbose?: number; shard?: Shard }, output: Output): FleetEvents {
  if (opts.json) return new JsonView(output, command, opts.shard);
  if (process.stdout.isTTY && !process.env.CI) return new ListrView(output, { diff: Boolean(opts.diff) });
  return new PlainView(output, { diff: Boolean(opts.diff), verbose: Boolean(opts.verbose) });
}

export function positiveInt(name: string): (value: string) => number {
  return (value) => {
    if (!/^[1-9][0-9]*$/.test(value)) throw new UsageError(`${name} takes a whole number ≥ 1, not ${JSON.stringify(value)}`);
    return Number(value);
  };
}

/** What every transactional command (deploy, weights, rollback) takes from its options. */
export interface HostCommandOptions {
  forks: number;
  json: boolean;
  /** -v given how many times (-vvv: 3). */
  verbose: number;
  acceptNewHostKeys: boolean;
  connectTimeout: number;
  commandTimeout: number;
  confirmTimeout: number;
  shard?: Shard;
  /** The vault passwords given (src/commands/vault-options.ts). */
  vault?: VaultKeyring;
}

/** One command's run options; its hosts share one arming schedule (src/deploy/arm-gate.ts). */
export function runOptions(opts: HostCommandOptions, extra: Partial<RunOptions> = {}): RunOptions {
  return {
    check: false,
    acceptNewHostKeys: opts.acceptNewHostKeys,
    connectTimeoutMs: opts.connectTimeout * 1000,
    commandTimeoutMs: opts.commandTimeout * 1000,
    confirmTimeoutS: opts.confirmTimeout,
    gate: new ArmGate({ confirmTimeoutMs: opts.confirmTimeout * 1000, maxWindow: opts.forks }),
    ...extra,
  };
}
