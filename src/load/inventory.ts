// Ansible-compatible inventories in every form Ansible reads — YAML, static JSON, INI and
// executable inventory scripts — plus group_vars/ and host_vars/, merged in Ansible's
// precedence. loadInventoryFile is the whole inventory and nothing else, for other stages.
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { Diagnostics } from '../diagnostics.js';
import { InputError } from '../errors.js';
import type { Inventory, InventoryFormat, InventoryGroup, InventoryHost } from '../model/inventory.js';
import { InventoryBuilder, type RawInventory } from './inventory-builder.js';
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

export interface InventoryOptions {
  /** How long an inventory script may take for one run. Default 60 s. */
  scriptTimeoutMs?: number;
  /**
   * The vault passwords given (--vault-id, --vault-password-file, --ask-vault-pass). Whole
   * encrypted files are decrypted with them while loading; inline vaulted values only where used.
   */
  vault?: VaultKeyring;
}

const YAML_EXTENSIONS = ['.yaml', '.yml', '.json'];

export function loadInventory(file: string, diags: Diagnostics, options: InventoryOptions = {}): LoadedInventory {
  const read = readSource(file, diags, options);
  const raw = read?.raw ?? new InventoryBuilder(new Reporter(new Diagnostics())).reconcile();
  const r = new Reporter(diags);
  const dir = dirname(file);
  const vault = options.vault ?? new VaultKeyring();
  const groupFiles = readVarFiles(dir, 'group_vars', [...raw.groups.keys()], r, vault);
  const hostFiles = readVarFiles(dir, 'host_vars', [...raw.hosts.keys()], r, vault);
  return assemble(file, read?.format ?? 'yaml', raw, groupFiles, hostFiles);
}

/** The inventory alone, as understood; throws InputError (every problem) when it has errors. */
export function loadInventoryFile(file: string, options: InventoryOptions = {}): Inventory {
  const diags = new Diagnostics();
  const { inventory } = loadInventory(file, diags, options);
  if (diags.hasErrors) throw new InputError(diags.items);
  return inventory;
}

interface Source {
  format: InventoryFormat;
  raw: RawInventory;
}

function readSource(file: string, diags: Diagnostics, options: InventoryOptions): Source | undefined {
  let text: string;
  try {
    if (statSync(file).isDirectory()) {
      diags.error(`inventory ${file} is a folder: give one inventory file`);
      return undefined;
    }
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
    return { format: 'script', raw: b.reconcile() };
  }
  const opened = openFileText(text, file, options.vault ?? new VaultKeyring(), diags);
  if (!opened) return undefined;
  const source = readText(opened.text, file, diags, opened.decrypted);
  if (source && opened.decrypted) for (const vars of varTablesOf(source.raw)) for (const def of vars.values()) markSecret(def.value);
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
    return { format: 'yaml', raw: b.reconcile() };
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
  return { format: 'ini', raw: b.reconcile() };
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
  format: InventoryFormat,
  raw: RawInventory,
  groupFiles: Map<string, VarTable>,
  hostFiles: Map<string, VarTable>,
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
    );
    hostVars.set(h.name, merged);
    hosts.set(h.name, { name: h.name, groups: memberOf, ...varsToRecord(merged), pos: h.pos });
  }
  return { inventory: { file: resolve(file), format, groups, hosts }, hostVars };
}
