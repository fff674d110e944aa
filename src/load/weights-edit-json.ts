// Writes multilink_weights into JSON (a static JSON inventory or a .json vars file) so that
// it stays JSON: JSON has no comments to keep, so the document is written again with the
// file's own indentation and key order.
import type { WeightsLevel } from './weights-edit.js';

const KEY = 'multilink_weights';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(v: Json | undefined): v is JsonObject {
  return v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v);
}

function indentOf(text: string): number {
  const m = /\n( +)\S/.exec(text);
  return m ? m[1].length : 2;
}

function write(text: string, doc: Json): string {
  return `${JSON.stringify(doc, null, indentOf(text))}\n`;
}

/** Sets the weights in a vars object, keeping the other links' weights. */
function setIn(vars: JsonObject, weights: Record<string, number>, where: string): void {
  const existing = vars[KEY];
  if (existing !== undefined && !isObject(existing)) throw new Error(`${KEY} in ${where} is not a mapping`);
  vars[KEY] = { ...(existing ?? {}), ...weights };
}

export function setWeightsInJsonVarsFile(text: string, weights: Record<string, number>): string {
  const doc = JSON.parse(text) as Json;
  if (!isObject(doc)) throw new Error('the vars file is not a JSON object');
  setIn(doc, weights, 'the vars file');
  return write(text, doc);
}

function findGroup(group: JsonObject, name: string): JsonObject | undefined {
  const children = group.children;
  if (!isObject(children)) return undefined;
  for (const [key, child] of Object.entries(children)) {
    if (key === name && (isObject(child) || child === null)) {
      if (child === null) children[key] = {};
      return children[key] as JsonObject;
    }
    if (isObject(child)) {
      const found = findGroup(child, name);
      if (found) return found;
    }
  }
  return undefined;
}

function findHost(group: JsonObject, name: string): { hosts: JsonObject } | undefined {
  if (isObject(group.hosts) && name in group.hosts) return { hosts: group.hosts };
  if (!isObject(group.children)) return undefined;
  for (const child of Object.values(group.children)) {
    if (!isObject(child)) continue;
    const found = findHost(child, name);
    if (found) return found;
  }
  return undefined;
}

/** A static JSON inventory (the YAML inventory structure written as JSON). */
export function setWeightsInJsonInventory(text: string, level: WeightsLevel, weights: Record<string, number>): string {
  const doc = JSON.parse(text) as Json;
  const all = isObject(doc) ? doc.all : undefined;
  if (!isObject(doc) || !isObject(all)) throw new Error('the inventory has no "all" object');
  const groups = [all, ...Object.entries(doc).filter(([k, v]) => k !== 'all' && isObject(v)).map(([, v]) => v as JsonObject)];
  if (level.kind === 'host') {
    const found = groups.map((g) => findHost(g, level.name)).find((f) => f !== undefined);
    if (!found) throw new Error(`host ${level.name} is not in the inventory file`);
    const entry = found.hosts[level.name];
    if (entry !== null && !isObject(entry)) throw new Error(`host ${level.name}'s entry is not an object`);
    const vars = entry ?? {};
    found.hosts[level.name] = vars;
    setIn(vars, weights, `host ${level.name}`);
    return write(text, doc);
  }
  const group =
    level.kind === 'all'
      ? all
      : ((isObject(doc[level.name]) ? (doc[level.name] as JsonObject) : undefined) ?? groups.map((g) => findGroup(g, level.name)).find((f) => f !== undefined));
  if (!group) throw new Error(`group ${level.kind === 'group' ? level.name : 'all'} is not in the inventory file`);
  if (group.vars !== undefined && group.vars !== null && !isObject(group.vars)) throw new Error('the group\'s "vars" is not an object');
  const vars = isObject(group.vars) ? group.vars : (group.vars = {});
  setIn(vars, weights, level.kind === 'all' ? 'all' : `group ${level.name}`);
  return write(text, doc);
}
