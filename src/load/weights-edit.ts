// Writes multilink_weights into an inventory (or a group_vars/host_vars file) as a person
// would: only the lines that change are touched; comments, order and layout stay. The yaml
// package's own printer would reformat the file, so its node ranges are used to splice text.
import { isMap, isPair, isScalar, parseDocument, type Pair, type YAMLMap } from 'yaml';

const KEY = 'multilink_weights';

export type WeightsLevel = { kind: 'all' } | { kind: 'group'; name: string } | { kind: 'host'; name: string };

/** A key as written (a host called 1e3 is not 1000), which is how the loader names it. */
function keyIs(key: unknown, name: string): boolean {
  return isScalar(key) && (typeof key.source === 'string' ? key.source : String(key.value)) === name;
}

function getPair(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => isPair(p) && keyIs(p.key, key)) as Pair | undefined;
}

function lineEnd(text: string, pos: number): number {
  const i = text.indexOf('\n', pos);
  return i < 0 ? text.length : i;
}

function columnOf(text: string, pos: number): number {
  return pos - (text.lastIndexOf('\n', pos - 1) + 1);
}

function flowWeights(weights: Record<string, number>): string {
  return `{ ${Object.entries(weights).map(([k, v]) => `${k}: ${v}`).join(', ')} }`;
}

interface Edit {
  at: number;
  remove: number;
  insert: string;
}

/** Adds `key: value` to a map node (flow or block), after its last item. */
function addToMap(text: string, map: YAMLMap, key: string, value: string): Edit {
  const last = map.items[map.items.length - 1] as Pair | undefined;
  const lastEnd = last ? ((last.value as { range?: number[] } | null)?.range?.[1] ?? (last.key as { range: number[] }).range[1]) : undefined;
  if (map.flow) {
    if (lastEnd === undefined) {
      const open = map.range![0];
      return { at: open + 1, remove: 0, insert: ` ${key}: ${value} ` };
    }
    return { at: lastEnd, remove: 0, insert: `, ${key}: ${value}` };
  }
  if (lastEnd === undefined) throw new Error('cannot add to an empty block map');
  const indent = ' '.repeat(columnOf(text, (last!.key as { range: number[] }).range[0]));
  // A block scalar (`|`, as every `!vault |` value is) ends past its last line break: the new
  // line goes right after its text, not after the next line.
  if (lastEnd > 0 && text[lastEnd - 1] === '\n') return { at: lastEnd - 1, remove: 0, insert: `\n${indent}${key}: ${value}` };
  // After the end of the last item's line, so a trailing comment stays where it was.
  return { at: lineEnd(text, lastEnd), remove: 0, insert: `\n${indent}${key}: ${value}` };
}

/** Sets each link's weight inside an existing multilink_weights map, keeping the others. */
function editWeightsMap(text: string, map: YAMLMap, weights: Record<string, number>): Edit[] {
  const edits: Edit[] = [];
  for (const [link, w] of Object.entries(weights)) {
    const pair = getPair(map, link);
    const value = pair?.value as { range?: number[] } | null | undefined;
    if (pair && value?.range) edits.push({ at: value.range[0], remove: value.range[1] - value.range[0], insert: String(w) });
    else edits.push(addToMap(text, map, link, String(w)));
  }
  return edits;
}

/** Finds the map that holds a level's vars; creating is described by the returned edit. */
function findGroup(map: YAMLMap, name: string): YAMLMap | undefined {
  const children = getPair(map, 'children')?.value;
  if (!isMap(children)) return undefined;
  for (const p of children.items as Pair[]) {
    if (keyIs(p.key, name) && isMap(p.value)) return p.value;
    if (isMap(p.value)) {
      const found = findGroup(p.value, name);
      if (found) return found;
    }
  }
  return undefined;
}

function findHost(map: YAMLMap, name: string): { parent: YAMLMap; pair: Pair } | undefined {
  const hosts = getPair(map, 'hosts')?.value;
  if (isMap(hosts)) {
    const pair = getPair(hosts, name);
    if (pair) return { parent: hosts, pair };
  }
  const children = getPair(map, 'children')?.value;
  if (!isMap(children)) return undefined;
  for (const p of children.items as Pair[]) {
    if (!isMap(p.value)) continue;
    const found = findHost(p.value, name);
    if (found) return found;
  }
  return undefined;
}

function apply(text: string, edits: Edit[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.at - a.at)) out = out.slice(0, e.at) + e.insert + out.slice(e.at + e.remove);
  return out;
}

/** In a map of vars: set the weights in multilink_weights, adding it if absent. */
function setInVars(text: string, vars: YAMLMap, weights: Record<string, number>): string {
  const existing = getPair(vars, KEY);
  if (existing && isMap(existing.value)) return apply(text, editWeightsMap(text, existing.value, weights));
  if (existing) throw new Error(`${KEY} is not a map here`);
  return apply(text, [addToMap(text, vars, KEY, flowWeights(weights))]);
}

/** A group_vars/host_vars file: its top-level map holds the vars. */
export function setWeightsInVarsFile(text: string, weights: Record<string, number>): string {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error(doc.errors[0].message);
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return `${text}${text.endsWith('\n') || text === '' ? '' : '\n'}${KEY}: ${flowWeights(weights)}\n`;
  if (!isMap(doc.contents)) throw new Error('the vars file is not a map');
  return setInVars(text, doc.contents, weights);
}

/** The inventory file: weights at `all`, a group or a host. */
export function setWeightsInInventory(text: string, level: WeightsLevel, weights: Record<string, number>): string {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error(doc.errors[0].message);
  const root = doc.contents;
  const all = isMap(root) ? getPair(root, 'all')?.value : undefined;
  if (!isMap(all)) throw new Error('the inventory has no `all:` map');
  if (level.kind === 'host') {
    const found = findHost(all, level.name);
    if (!found) throw new Error(`host ${level.name} is not in the inventory file`);
    const v = found.pair.value;
    if (isMap(v)) return setInVars(text, v, weights);
    if (v === null || (isScalar(v) && v.value === null)) {
      const keyEnd = (found.pair.key as { range: number[] }).range[1];
      const colon = text.indexOf(':', keyEnd);
      return apply(text, [{ at: colon + 1, remove: (isScalar(v) && v.range ? v.range[1] : colon + 1) - (colon + 1), insert: ` { ${KEY}: ${flowWeights(weights)} }` }]);
    }
    throw new Error(`host ${level.name}'s entry is not a map`);
  }
  const where = level.kind === 'all' ? 'all' : `group ${level.name}`;
  const group = level.kind === 'all' ? all : findGroup(all, level.name);
  if (!group) throw new Error(`${where} is not in the inventory file`);
  const vars = getPair(group, 'vars')?.value;
  if (isMap(vars)) return setInVars(text, vars, weights);
  // No vars yet: add a vars block to the group, indented like its other keys.
  const first = group.items[0] as Pair | undefined;
  if (!first || group.flow) throw new Error(`cannot add vars to ${where}`);
  const indent = ' '.repeat(columnOf(text, (first.key as { range: number[] }).range[0]));
  const last = group.items[group.items.length - 1] as Pair;
  const end = (last.value as { range?: number[] } | null)?.range?.[1] ?? (last.key as { range: number[] }).range[1];
  const at = end > 0 && text[end - 1] === '\n' ? end - 1 : lineEnd(text, end);
  return apply(text, [{ at, remove: 0, insert: `\n${indent}vars:\n${indent}  ${KEY}: ${flowWeights(weights)}` }]);
}
