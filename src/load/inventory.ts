// Ansible-compatible YAML inventory: groups (nested through `children`), hosts, vars,
// plus group_vars/ and host_vars/ files, merged in Ansible's precedence.
import { dirname, resolve } from 'node:path';
import type { Diagnostics } from '../diagnostics.js';
import type { Inventory, InventoryGroup, InventoryHost } from '../model/inventory.js';
import type { SourcePos } from '../model/source.js';
import { Reporter } from './report.js';
import type { VarTable } from './template.js';
import { readVarFiles } from './var-files.js';
import { mergeVars, readVarMap, varsToRecord } from './var-table.js';
import { readYamlFile, type YEntry, type YValue } from './yaml-source.js';

export interface LoadedInventory {
  inventory: Inventory;
  /** Each host's merged var definitions (the winning one per name), for templates and checks. */
  hostVars: Map<string, VarTable>;
}

interface RawGroup {
  name: string;
  pos?: SourcePos;
  /** pos is where the edge was written; undefined for the implicit all → ungrouped. */
  children: { name: string; pos?: SourcePos }[];
  hosts: string[];
  vars: VarTable;
}

interface RawHost {
  name: string;
  pos: SourcePos;
  vars: VarTable;
}

interface RawInventory {
  groups: Map<string, RawGroup>;
  hosts: Map<string, RawHost>;
}

const GROUP_KEYS = ['hosts', 'vars', 'children'] as const;

export function loadInventory(file: string, diags: Diagnostics): LoadedInventory {
  const r = new Reporter(diags);
  const raw: RawInventory = { groups: new Map(), hosts: new Map() };
  group(raw, 'all');
  const root = readYamlFile(file, diags, { summary: 'inventory file not found' });
  if (root) readRoot(root, raw, r);
  removeCycles(raw, r);
  addUngrouped(raw);
  const dir = dirname(file);
  const groupFiles = readVarFiles(dir, 'group_vars', [...raw.groups.keys()], r);
  const hostFiles = readVarFiles(dir, 'host_vars', [...raw.hosts.keys()], r);
  return assemble(file, raw, groupFiles, hostFiles);
}

function readRoot(root: YValue, raw: RawInventory, r: Reporter): void {
  if (root.kind !== 'map' || root.entries.length === 0) {
    r.error('inventory: expected a mapping of groups, starting with all:', root);
    return;
  }
  // Top-level groups other than `all` are children of `all`, as in Ansible.
  for (const e of root.entries) readGroup(raw, e, e.key === 'all' ? undefined : 'all', r);
}

function group(raw: RawInventory, name: string, pos?: SourcePos): RawGroup {
  let g = raw.groups.get(name);
  if (!g) raw.groups.set(name, (g = { name, pos, children: [], hosts: [], vars: new Map() }));
  g.pos ??= pos;
  return g;
}

/** A group may be written under several parents: each occurrence adds to the same group. */
function readGroup(raw: RawInventory, entry: YEntry, parent: string | undefined, r: Reporter): void {
  const name = entry.key;
  if (parent !== undefined && name === 'all') {
    r.error("group 'all' cannot be a child of another group", { pos: entry.keyPos });
    return;
  }
  const g = group(raw, name, entry.keyPos);
  if (parent !== undefined) addChild(group(raw, parent), name, entry.keyPos);
  const body = entry.value;
  if (body.kind === 'scalar' && body.value === null) return;
  if (body.kind !== 'map') {
    r.error(`group '${name}': expected a mapping with ${GROUP_KEYS.join(', ')}`, body);
    return;
  }
  r.checkKeys(body, GROUP_KEYS, `group '${name}'`);
  for (const e of body.entries) {
    if (e.key === 'hosts') readHosts(raw, g, e.value, r);
    if (e.key === 'vars') g.vars = mergeVars(g.vars, readVarMap(e.value, `group ${name}`, r));
    if (e.key === 'children') readChildren(raw, name, e.value, r);
  }
}

function addChild(parent: RawGroup, name: string, pos?: SourcePos): void {
  if (!parent.children.some((c) => c.name === name)) parent.children.push({ name, pos });
}

function readHosts(raw: RawInventory, g: RawGroup, node: YValue, r: Reporter): void {
  if (node.kind === 'scalar' && node.value === null) return;
  if (node.kind !== 'map') {
    r.error(`hosts of group '${g.name}': expected a mapping of host name: vars, got a ${node.kind === 'seq' ? 'list' : 'scalar'}`, node);
    return;
  }
  for (const e of node.entries) {
    if (!e.key.trim()) {
      r.error('host name must not be empty', { pos: e.keyPos });
      continue;
    }
    let h = raw.hosts.get(e.key);
    if (!h) raw.hosts.set(e.key, (h = { name: e.key, pos: e.keyPos, vars: new Map() }));
    if (!g.hosts.includes(e.key)) g.hosts.push(e.key);
    h.vars = mergeVars(h.vars, readVarMap(e.value, `host ${e.key}`, r));
  }
}

function readChildren(raw: RawInventory, parent: string, node: YValue, r: Reporter): void {
  if (node.kind === 'scalar' && node.value === null) return;
  if (node.kind !== 'map') {
    r.error(`children of group '${parent}': expected a mapping of group name: group`, node);
    return;
  }
  for (const e of node.entries) readGroup(raw, e, parent, r);
}

/** children must form a tree-like DAG; an edge that closes a loop is reported and dropped. */
function removeCycles(raw: RawInventory, r: Reporter): void {
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (name: string): void => {
    if (done.has(name)) return;
    path.push(name);
    const g = raw.groups.get(name) as RawGroup;
    g.children = g.children.filter((c) => {
      if (!path.includes(c.name)) return true;
      const loop = [...path.slice(path.indexOf(c.name)), c.name].join(' → ');
      r.diags.error(`group '${c.name}' is its own ancestor (${loop})`, { pos: c.pos });
      return false;
    });
    for (const c of g.children) visit(c.name);
    path.pop();
    done.add(name);
  };
  visit('all');
}

/** Ansible's implicit `ungrouped`: hosts that belong to no group but `all`. */
function addUngrouped(raw: RawInventory): void {
  const ungrouped = group(raw, 'ungrouped');
  addChild(group(raw, 'all'), 'ungrouped');
  const grouped = new Set([...raw.groups.values()].filter((g) => g.name !== 'all').flatMap((g) => g.hosts));
  for (const h of raw.hosts.keys()) if (!grouped.has(h)) ungrouped.hosts.push(h);
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

/** Every group of the host, `all` first, then by depth, ties by name (Ansible's order). */
function groupsOfHost(raw: RawInventory, host: string, parents: Map<string, string[]>, depth: Map<string, number>): string[] {
  const found = new Set<string>(['all']);
  const add = (name: string): void => {
    if (found.has(name)) return;
    found.add(name);
    for (const p of parents.get(name) ?? []) add(p);
  };
  for (const g of raw.groups.values()) if (g.hosts.includes(host)) add(g.name);
  // `all` is the only group at depth 0, so it always comes first.
  return [...found].sort((a, b) => (depth.get(a) ?? 0) - (depth.get(b) ?? 0) || (a < b ? -1 : a > b ? 1 : 0));
}

function assemble(
  file: string,
  raw: RawInventory,
  groupFiles: Map<string, VarTable>,
  hostFiles: Map<string, VarTable>,
): LoadedInventory {
  const parents = parentsOf(raw);
  const depth = depths(raw, parents);
  // group_vars/X merges with X's inline vars, the file winning.
  const groupVars = new Map([...raw.groups.values()].map((g) => [g.name, mergeVars(g.vars, groupFiles.get(g.name) ?? new Map())]));
  const groups = new Map<string, InventoryGroup>();
  for (const g of raw.groups.values()) {
    const { vars, varPos } = varsToRecord(groupVars.get(g.name) as VarTable);
    const children = g.children.map((c) => c.name);
    groups.set(g.name, { name: g.name, children, hosts: g.hosts, vars, varPos, ...(g.pos ? { pos: g.pos } : {}) });
  }
  const hosts = new Map<string, InventoryHost>();
  const hostVars = new Map<string, VarTable>();
  for (const h of raw.hosts.values()) {
    const memberOf = groupsOfHost(raw, h.name, parents, depth);
    const merged = mergeVars(...memberOf.map((g) => groupVars.get(g) as VarTable), h.vars, hostFiles.get(h.name) ?? new Map());
    hostVars.set(h.name, merged);
    hosts.set(h.name, { name: h.name, groups: memberOf, ...varsToRecord(merged), pos: h.pos });
  }
  return { inventory: { file: resolve(file), groups, hosts }, hostVars };
}
