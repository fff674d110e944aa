// What every command shares: loading the project, choosing a view, parsing numbers.
import type { HostConfig, HostRef } from '../model/config.js';
import type { DesiredState } from '../model/desired.js';
import { InputError, UsageError } from '../errors.js';
import { loadProject, assertNoErrors, type LoadOptions } from '../load/resolve.js';
import type { InventoryArg } from '../load/inventory.js';
import type { VaultKeyring } from '../load/vault.js';
import { compileHost } from '../compile/desired-state.js';
import { formatDiagnostic, type Diagnostic } from '../diagnostics.js';
import { JsonView } from '../report/json-view.js';
import { ListrView } from '../report/listr-view.js';
import { PlainView } from '../report/plain-view.js';
import type { Output } from '../report/view.js';
import type { FleetEvents } from '../model/events.js';
import type { HostResult } from '../model/result.js';
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

/** A host whose own data has errors: it fails, and the other hosts proceed. */
export interface FailedHost {
  name: string;
  diagnostics: Diagnostic[];
}

/**
 * As loadTargets, but an error that concerns one host (its diagnostic names the host: a
 * templated value, an undefined variable, a bad value from its vars) fails only that host, as
 * Ansible does; an error that names no host (a shared file's syntax, a playbook's own
 * mistakes) still refuses everything before any contact. Every host to act on comes back
 * in the inventory's order: a Target, or a FailedHost with its diagnostics.
 */
export function loadTargetsPerHost(
  inventory: InventoryArg,
  limit: string | undefined,
  output: Output,
  shard?: Shard,
  load: Pick<LoadOptions, 'vault' | 'connect'> = {},
): ({ target: Target } | { failed: FailedHost })[] {
  const project = loadProject(inventory, { limit, ...load });
  const failed = failedHosts(project, output);
  const good = new Map(project.hosts.filter((h) => !failed.has(h.name)).map((h) => [h.name, h]));
  const all = [...project.inventory.hosts.keys()].filter((name) => good.has(name) || failed.has(name)).map((name) => ({ name }));
  if (all.length === 0) throw new InputError([{ severity: 'error', summary: `no host to act on${limit ? ` (--limit ${limit})` : ''}` }]);
  return shardHosts(all, shard, output).map(({ name }) => {
    const cfg = good.get(name);
    return cfg ? { target: { cfg, desired: compileHost(cfg) } } : { failed: failed.get(name) as FailedHost };
  });
}

/**
 * The hosts whose own data has errors (each diagnostic names its host), after printing the
 * warnings; an error that names no host refuses everything (InputError), before any contact.
 */
export function failedHosts(project: ReturnType<typeof loadProject>, output: Output): Map<string, FailedHost> {
  const errors = project.diagnostics.filter((d) => d.severity === 'error');
  if (errors.some((d) => d.host === undefined)) throw new InputError(project.diagnostics);
  for (const d of project.diagnostics) output.err(formatDiagnostic(d));
  if (project.untargeted.length) output.err(`note: no play targets ${project.untargeted.join(', ')}; left alone`);
  const failed = new Map<string, FailedHost>();
  for (const d of errors) {
    const name = d.host as string;
    const f = failed.get(name) ?? { name, diagnostics: [] };
    f.diagnostics.push(d);
    failed.set(name, f);
  }
  return failed;
}

/** A failed host's result: its diagnostics, each with its file:line:column. */
export function failedHostResult(f: FailedHost): HostResult {
  return { host: f.name, outcome: 'failed', message: f.diagnostics.map((d) => formatDiagnostic({ ...d, host: undefined })).join('\n'), changes: [], durationMs: 0 };
}

/**
 * `remove`: every host within --limit, whether a play targets it or not (the router's own
 * ownership record says what to remove): how to reach it and where multilink's files are.
 */
export function loadHostRefs(inventory: InventoryArg, limit: string, output: Output, shard?: Shard, load: Pick<LoadOptions, 'vault'> = {}): ({ ref: HostRef } | { failed: FailedHost })[] {
  const project = loadProject(inventory, { limit, ...load, untargeted: true });
  // A host whose own data is bad fails alone, as with deploy (its ref may be unusable).
  const failed = failedHosts({ ...project, untargeted: [] }, output);
  const refs = new Map<string, HostRef>([...project.hosts, ...project.untargetedRefs].filter((h) => !failed.has(h.name)).map((h) => [h.name, h]));
  // In the inventory's order.
  const hosts = [...project.inventory.hosts.keys()].filter((name) => refs.has(name) || failed.has(name)).map((name) => ({ name }));
  if (hosts.length === 0) throw new InputError([{ severity: 'error', summary: `no host to act on (--limit ${limit})` }]);
  return shardHosts(hosts, shard, output).map(({ name }) => {
    const ref = refs.get(name);
    return ref ? { ref } : { failed: failed.get(name) as FailedHost };
  });
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
