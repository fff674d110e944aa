// `multilink weights INVENTORY LINK=W… [--limit P] [--no-write]`: a fleet-wide weight change.
// Writes multilink_weights at the level --limit names (all, a group or a host; comments and
// layout kept), then replaces only the balancing chain on those hosts, through the same
// transaction and confirmation as deploy. Established connections keep their link.
import type { InventoryArg } from '../load/inventory.js';
import { readFileSync } from 'node:fs';
import { replaceFileContent, withFileLock } from '../util/file-replace.js';
import { dirname, join, resolve } from 'node:path';
import { InputError, UsageError } from '../errors.js';
import { Diagnostics, type Diagnostic } from '../diagnostics.js';
import type { HostConfig } from '../model/config.js';
import type { Inventory } from '../model/inventory.js';
import type { Transport } from '../transport/transport.js';
import type { Output } from '../report/view.js';
import { formatPos } from '../model/source.js';
import { loadProject } from '../load/resolve.js';
import { isVaultText } from '../load/vault.js';
import { setWeightsInInventory, setWeightsInVarsFile, type WeightsLevel } from '../load/weights-edit.js';
import { setWeightsInIni } from '../load/weights-edit-ini.js';
import { setWeightsInJsonInventory, setWeightsInJsonVarsFile } from '../load/weights-edit-json.js';
import { varFilesOf } from '../load/var-files.js';
import { parseYaml } from '../load/yaml-source.js';
import { compileHost } from '../compile/desired-state.js';
import { deployHost } from '../deploy/host.js';
import { runFleet } from '../deploy/fleet.js';
import { chooseView, failedHostResult, failedHosts, runOptions, shardHosts, type FailedHost, type HostCommandOptions } from './common.js';
import { hostRunExitCode } from '../report/exit-codes.js';

export interface WeightsCommandOptions extends HostCommandOptions {
  limit?: string;
  write: boolean;
}

export function parseAssignments(args: string[]): Record<string, number> {
  if (args.length === 0) throw new UsageError('weights needs at least one LINK=WEIGHT');
  const weights: Record<string, number> = {};
  for (const a of args) {
    const m = /^([A-Za-z][A-Za-z0-9_-]{0,14})=(0|[1-9][0-9]{0,5})$/.exec(a);
    if (!m) throw new UsageError(`${JSON.stringify(a)} is not LINK=WEIGHT (a link name and a whole number ≥ 0)`);
    if (m[1] in weights) throw new UsageError(`link ${m[1]} is given twice`);
    weights[m[1]] = Number(m[2]);
  }
  return weights;
}

function levelOf(limit: string | undefined, inventory: Inventory): WeightsLevel {
  if (limit === undefined || limit === 'all') return { kind: 'all' };
  if (inventory.groups.has(limit)) return { kind: 'group', name: limit };
  if (inventory.hosts.has(limit)) return { kind: 'host', name: limit };
  throw new UsageError(`--limit for weights names the level to write at: one group or one host of the inventory, not ${JSON.stringify(limit)}`);
}

function levelName(level: WeightsLevel): string {
  return level.kind === 'all' ? 'all' : level.name;
}

function definesWeights(file: string): boolean {
  const node = parseYaml(readFileSync(file, 'utf8'), file, new Diagnostics());
  return node?.kind === 'map' && node.entries.some((e) => e.key === 'multilink_weights');
}

/**
 * Where this level's multilink_weights is written: the group_vars/host_vars file that sets it
 * now (the last one of a folder: it wins); else the inventory file where it sets it for the
 * group; else the level's vars file, which Ansible reads over the inventory file (the last of
 * a folder); else the inventory file itself.
 */
function targetFile(inventory: Inventory, level: WeightsLevel): string {
  const folder = join(dirname(inventory.file), level.kind === 'host' ? 'host_vars' : 'group_vars');
  const files = varFilesOf(folder, levelName(level));
  const defining = files.filter(definesWeights).pop();
  if (defining !== undefined) return defining;
  const group = level.kind === 'host' ? undefined : inventory.groups.get(levelName(level));
  const setAt = group?.varPos.multilink_weights?.file;
  if (setAt !== undefined && resolve(setAt) === inventory.file) return inventory.file;
  if (files.length > 0) return files[files.length - 1];
  if (inventory.format === 'script') {
    const dir = level.kind === 'host' ? 'host_vars' : 'group_vars';
    throw new UsageError(
      `${inventory.file} is an inventory script: multilink cannot write into it. Set multilink_weights in ${join(dirname(inventory.file), dir, `${levelName(level)}.yml`)} (Ansible reads it beside the script), or where the script takes its data from; or apply without writing: --no-write`,
    );
  }
  return inventory.file;
}

/** The file's text with the weights written in, in the file's own format. */
function edited(file: string, inventory: Inventory, level: WeightsLevel, weights: Record<string, number>): string {
  const text = readFileSync(file, 'utf8');
  if (isVaultText(text)) {
    throw new UsageError(`${file} is vault-encrypted: multilink does not write into encrypted files. Set multilink_weights with ansible-vault edit ${file}, or apply without writing: --no-write`);
  }
  const json = isJsonText(text);
  if (file !== inventory.file) return json ? setWeightsInJsonVarsFile(text, weights) : setWeightsInVarsFile(text, weights);
  if (inventory.format === 'ini') return setWeightsInIni(text, level, weights);
  return json ? setWeightsInJsonInventory(text, level, weights) : setWeightsInInventory(text, level, weights);
}

function isJsonText(text: string): boolean {
  try {
    JSON.parse(text);
    return /^\s*\{/.test(text);
  } catch {
    return false;
  }
}

function checkLinks(hosts: HostConfig[], weights: Record<string, number>): void {
  const problems: Diagnostic[] = [];
  for (const h of hosts) {
    const names = h.play.links.map((l) => l.name);
    for (const link of Object.keys(weights)) {
      if (!names.includes(link)) problems.push({ severity: 'error', summary: `host ${h.name} has no link ${link} (its links: ${names.join(', ')})`, host: h.name });
    }
    if (h.play.links.every((l) => (weights[l.name] ?? l.weight) === 0)) problems.push({ severity: 'error', summary: `every link of host ${h.name} would have weight 0`, host: h.name });
  }
  if (problems.length) throw new InputError(problems);
}

/** Each link's weight in force for a host (its playbook's, after its multilink_weights overlay). */
function linkWeights(h: HostConfig): Record<string, number> {
  return Object.fromEntries(h.play.links.map((l) => [l.name, l.weight]));
}

function weightsText(w: Record<string, number>): string {
  return Object.entries(w).map(([k, v]) => `${k}=${v}`).join(' ');
}

/** A host's multilink_weights as the inventory gives it (merged vars), or {} when unset. */
function overlayOf(vars: Record<string, unknown>, owner: string): Record<string, number> {
  const v = vars.multilink_weights;
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'number')) {
    throw new UsageError(`multilink_weights of ${owner} is not a plain map of numbers (a template?): edit it by hand, or apply without writing: --no-write`);
  }
  return v as Record<string, number>;
}

/**
 * The whole multilink_weights to write at a level: what that level's hosts have now, with the
 * new weights over it. Host vars replace group vars whole (Ansible merges no dicts), so writing
 * only the new links would drop the rest: a host under a group with { lte: 0 } given { dsl: 2 }
 * alone would put its drained LTE back in rotation.
 */
function levelWeights(level: WeightsLevel, inventory: Inventory, hosts: HostConfig[], weights: Record<string, number>): Record<string, number> {
  if (level.kind === 'host') return { ...overlayOf(inventory.hosts.get(level.name)?.vars ?? {}, `host ${level.name}`), ...weights };
  const group = inventory.groups.get(levelName(level));
  if (group && group.vars.multilink_weights !== undefined) return { ...overlayOf(group.vars, `group ${group.name}`), ...weights };
  return { ...inherited(levelName(level), inventory, hosts), ...weights };
}

/** The groups a group is inside of, directly or not ('all' included). */
function ancestors(inventory: Inventory, name: string): Set<string> {
  return new Set(['all', ...[...inventory.groups.keys()].filter((g) => g !== name && isAncestorOf(inventory, g, name))]);
}

function isAncestorOf(inventory: Inventory, group: string, name: string, seen = new Set<string>()): boolean {
  if (seen.has(group)) return false;
  seen.add(group);
  const g = inventory.groups.get(group);
  return Boolean(g && g.children.some((c) => c === name || isAncestorOf(inventory, c, name, seen)));
}

/**
 * What a level that does not set multilink_weights itself has from the groups above it: the
 * last of them, in the order a host of it merges them, that sets it ('all' has nothing above).
 */
function inherited(group: string, inventory: Inventory, hosts: HostConfig[]): Record<string, number> {
  if (group === 'all') return {};
  const above = ancestors(inventory, group);
  const member = hosts.map((h) => inventory.hosts.get(h.name)).find((h) => h?.groups.includes(group));
  let value: Record<string, number> = {};
  for (const g of member ? member.groups.filter((x) => above.has(x)) : [...above]) {
    const vars = inventory.groups.get(g)?.vars;
    if (vars?.multilink_weights !== undefined) value = overlayOf(vars, `group ${g}`);
  }
  return value;
}

/** Why a host's weights after the edit are not its weights before with the new ones over them. */
function mismatch(before: HostConfig, after: HostConfig | undefined, weights: Record<string, number>, inventory: Inventory): string | undefined {
  if (!after) return `host ${before.name} would no longer be targeted`;
  const want = { ...linkWeights(before), ...weights };
  const got = linkWeights(after);
  const wrong = Object.keys(want).filter((k) => want[k] !== got[k]);
  if (wrong.length === 0) return undefined;
  const at = inventory.hosts.get(after.name)?.varPos.multilink_weights;
  const where = at ? ` (multilink_weights for it is set at ${formatPos(at)})` : '';
  return `host ${before.name}: ${wrong.map((k) => `${k} would be ${got[k]}, not ${want[k]}`).join(', ')}${where}`;
}

function printWeights(output: Output, before: HostConfig[], after: Map<string, HostConfig>): void {
  for (const h of before) {
    const a = after.get(h.name);
    if (a) output.err(`${h.name}: ${weightsText(linkWeights(h))} -> ${weightsText(linkWeights(a))}`);
  }
}

export async function weightsCommand(inventory: InventoryArg, assignments: string[], opts: WeightsCommandOptions, transport: Transport, output: Output): Promise<number> {
  const weights = parseAssignments(assignments);
  const loaded = loadProject(inventory, { limit: opts.limit, vault: opts.vault });
  // A host whose own data is bad fails alone (as with deploy); an error naming no host refuses all.
  const failed = failedHosts(loaded, output);
  const before = { ...loaded, hosts: loaded.hosts.filter((h) => !failed.has(h.name)) };
  const level = levelOf(opts.limit, before.inventory);
  checkLinks(before.hosts, weights);
  let hosts: HostConfig[];
  if (opts.write) {
    if (before.inventory.sources) {
      throw new UsageError(`weights writes multilink_weights into one inventory file, and the inventory here is ${before.inventory.sources.length} files (a folder or several -i): give the file to write with -i, or apply without writing: --no-write`);
    }
    const file = targetFile(before.inventory, level);
    const write = levelWeights(level, before.inventory, before.hosts, weights);
    // Read, edit, write and check under one lock: a second writer (a shard) takes its turn.
    const after = await withFileLock(file, async () => {
      const text = readFileSync(file, 'utf8');
      replaceFileContent(file, edited(file, before.inventory, level, write));
      const reloaded = loadProject(inventory, { limit: opts.limit, vault: opts.vault });
      const byName = new Map(reloaded.hosts.map((h) => [h.name, h]));
      // The hosts that failed before may fail still; any other error is the edit's doing.
      const newErrors = reloaded.diagnostics.filter((d) => d.severity === 'error' && (d.host === undefined || !failed.has(d.host)));
      const wrong = newErrors.length > 0 ? [] : before.hosts.map((h) => mismatch(h, byName.get(h.name), weights, before.inventory)).filter((m) => m !== undefined);
      if (newErrors.length > 0 || wrong.length > 0) {
        // Refused: the file is put back as it was, and no host is contacted.
        replaceFileContent(file, text);
        if (newErrors.length > 0) throw new InputError(newErrors);
        const where = level.kind === 'all' ? 'all' : `${level.kind} ${level.name}`;
        throw new InputError(wrong.map((m) => ({ severity: 'error', summary: `writing multilink_weights at ${where} would not give the weights asked: ${m}`, detail: 'nothing was written; name the level that sets them with --limit, or apply without writing: --no-write' })));
      }
      return reloaded;
    });
    const afterByName = new Map(after.hosts.map((h) => [h.name, h]));
    if (!opts.json) {
      output.err(`wrote multilink_weights: { ${Object.entries(write).map(([k, v]) => `${k}: ${v}`).join(', ')} } at ${level.kind === 'all' ? 'all' : `${level.kind} ${level.name}`} in ${file}`);
      printWeights(output, before.hosts, afterByName);
    }
    hosts = after.hosts.filter((h) => !failed.has(h.name));
  } else {
    hosts = before.hosts.map((h) => ({ ...h, play: { ...h.play, links: h.play.links.map((l) => (l.name in weights ? { ...l, weight: weights[l.name] } : l)) } }));
    if (!opts.json) printWeights(output, before.hosts, new Map(hosts.map((h) => [h.name, h])));
  }
  // Every shard writes the same inventory change; each applies it to its own share, in the
  // inventory's order, the hosts that failed included.
  const good = new Map(hosts.map((h) => [h.name, h]));
  const all = [...before.inventory.hosts.keys()].filter((name) => good.has(name) || failed.has(name)).map((name) => ({ name }));
  const jobs = shardHosts(all, opts.shard, output).map(({ name }): { name: string; cfg?: HostConfig; failed?: FailedHost } => ({ name, cfg: good.get(name), failed: failed.get(name) }));
  const view = chooseView('weights', opts, output);
  const runOpts = runOptions(opts, { balanceOnly: true, command: `weights ${assignments.join(' ')}` });
  const results = await runFleet(jobs, { forks: opts.forks }, view, async (job) =>
    job.cfg ? deployHost(job.cfg, compileHost(job.cfg), transport, runOpts, view) : { result: failedHostResult(job.failed as FailedHost) },
  );
  const behind = results.filter((r) => r.outcome !== 'changed' && r.outcome !== 'unchanged').map((r) => r.host);
  if (behind.length > 0 && opts.write && !opts.json) {
    output.err(`the inventory has the new weights; ${behind.join(', ')} still run the old ones: drift shows them, deploy converges them`);
  }
  return hostRunExitCode('weights', results.map((r) => r.outcome));
}
