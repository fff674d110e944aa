// Reads YAML into a small located tree (YValue), so every later check can point at
// file:line:column. The only module of the load stage that touches the `yaml` package.
import { readFileSync } from 'node:fs';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { Diagnostics } from '../diagnostics.js';
import type { SourcePos } from '../model/source.js';
import { resolvePlainScalar } from './yaml11-scalars.js';

/** Set on values produced by a {{ var }} template, so a bad value can name its source. */
export interface ValueOrigin {
  template: string;
  host: string;
  vars: { name: string; pos: SourcePos }[];
}

export type ScalarValue = string | number | boolean | null;

export interface YScalar {
  kind: 'scalar';
  value: ScalarValue;
  /** A number as written (0xf0f0, 010), so messages quote the user's text. */
  text?: string;
  pos: SourcePos;
  origin?: ValueOrigin;
}

export interface YEntry {
  key: string;
  keyPos: SourcePos;
  value: YValue;
}

export interface YMap {
  kind: 'map';
  entries: YEntry[];
  pos: SourcePos;
  origin?: ValueOrigin;
}

export interface YSeq {
  kind: 'seq';
  items: YValue[];
  pos: SourcePos;
  origin?: ValueOrigin;
}

export type YValue = YScalar | YMap | YSeq;

interface Converter {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
  diags: Diagnostics;
  /** Nodes being converted: an alias back to one of them is a cycle. */
  stack: Set<unknown>;
  /** The text is JSON: its scalars follow JSON's rules, not YAML 1.1's. */
  json: boolean;
}

/**
 * Parses YAML text. Ansible reads inventories with PyYAML, i.e. YAML 1.1, so plain scalars
 * are resolved by PyYAML's rules (yaml11-scalars.ts): `yes`/`no` are booleans, `e1` a name. Returns undefined when the text has syntax errors (each one is a
 * diagnostic): checking a half-parsed tree would only add confusing follow-up errors.
 */
export function parseYaml(text: string, file: string, diags: Diagnostics): YValue | undefined {
  const lines = new LineCounter();
  // Ansible's loader tries JSON first: text that is JSON follows JSON's rules (1e3 is a number).
  const json = isJson(text);
  const options = json ? ({ version: '1.2', schema: 'json' } as const) : ({ version: '1.1' } as const);
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, ...options });
  const at = (offset: number): SourcePos => ({ file, ...lines.linePos(offset) });
  // Text meant as JSON (a .json inventory or vars file) that is not YAML either: JSON's own words.
  const jsonError = doc.errors.length > 0 ? jsonSyntaxError(text) : undefined;
  if (jsonError) {
    diags.error(`JSON syntax: ${jsonError.message}`, { pos: at(jsonError.offset) });
    return undefined;
  }
  for (const e of doc.errors) diags.error(`YAML syntax: ${firstLine(e.message)}`, { pos: at(e.pos[0]) });
  for (const w of doc.warnings) diags.warning(`YAML: ${firstLine(w.message)}`, { pos: at(w.pos[0]) });
  if (doc.errors.length > 0) return undefined;
  return convert(doc.contents, { file, doc, lines, diags, stack: new Set(), json }, 0);
}

function jsonSyntaxError(text: string): { message: string; offset: number } | undefined {
  if (!/^\s*[[{]/.test(text)) return undefined;
  try {
    JSON.parse(text);
    return undefined;
  } catch (e) {
    const m = /^(.*?) in JSON at position (\d+)/.exec((e as Error).message);
    return m ? { message: m[1], offset: Number(m[2]) } : undefined;
  }
}

function isJson(text: string): boolean {
  if (!/^\s*[[{"]/.test(text)) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Reads and parses a file; `missing` is the message used when it does not exist. */
export function readYamlFile(
  file: string,
  diags: Diagnostics,
  missing: { summary: string; pos?: SourcePos },
): YValue | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') diags.error(`${missing.summary}: ${file}`, { pos: missing.pos });
    else diags.error(`cannot read ${file}: ${(e as Error).message}`, { pos: missing.pos });
    return undefined;
  }
  return parseYaml(text, file, diags);
}

function firstLine(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}

function posOf(node: unknown, c: Converter, fallback = 0): SourcePos {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return { file: c.file, ...c.lines.linePos(range ? range[0] : fallback) };
}

function convert(node: unknown, c: Converter, fallback: number): YValue {
  const pos = posOf(node, c, fallback);
  if (isAlias(node)) {
    const target = node.resolve(c.doc);
    if (!target || c.stack.has(target)) {
      c.diags.error(`YAML alias *${node.source} is undefined or refers to itself`, { pos });
      return { kind: 'scalar', value: null, pos };
    }
    return convert(target, c, fallback);
  }
  c.stack.add(node);
  try {
    if (isMap(node)) return convertMap(node.items, pos, c);
    if (isSeq(node)) return { kind: 'seq', items: node.items.map((item) => convert(item, c, offsetOf(node))), pos };
    if (isScalar(node)) {
      const value = scalarOf(node, c);
      return typeof value === 'number' && node.source ? { kind: 'scalar', value, text: node.source, pos } : { kind: 'scalar', value, pos };
    }
    return { kind: 'scalar', value: null, pos };
  } finally {
    c.stack.delete(node);
  }
}

function offsetOf(node: { range?: [number, number, number] | null }): number {
  return node.range ? node.range[0] : 0;
}

interface PairLike {
  key: unknown;
  value: unknown;
}

function convertMap(items: PairLike[], pos: SourcePos, c: Converter): YMap {
  const entries: YEntry[] = [];
  const merged: YEntry[] = [];
  for (const pair of items) {
    const keyPos = posOf(pair.key, c);
    if (isScalar(pair.key) && typeof pair.key.value === 'symbol') {
      merged.push(...mergeEntries(pair.value, c, keyPos));
      continue;
    }
    if (pair.key !== null && !isScalar(pair.key)) {
      c.diags.error('YAML: mapping keys must be plain strings', { pos: keyPos });
      continue;
    }
    const key = pair.key === null ? '' : String(scalarOf(pair.key, c));
    const value = pair.value === null ? { kind: 'scalar' as const, value: null, pos: keyPos } : convert(pair.value, c, 0);
    entries.push({ key, keyPos, value });
  }
  // YAML merge keys (<<: *base): explicit keys win over merged ones, whatever their order.
  const explicit = new Set(entries.map((e) => e.key));
  for (const e of merged) {
    if (explicit.has(e.key)) continue;
    explicit.add(e.key);
    entries.push(e);
  }
  return { kind: 'map', entries, pos };
}

function mergeEntries(value: unknown, c: Converter, keyPos: SourcePos): YEntry[] {
  const source = convert(value, c, 0);
  const maps = source.kind === 'seq' ? source.items : [source];
  const out: YEntry[] = [];
  for (const m of maps) {
    if (m.kind === 'map') out.push(...m.entries);
    else c.diags.error('YAML merge key <<: expected a mapping or a list of mappings', { pos: keyPos });
  }
  return out;
}

interface ScalarLike {
  value: unknown;
  source?: string;
  type?: string;
  tag?: string;
}

/** A plain, untagged scalar of YAML text by PyYAML's rules; any other the yaml package's value. */
function scalarOf(node: ScalarLike, c: Converter): ScalarValue {
  if (!c.json && node.type === 'PLAIN' && !node.tag && typeof node.source === 'string') return resolvePlainScalar(node.source);
  return scalarValue(node.value, node.source);
}

/** Timestamps, binary and other exotic YAML 1.1 types are kept as the text the user wrote. */
function scalarValue(value: unknown, source: string | undefined): ScalarValue {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return value;
  }
  return source ?? String(value);
}

/** Plain JS value of a located tree (what Inventory.vars holds). */
export function toJS(node: YValue): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(toJS);
    case 'map':
      return Object.fromEntries(node.entries.map((e) => [e.key, toJS(e.value)]));
  }
}

export function findEntry(map: YMap, key: string): YEntry | undefined {
  return map.entries.find((e) => e.key === key);
}
