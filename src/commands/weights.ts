// `multilink weights INVENTORY LINK=W… [--limit P] [--no-write]`: a fleet-wide weight change.
// Writes multilink_weights at the level --limit names (all, a group or a host; comments and
// layout kept), then replaces only the balancing chain on those hosts, through the same
// transaction and confirmation as deploy. Established connections keep their link.
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { InputError, UsageError } from '../errors.js';
import { Diagnostics, type Diagnostic } from '../diagnostics.js';
import type { HostConfig } from '../model/config.js';
import type { Inventory } from '../model/inventory.js';
import type { Transport } from '../transport/transport.js';
import type { Output } from '../report/view.js';
import { loadProject, assertNoErrors } from '../load/resolve.js';
import { setWeightsInInventory, setWeightsInVarsFile, type WeightsLevel } from '../load/weights-edit.js';
import { setWeightsInIni } from '../load/weights-edit-ini.js';
import { setWeightsInJsonInventory, setWeightsInJsonVarsFile } from '../load/weights-edit-json.js';
import { varFilesOf } from '../load/var-files.js';
import { parseYaml } from '../load/yaml-source.js';
import { compileHost } from '../compile/desired-state.js';
import { deployHost } from '../deploy/host.js';
import { runFleet } from '../deploy/fleet.js';
import { chooseView, runOptions, shardHosts, type HostCommandOptions } from './common.js';
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

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.multilink-tmp`;
  writeFileSync(tmp, text, { mode: statSync(file).mode & 0o777 });
  renameSync(tmp, file);
}

export async function weightsCommand(inventory: string, assignments: string[], opts: WeightsCommandOptions, transport: Transport, output: Output): Promise<number> {
  const weights = parseAssignments(assignments);
  const before = loadProject(inventory, { limit: opts.limit });
  assertNoErrors(before);
  const level = levelOf(opts.limit, before.inventory);
  checkLinks(before.hosts, weights);
  let hosts: HostConfig[];
  if (opts.write) {
    const file = targetFile(before.inventory, level);
    const text = readFileSync(file, 'utf8');
    writeAtomically(file, edited(file, before.inventory, level, weights));
    const after = loadProject(inventory, { limit: opts.limit });
    if (after.diagnostics.some((d) => d.severity === 'error')) {
      writeAtomically(file, text);
      assertNoErrors(after);
    }
    if (!opts.json) output.err(`wrote ${Object.entries(weights).map(([k, v]) => `${k}=${v}`).join(' ')} to multilink_weights of ${level.kind === 'all' ? 'all' : `${level.kind} ${level.name}`} in ${file}`);
    hosts = after.hosts;
    for (const h of hosts) {
      for (const [link, w] of Object.entries(weights)) {
        const got = h.play.links.find((l) => l.name === link)?.weight;
        if (got !== w) output.err(`warning: host ${h.name} keeps ${link}=${got}: a more specific level of the inventory sets it`);
      }
    }
  } else {
    hosts = before.hosts.map((h) => ({ ...h, play: { ...h.play, links: h.play.links.map((l) => (l.name in weights ? { ...l, weight: weights[l.name] } : l)) } }));
  }
  // Every shard writes the same inventory change; each applies it to its own share.
  hosts = shardHosts(hosts, opts.shard, output);
  const view = chooseView('weights', opts, output);
  const runOpts = runOptions(opts, { balanceOnly: true, command: `weights ${assignments.join(' ')}` });
  const byName = new Map(hosts.map((h) => [h.name, compileHost(h)]));
  const results = await runFleet(hosts, { forks: opts.forks }, view, (cfg) => deployHost(cfg, byName.get(cfg.name)!, transport, runOpts, view));
  const behind = results.filter((r) => r.outcome !== 'changed' && r.outcome !== 'unchanged').map((r) => r.host);
  if (behind.length > 0 && opts.write && !opts.json) {
    output.err(`the inventory has the new weights; ${behind.join(', ')} still run the old ones: drift shows them, deploy converges them`);
  }
  return hostRunExitCode('weights', results.map((r) => r.outcome));
}
