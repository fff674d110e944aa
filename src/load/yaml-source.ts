// Reads YAML into a small located tree (YValue), so every later check can point at
// file:line:column. The only module of the load stage that touches the `yaml` package.
import { readFileSync } from 'node:fs';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type ScalarTag, type CollectionTag } from 'yaml';
import type { Diagnostics } from '../diagnostics.js';
import type { SourcePos } from '../model/source.js';
import { openFileText, VaultKeyring } from './vault.js';
import { pyNumberJson } from './py-number.js';
import { resolvePlainScalarForm } from './yaml11-scalars.js';

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
  /** Written `!unsafe` (or inside an `!unsafe` list or mapping): a string never templated. */
  unsafe?: true;
  /** Decrypted from Ansible Vault (a vaulted value, or any value of an encrypted file): messages never show it. */
  secret?: true;
  /** The JSON Ansible prints for this value where JavaScript's differs: `6.0`, `Infinity`, an int beyond 2^53, a timestamp's isoformat (py-number.ts). */
  py?: string;
}

/**
 * An inline vaulted value (`!vault |`, or JSON's {"__ansible_vault": …}), kept encrypted: it is
 * decrypted only where a value is used (template.ts), so what is never used needs no password.
 * It is not a scalar until then, so no reader can take the ciphertext for the value.
 */
export interface YVault {
  kind: 'vault';
  /** The vault text as written: "$ANSIBLE_VAULT;1.1;AES256\n6162…\n". */
  ciphertext: string;
  pos: SourcePos;
  origin?: ValueOrigin;
}

export interface YEntry {
  key: string;
  /** The key was written as a number (`1234:`), which Ansible takes for no host name. */
  numericKey?: true;
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

export type YValue = YScalar | YMap | YSeq | YVault;

interface Converter {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
  diags: Diagnostics;
  /** Nodes being converted: an alias back to one of them is a cycle. */
  stack: Set<unknown>;
  /** The text is JSON: its scalars follow JSON's rules, not YAML 1.1's. */
  json: boolean;
  text: string;
  /** Nodes converted through aliases so far, and how many they may be (see aliasNodeCap). */
  aliasNodes: number;
  maxAliasNodes: number;
  /** The outermost alias being expanded: where an expansion past the cap is reported. */
  alias?: { name: string; pos: SourcePos };
  /** Anchored nodes by name, in document order (the yaml package's resolve() walks the whole document per alias). */
  anchors: Map<string, { offset: number; node: unknown }[]>;
}

/**
 * How many nodes aliases may add: a few thousand, or ten times the nodes written in the text.
 * A "billion laughs" (each level a list of aliases to the level before) multiplies the text
 * tenfold per level; it is refused in milliseconds here instead of filling gigabytes, while
 * an inventory that reuses an anchor for every host stays far below.
 */
export function aliasNodeCap(writtenNodes: number): number {
  return 5000 + 10 * writtenNodes;
}

class AliasExpansionError extends Error {
  constructor(
    readonly alias: string,
    readonly pos: SourcePos,
  ) {
    super('alias expansion');
  }
}

/** The nodes written in the text (an alias counts as one) and its anchors, in one walk. */
function indexDocument(doc: Document.Parsed): { written: number; anchors: Converter['anchors'] } {
  let written = 0;
  const anchors: Converter['anchors'] = new Map();
  visit(doc, (_key, node) => {
    written += 1;
    const anchor = (node as { anchor?: string } | null)?.anchor;
    if (anchor) anchors.set(anchor, [...(anchors.get(anchor) ?? []), { offset: offsetOf(node as { range?: [number, number, number] }), node }]);
  });
  return { written, anchors };
}

/** An alias names the last node anchored so before it (an anchor may be defined again). */
function aliasTarget(alias: { source: string; range?: [number, number, number] | null }, c: Converter): unknown {
  const at = offsetOf(alias);
  let found: unknown;
  for (const a of c.anchors.get(alias.source) ?? []) if (a.offset < at) found = a.node;
  return found;
}

/** Ansible's own YAML tags: the text of a vaulted value, and values never templated. */
const ANSIBLE_TAGS: (ScalarTag | CollectionTag)[] = [
  ...['!vault', '!vault-encrypted', '!unsafe'].map((tag): ScalarTag => ({ tag, resolve: (text: string) => text })),
  ...(['map', 'seq'] as const).map((collection): CollectionTag => ({ tag: '!unsafe', collection, resolve: (node) => node })),
];
const VAULT_TAGS = ['!vault', '!vault-encrypted'];

/**
 * Parses YAML text. Ansible reads inventories with PyYAML, i.e. YAML 1.1, so plain scalars
 * are resolved by PyYAML's rules (yaml11-scalars.ts): `yes`/`no` are booleans, `e1` a name. Returns undefined when the text has syntax errors (each one is a
 * diagnostic): checking a half-parsed tree would only add confusing follow-up errors.
 */
export function parseYaml(text: string, file: string, diags: Diagnostics): YValue | undefined {
  const lines = new LineCounter();
  // Ansible's loader tries JSON first: text that is JSON follows JSON's rules (1e3 is a number).
  const json = isJson(text);
  const options = json ? ({ version: '1.2', schema: 'json' } as const) : ({ version: '1.1', customTags: ANSIBLE_TAGS } as const);
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
  const { written, anchors } = indexDocument(doc);
  const cap = aliasNodeCap(written);
  try {
    return convert(doc.contents, { file, doc, lines, diags, stack: new Set(), json, text, aliasNodes: 0, maxAliasNodes: cap, anchors }, 0);
  } catch (e) {
    if (!(e instanceof AliasExpansionError)) throw e;
    diags.error(
      `YAML alias *${e.alias} and the aliases in it expand to more than ${cap.toLocaleString('en')} nodes (an alias bomb?): write the values out, or nest fewer aliases`,
      { pos: e.pos },
    );
    return undefined;
  }
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

/**
 * Reads and parses a file; `missing` is the message used when it does not exist. A whole
 * vault-encrypted file is decrypted first with `vault`'s passwords (as Ansible's loader does).
 */
export function readYamlFile(
  file: string,
  diags: Diagnostics,
  missing: { summary: string; pos?: SourcePos },
  vault: VaultKeyring = new VaultKeyring(),
): YValue | undefined {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') diags.error(`${missing.summary}: ${file}`, { pos: missing.pos });
    else diags.error(`cannot read ${file}: ${(e as Error).message}`, { pos: missing.pos });
    return undefined;
  }
  const opened = openFileText(raw, file, vault, diags);
  if (!opened) return undefined;
  const node = parseYaml(opened.text, file, diags);
  return node && opened.decrypted ? markSecret(node) : node;
}

/** Every value of a decrypted file is as secret as the file: marks them so messages never quote them. */
export function markSecret(node: YValue): YValue {
  if (node.kind === 'scalar') node.secret = true;
  else if (node.kind === 'seq') node.items.forEach(markSecret);
  else if (node.kind === 'map') node.entries.forEach((e) => markSecret(e.value));
  return node;
}

/** `!unsafe` on a list or mapping makes every string in it unsafe, as Ansible's wrap_var does. */
function markUnsafe(node: YValue): YValue {
  if (node.kind === 'scalar' && typeof node.value === 'string') node.unsafe = true;
  else if (node.kind === 'seq') node.items.forEach(markUnsafe);
  else if (node.kind === 'map') node.entries.forEach((e) => markUnsafe(e.value));
  return node;
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
  if (c.alias && ++c.aliasNodes > c.maxAliasNodes) throw new AliasExpansionError(c.alias.name, c.alias.pos);
  if (isAlias(node)) {
    const target = aliasTarget(node, c);
    if (!target || c.stack.has(target)) {
      c.diags.error(`YAML alias *${node.source} is undefined or refers to itself`, { pos });
      return { kind: 'scalar', value: null, pos };
    }
    if (c.alias) return convert(target, c, fallback);
    c.alias = { name: node.source, pos };
    try {
      return convert(target, c, fallback);
    } finally {
      c.alias = undefined;
    }
  }
  c.stack.add(node);
  try {
    const tag = (node as { tag?: string } | null)?.tag;
    if (tag !== undefined && VAULT_TAGS.includes(tag)) {
      if (isScalar(node) && typeof node.value === 'string') return { kind: 'vault', ciphertext: node.value, pos: tagPos(tag, node, c) ?? pos };
      c.diags.error(`${tag}: expected the vault text ($ANSIBLE_VAULT;…) as a string, like ansible-vault encrypt_string writes it`, { pos });
      return { kind: 'scalar', value: null, pos };
    }
    if (tag === '!unsafe') {
      // PyYAML's construct_scalar: an !unsafe scalar is its text (`!unsafe 5` is "5").
      if (isScalar(node)) return { kind: 'scalar', value: String(node.value ?? ''), pos, unsafe: true };
      if (isMap(node)) return markUnsafe(convertMap(node.items, pos, c));
      if (isSeq(node)) return markUnsafe({ kind: 'seq', items: node.items.map((item) => convert(item, c, offsetOf(node))), pos });
    }
    if (isMap(node)) return c.json ? convertJsonObject(node.items, pos, c) : convertMap(node.items, pos, c);
    if (isSeq(node)) return { kind: 'seq', items: node.items.map((item) => convert(item, c, offsetOf(node))), pos };
    if (isScalar(node)) {
      const { value, py } = scalarForm(node, c);
      const scalar: YScalar = typeof value === 'number' && node.source ? { kind: 'scalar', value, text: node.source, pos } : { kind: 'scalar', value, pos };
      if (py !== undefined) scalar.py = py;
      return scalar;
    }
    return { kind: 'scalar', value: null, pos };
  } finally {
    c.stack.delete(node);
  }
}

/** Where `!vault` is written before its value (as PyYAML marks a tagged node), when it is on the same line. */
function tagPos(tag: string, node: { range?: [number, number, number] | null }, c: Converter): SourcePos | undefined {
  const start = offsetOf(node);
  const before = c.text.slice(0, start).replace(/[ \t]*$/, '');
  return before.endsWith(tag) ? { file: c.file, ...c.lines.linePos(before.length - tag.length) } : undefined;
}

function offsetOf(node: { range?: [number, number, number] | null }): number {
  return node.range ? node.range[0] : 0;
}

interface PairLike {
  key: unknown;
  value: unknown;
}

/**
 * Ansible's JSON decoder turns an object with a key __ansible_vault into a vaulted value and
 * one with __ansible_unsafe into an unsafe one (the first such key wins, other keys are
 * dropped): what ansible-inventory --list prints reads back as what it was.
 */
function convertJsonObject(items: PairLike[], pos: SourcePos, c: Converter): YValue {
  for (const pair of items) {
    const key = isScalar(pair.key) ? pair.key.value : undefined;
    if (key === '__ansible_vault' && isScalar(pair.value) && typeof pair.value.value === 'string') {
      return { kind: 'vault', ciphertext: pair.value.value, pos: posOf(pair.value, c) };
    }
    if (key === '__ansible_unsafe') return markUnsafe(convert(pair.value, c, 0));
  }
  return convertMap(items, pos, c);
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
    const keyValue = pair.key === null ? '' : scalarForm(pair.key, c);
    const key = typeof keyValue === 'string' ? keyValue : keyText(keyValue);
    const value = pair.value === null ? { kind: 'scalar' as const, value: null, pos: keyPos } : convert(pair.value, c, 0);
    entries.push(typeof keyValue !== 'string' && typeof keyValue.value === 'number' ? { key, keyPos, value, numericKey: true } : { key, keyPos, value });
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

/**
 * A plain, untagged scalar of YAML text by PyYAML's rules; any other the yaml package's value.
 * `py`: the JSON Ansible prints for it where JavaScript's differs (a JSON source's floats and
 * big ints too: JSON's `6.0` and `1e3` are floats for Python).
 */
function scalarForm(node: ScalarLike, c: Converter): { value: ScalarValue; py?: string } {
  if (!c.json && node.type === 'PLAIN' && !node.tag && typeof node.source === 'string') return resolvePlainScalarForm(node.source);
  const value = scalarValue(node.value, node.source);
  if (c.json && typeof value === 'number' && node.source !== undefined) {
    const py = pyNumberJson(value, /[.eE]/.test(node.source), node.source);
    if (py !== undefined) return { value, py };
  }
  return { value };
}

/** A key as Ansible's JSON prints it: Python's json.dumps of a number key is its repr (`6.0`, `16` for 0x10, `Infinity`). */
function keyText(form: { value: ScalarValue; py?: string }): string {
  const { value, py } = form;
  if (typeof value === 'number' && py !== undefined) return py;
  return String(value);
}

/** Timestamps, binary and other exotic YAML 1.1 types are kept as the text the user wrote. */
function scalarValue(value: unknown, source: string | undefined): ScalarValue {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return value;
  }
  return source ?? String(value);
}

/**
 * Plain JS value of a located tree (what Inventory.vars holds). Vaulted and unsafe values
 * become the objects ansible-inventory prints for them: {"__ansible_vault": "<vault text>"}
 * and {"__ansible_unsafe": "<text>"}; a vaulted value is never decrypted here.
 */
export function toJS(node: YValue): unknown {
  switch (node.kind) {
    case 'vault':
      return { __ansible_vault: node.ciphertext };
    case 'scalar':
      return node.unsafe ? { __ansible_unsafe: String(node.value) } : node.value;
    case 'seq':
      return node.items.map(toJS);
    case 'map':
      return Object.fromEntries(node.entries.map((e) => [e.key, toJS(e.value)]));
  }
}

/** A value whose JSON is given as text (Python's form of a number or timestamp): see ansibleJson. */
export class PyJson {
  constructor(readonly json: string) {}
}

/** toJS, with the numbers and timestamps Python would print otherwise as PyJson: for `inventory --list`. */
export function toPyJS(node: YValue): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.py !== undefined && !node.unsafe ? new PyJson(node.py) : toJS(node);
    case 'seq':
      return node.items.map(toPyJS);
    case 'map':
      return Object.fromEntries(node.entries.map((e) => [e.key, toPyJS(e.value)]));
    case 'vault':
      return toJS(node);
  }
}

export function findEntry(map: YMap, key: string): YEntry | undefined {
  return map.entries.find((e) => e.key === key);
}
