// YAML (and static JSON) inventories, read as Ansible's yaml inventory plugin reads them:
// top-level keys are groups, each with hosts, vars and children; a host key may carry a
// port and ranges (`r[01:03]:2222`); `hosts: r1` is short for `hosts: { r1: }`.
import type { InventoryBuilder } from './inventory-builder.js';
import { HostRangeError, parseHostEntry } from './host-range.js';
import { kindOf } from './report.js';
import { readVarMap } from './var-table.js';
import type { YEntry, YMap, YValue } from './yaml-source.js';

const GROUP_KEYS = ['hosts', 'vars', 'children'] as const;

export function readYamlInventory(root: YValue, b: InventoryBuilder): void {
  if (root.kind !== 'map' || root.entries.length === 0) {
    b.r.error('inventory: expected a mapping of groups, starting with all:', root);
    return;
  }
  const plugin = root.entries.find((e) => e.key === 'plugin');
  if (plugin) {
    b.r.error('inventory plugin configurations (plugin:) are not supported: give a YAML, INI or JSON inventory, or an executable inventory script', {
      pos: plugin.keyPos,
    });
    return;
  }
  // Top-level groups hang under `all` through Ansible's reconciliation, after the groups
  // that name them as children: their place in all's children follows from that.
  for (const e of root.entries) readGroup(b, e, undefined);
}

/** A group may be written under several parents: each occurrence adds to the same group. */
function readGroup(b: InventoryBuilder, entry: YEntry, parent: string | undefined): void {
  const name = entry.key;
  if (!name.trim()) {
    b.r.error('group name must not be empty', { pos: entry.keyPos });
    return;
  }
  if (parent !== undefined && name === 'all') {
    b.r.error("group 'all' cannot be a child of another group", { pos: entry.keyPos });
    return;
  }
  b.group(name, entry.keyPos);
  if (parent !== undefined) b.addChild(parent, name, entry.keyPos);
  const body = entry.value;
  if (body.kind === 'scalar' && body.value === null) return;
  if (body.kind !== 'map') {
    b.r.error(`group '${name}': expected a mapping with ${GROUP_KEYS.join(', ')}`, body);
    return;
  }
  b.r.checkKeys(body, GROUP_KEYS, `group '${name}'`);
  for (const e of body.entries) {
    const section = shortForm(e.value);
    if (e.key === 'hosts') readHosts(b, name, section);
    if (e.key === 'vars') for (const def of readVarMap(section, `group ${name}`, b.r).values()) b.setGroupVar(name, def);
    if (e.key === 'children') readChildren(b, name, section);
  }
}

/** `hosts: r1` and `children: edge` name a single member with no data, as in Ansible. */
function shortForm(node: YValue): YValue {
  if (node.kind !== 'scalar' || typeof node.value !== 'string') return node;
  const map: YMap = { kind: 'map', pos: node.pos, entries: [{ key: node.value, keyPos: node.pos, value: { kind: 'scalar', value: null, pos: node.pos } }] };
  return map;
}

function readHosts(b: InventoryBuilder, group: string, node: YValue): void {
  if (node.kind === 'scalar' && node.value === null) return;
  if (node.kind !== 'map') {
    b.r.error(`hosts of group '${group}': expected a mapping of host name: vars, got a ${kindOf(node)}`, node);
    return;
  }
  for (const e of node.entries) {
    if (!e.key.trim()) {
      b.r.error('host name must not be empty', { pos: e.keyPos });
      continue;
    }
    if (e.numericKey) {
      // Ansible's YAML inventory refuses a host key PyYAML read as an int or float.
      b.r.error(`Host pattern ${e.key} must be a string. Enclose integers/floats in quotation marks.`, { pos: e.keyPos });
      continue;
    }
    let entry;
    try {
      entry = parseHostEntry(e.key);
    } catch (err) {
      if (!(err instanceof HostRangeError)) throw err;
      b.r.error(err.message, { pos: { ...e.keyPos, col: e.keyPos.col + err.offset } });
      continue;
    }
    const vars = readVarMap(e.value, `host ${e.key}`, b.r);
    const port = entry.port === undefined ? undefined : { value: entry.port, pos: e.keyPos };
    for (const name of entry.names) {
      b.addHost(name, group, e.keyPos, port);
      for (const def of vars.values()) b.setHostVar(name, def);
    }
  }
}

function readChildren(b: InventoryBuilder, parent: string, node: YValue): void {
  if (node.kind === 'scalar' && node.value === null) return;
  if (node.kind !== 'map') {
    b.r.error(`children of group '${parent}': expected a mapping of group name: group`, node);
    return;
  }
  for (const e of node.entries) readGroup(b, e, parent);
}
