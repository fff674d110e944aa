// Ansible-compatible inventories in every form Ansible reads — YAML, static JSON, INI,
// executable inventory scripts, folders of them and `-i r1,r2,` host lists — plus
// group_vars/ and host_vars/, merged in Ansible's precedence. loadInventoryFile is the whole inventory and nothing else, for other stages.
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { Diagnostics } from '../diagnostics.js';
import { InputError } from '../errors.js';
import type { Inventory, InventoryFormat, InventoryGroup, InventoryHost } from '../model/inventory.js';
import { InventoryBuilder, type RawInventory } from './inventory-builder.js';
import { readExtraVars } from './extra-vars.js';
import { readIniInventory } from './inventory-ini.js';
import { DEFAULT_SCRIPT_TIMEOUT_MS, readScriptInventory } from './inventory-script.js';
import { readYamlInventory } from './inventory-yaml.js';
import { Reporter } from './report.js';
import type { VarTable } from './template.js';
import { readVarFiles } from './var-files.js';
import { openFileText, VaultKeyring } from './vault.js';
import { mergeVars, varsToRecord } from './var-table.js';
import { markSecret, parseYaml } from './yaml-source.js';

export interface LoadedInventory {
  inventory: Inventory;
  /** Each host's merged var definitions (the winning one per name), for templates and checks. */
  hostVars: Map<string, VarTable>;
}

/**
 * One inventory source (a file, a folder, or `r1,r2,` naming hosts) or several, merged in
 * order as Ansible merges repeated -i.
 */
export type InventorySources = string | readonly string[];

/**
 * The inventory as a command line gives it: its sources (-i, the positional argument,
 * ANSIBLE_INVENTORY or ansible.cfg), -e extra vars, and the connection defaults of -u,
 * --private-key and ansible.cfg (inventory vars win over those, as in Ansible).
 */
export interface InventoryInput {
  sources: readonly string[];
  extraVars?: readonly string[];
  connection?: { user?: string; privateKeyFile?: string };
}

/** One inventory file, or what a command line gave. */
export type InventoryArg = string | InventoryInput;

export function inventorySources(arg: InventoryArg): readonly string[] {
  return typeof arg === 'string' ? [arg] : arg.sources;
}

/** The inventory named for messages. */
export function inventoryName(arg: InventoryArg): string {
  return inventorySources(arg).join(', ');
}

export interface InventoryOptions {
  /** How long an inventory script may take for one run. Default 60 s. */
  scriptTimeoutMs?: number;
  /**
   * The vault passwords given (--vault-id, --vault-password-file, --ask-vault-pass). Whole
   * encrypted files are decrypted with them while loading; inline vaulted values only where used.
   */
  vault?: VaultKeyring;
  /** -e/--extra-vars as given: over every other definition, for every host (src/load/extra-vars.ts). */
  extraVars?: readonly string[];
}

const YAML_EXTENSIONS = ['.yaml', '.yml', '.json'];

/**
 * What Ansible skips in a folder given as the inventory: hidden entries, group_vars,
 * host_vars, vars_plugins, and its INVENTORY_IGNORE_EXTS (.ini and .cfg among them).
 */
const IGNORED_IN_FOLDER = /^\.|^host_vars$|^group_vars$|^vars_plugins$|(\.pyc|\.pyo|\.swp|\.bak|~|\.rpm|\.md|\.txt|\.rst|\.orig|\.ini|\.cfg|\.retry)$/;

export function loadInventory(sources: InventorySources, diags: Diagnostics, options: InventoryOptions = {}): LoadedInventory {
  const list = typeof sources === 'string' ? [sources] : [...sources];
  const r = new Reporter(diags);
  const vault = options.vault ?? new VaultKeyring();
  const read = list.flatMap((source) => readSources(source, diags, options));
  // Reconciled once, after every source is read, as Ansible's parse_sources does.
  const raw = read.length === 1 ? read[0].builder.reconcile() : mergeSources(read.map((s) => s.builder.raw), r);
  const groupFiles = new Map<string, VarTable>();
  const hostFiles = new Map<string, VarTable>();
  // As Ansible's host_group_vars: group_vars/ and host_vars/ beside each source given (in a folder given: in it).
  for (const dir of list.flatMap((source) => varsFolderOf(source))) {
    mergeInto(groupFiles, readVarFiles(dir, 'group_vars', [...raw.groups.keys()], r, vault));
    mergeInto(hostFiles, readVarFiles(dir, 'host_vars', [...raw.hosts.keys()], r, vault));
  }
  const single = list.length === 1 && read.length === 1 && read[0].file === list[0];
  const file = list.length === 1 ? list[0] : list.filter((s) => !isHostList(s)).join(',') || list[0];
  const extraVars = options.extraVars?.length ? readExtraVars(options.extraVars, diags, vault) : undefined;
  const inventory = assemble(file, single ? read[0].format : undefined, raw, groupFiles, hostFiles, extraVars);
  if (!single) inventory.inventory.sources = read.map((s) => resolve(s.file));
  return inventory;
}

/** The inventory alone, as understood; throws InputError (every problem) when it has errors. */
export function loadInventoryFile(file: InventorySources, options: InventoryOptions = {}): Inventory {
  const diags = new Diagnostics();
  const { inventory } = loadInventory(file, diags, options);
  if (diags.hasErrors) throw new InputError(diags.items);
  return inventory;
}

interface Source {
  file: string;
  format: InventoryFormat;
  /** What the source defines, not yet reconciled. */
  builder: InventoryBuilder;
}

/** `-i r1,r2,` names hosts; like Ansible, a comma means a host list unless such a file exists. */
function isHostList(source: string): boolean {
  return source.includes(',') && !exists(source);
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function varsFolderOf(source: string): string[] {
  if (isHostList(source)) return [];
  try {
    return [statSync(source).isDirectory() ? source : dirname(source)];
  } catch {
    return [dirname(source)];
  }
}

function mergeInto(into: Map<string, VarTable>, more: Map<string, VarTable>): void {
  for (const [name, table] of more) into.set(name, mergeVars(into.get(name) ?? new Map(), table));
}

/** A source: a host list, a file, or a folder read as Ansible reads one (every entry in sorted order, subfolders too). */
function readSources(source: string, diags: Diagnostics, options: InventoryOptions, depth = 0): Source[] {
  if (isHostList(source)) return [hostList(source, diags)];
  let isDir = false;
  try {
    isDir = statSync(source).isDirectory();
  } catch {
    // readSource says what is wrong with it.
  }
  if (!isDir) {
    const one = readSource(source, diags, options);
    return one ? [one] : [];
  }
  if (depth > 20) {
    diags.error(`inventory folder ${source}: folders nested more than 20 deep`);
    return [];
  }
  const entries = readdirSync(source).sort().filter((e) => !IGNORED_IN_FOLDER.test(e));
  const found = entries.flatMap((e) => readSources(join(source, e), diags, options, depth + 1));
  if (depth === 0 && found.length === 0 && entries.length === 0) diags.error(`inventory folder ${source} holds no inventory file`);
  return found;
}

/** Ansible's host_list source: `r1,r2:2222,[2001:db8::1]:22,` — hosts in ungrouped. */
function hostList(source: string, diags: Diagnostics): Source {
  const b = new InventoryBuilder(new Reporter(diags));
  const file = '-i';
  let col = 1;
  for (const part of source.split(',')) {
    const name = part.trim();
    const pos = { file, line: 1, col: col + part.indexOf(name) };
    col += part.length + 1;
    if (name === '') continue;
    const m = /^\[([^\]]+)\](?::([0-9]+))?$/.exec(name) ?? /^([^:]+):([0-9]+)$/.exec(name);
    const host = m ? m[1] : name;
    const port = m?.[2] === undefined ? undefined : { value: Number(m[2]), pos };
    b.addHost(host, 'ungrouped', pos, port);
  }
  return { file: source, format: 'ini', builder: b };
}

/**
 * Several sources as one inventory, as Ansible's InventoryData gathers them: groups and hosts
 * in the order first met, later vars winning per name, one reconciliation at the end.
 */
function mergeSources(raws: RawInventory[], r: Reporter): RawInventory {
  const b = new InventoryBuilder(r);
  for (const raw of raws) {
    for (const g of raw.groups.values()) {
      const group = b.group(g.name, g.pos);
      for (const def of g.vars.values()) b.setGroupVar(g.name, def);
      if (g.priority !== 1) group.priority = g.priority;
    }
    for (const h of raw.hosts.values()) {
      b.addHost(h.name, undefined, h.pos);
      for (const def of h.vars.values()) b.setHostVar(h.name, def);
    }
    for (const g of raw.groups.values()) {
      for (const c of g.children) b.addChild(g.name, c.name, c.pos);
      for (const h of g.hosts) b.addHost(h, g.name, raw.hosts.get(h)?.pos ?? { file: '-i', line: 1, col: 1 });
    }
  }
  return b.reconcile();
}

function readSource(file: string, diags: Diagnostics, options: InventoryOptions): Source | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    diags.error(code === 'ENOENT' ? `inventory file not found: ${file}` : `cannot read ${file}: ${(e as Error).message}`);
    return undefined;
  }
  if (text.startsWith('#!')) {
    if (!isExecutable(file)) {
      diags.error(`inventory ${file} starts with #! like an inventory script but is not executable: chmod +x it`, { pos: { file, line: 1, col: 1 } });
      return undefined;
    }
    const b = new InventoryBuilder(new Reporter(diags));
    readScriptInventory(file, b, options.scriptTimeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS);
    return { file, format: 'script', builder: b };
  }
  const opened = openFileText(text, file, options.vault ?? new VaultKeyring(), diags);
  if (!opened) return undefined;
  const source = readText(opened.text, file, diags, opened.decrypted);
  if (source && opened.decrypted) for (const vars of varTablesOf(source.builder.raw)) for (const def of vars.values()) markSecret(def.value);
  return source;
}

/** Every var table of an inventory source: its groups' and its hosts'. */
function varTablesOf(raw: RawInventory): VarTable[] {
  return [...[...raw.groups.values()].map((g) => g.vars), ...[...raw.hosts.values()].map((h) => h.vars)];
}

/** `secret`: the text was decrypted; messages must not quote it (YAML values are marked secret instead). */
function readText(text: string, file: string, diags: Diagnostics, secret: boolean): Source | undefined {
  const ext = extname(file).toLowerCase();
  if (ext !== '' && !YAML_EXTENSIONS.includes(ext)) return ini(text, file, diags, secret);
  // As Ansible: YAML first, then INI, for names that may be either.
  const yaml = new Diagnostics();
  const root = parseYaml(text, file, yaml);
  if (root?.kind === 'map') {
    const b = new InventoryBuilder(new Reporter(yaml));
    readYamlInventory(root, b);
    diags.push(...yaml.items);
    return { file, format: 'yaml', builder: b };
  }
  const asIni = new Diagnostics();
  const source = ini(text, file, asIni, secret);
  if (!asIni.hasErrors || ext === '') {
    diags.push(...asIni.items);
    return source;
  }
  // A .yaml/.yml/.json file that is neither: its YAML errors are the ones that help.
  if (yaml.items.length > 0) diags.push(...yaml.items);
  else diags.error('inventory: expected a mapping of groups, starting with all:', { pos: root?.pos ?? { file, line: 1, col: 1 } });
  return undefined;
}

function ini(text: string, file: string, diags: Diagnostics, secret: boolean): Source {
  const b = new InventoryBuilder(new Reporter(diags));
  readIniInventory(text, file, b, { secret });
  return { file, format: 'ini', builder: b };
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function parentsOf(raw: RawInventory): Map<string, string[]> {
  const parents = new Map<string, string[]>([...raw.groups.keys()].map((n) => [n, []]));
  for (const g of raw.groups.values()) for (const c of g.children) parents.get(c.name)?.push(g.name);
  return parents;
}

/** Depth = longest path from `all`: deeper (more specific) groups win, as in Ansible. */
function depths(raw: RawInventory, parents: Map<string, string[]>): Map<string, number> {
  const memo = new Map<string, number>([['all', 0]]);
  const depth = (name: string): number => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    const d = Math.max(0, ...(parents.get(name) ?? []).map(depth)) + 1;
    memo.set(name, d);
    return d;
  };
  for (const name of raw.groups.keys()) depth(name);
  return memo;
}

/** Every group of the host with its ancestors, in Ansible's merge order: depth, priority, name. */
function groupsOfHost(direct: string[], parents: Map<string, string[]>, order: (a: string, b: string) => number): string[] {
  const found = new Set<string>(['all']);
  const add = (name: string): void => {
    if (found.has(name)) return;
    found.add(name);
    for (const p of parents.get(name) ?? []) add(p);
  };
  for (const g of direct) add(g);
  return [...found].sort(order);
}

/** The groups that list each host directly. */
function directGroups(raw: RawInventory): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const g of raw.groups.values()) {
    for (const h of g.hosts) {
      const list = out.get(h);
      if (list) list.push(g.name);
      else out.set(h, [g.name]);
    }
  }
  return out;
}

function assemble(
  file: string,
  format: InventoryFormat | undefined,
  raw: RawInventory,
  groupFiles: Map<string, VarTable>,
  hostFiles: Map<string, VarTable>,
  extraVars: VarTable = new Map(),
): LoadedInventory {
  const parents = parentsOf(raw);
  const depth = depths(raw, parents);
  const priority = (name: string): number => raw.groups.get(name)?.priority ?? 1;
  const order = (a: string, b: string): number =>
    (depth.get(a) ?? 0) - (depth.get(b) ?? 0) || priority(a) - priority(b) || (a < b ? -1 : a > b ? 1 : 0);
  const groups = new Map<string, InventoryGroup>();
  for (const g of raw.groups.values()) {
    // What the group itself defines: group_vars/X over X's vars in the inventory source.
    const { vars, varPos } = varsToRecord(mergeVars(g.vars, groupFiles.get(g.name) ?? new Map()));
    const children = g.children.map((c) => c.name);
    groups.set(g.name, { name: g.name, children, hosts: g.hosts, vars, varPos, priority: g.priority, ...(g.pos ? { pos: g.pos } : {}) });
  }
  const none: VarTable = new Map();
  const hosts = new Map<string, InventoryHost>();
  const hostVars = new Map<string, VarTable>();
  const direct = directGroups(raw);
  for (const h of raw.hosts.values()) {
    const memberOf = groupsOfHost(direct.get(h.name) ?? [], parents, order);
    const others = memberOf.filter((g) => g !== 'all');
    // Ansible's default precedence: inventory-source vars of all, then of the other groups;
    // then group_vars/all, then the other groups' group_vars; then the host's own.
    const merged = mergeVars(
      raw.groups.get('all')?.vars ?? none,
      ...others.map((g) => raw.groups.get(g)?.vars ?? none),
      groupFiles.get('all') ?? none,
      ...others.map((g) => groupFiles.get(g) ?? none),
      h.vars,
      hostFiles.get(h.name) ?? none,
      extraVars,
    );
    hostVars.set(h.name, merged);
    hosts.set(h.name, { name: h.name, groups: memberOf, ...varsToRecord(merged), pos: h.pos });
  }
  return { inventory: { file: isHostList(file) ? file : resolve(file), ...(format ? { format } : {}), groups, hosts }, hostVars };
}
