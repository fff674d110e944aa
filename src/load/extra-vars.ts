// -e/--extra-vars as Ansible reads them (utils/vars.py load_extra_vars): `@file` (YAML or
// JSON, vault-encrypted too), inline YAML/JSON starting with { or [, else key=value words
// (parsing/splitter.py parse_kv: values are strings). Repeated, later ones win per name;
// together they win over every other definition, as in Ansible.
import type { Diagnostics } from '../diagnostics.js';
import type { SourcePos } from '../model/source.js';
import { Reporter } from './report.js';
import type { VarTable } from './template.js';
import { checkVarName, mergeVars, readVarMap } from './var-table.js';
import { VaultKeyring } from './vault.js';
import { parseYaml, readYamlFile, type YValue } from './yaml-source.js';

/** Where a command-line value was given: "--extra-vars:N:COL" for the N-th -e. */
export const EXTRA_VARS_SOURCE = '--extra-vars';

export function readExtraVars(args: readonly string[], diags: Diagnostics, vault: VaultKeyring = new VaultKeyring()): VarTable {
  const r = new Reporter(diags);
  const tables = args.map((arg, i): VarTable => {
    const pos: SourcePos = { file: EXTRA_VARS_SOURCE, line: i + 1, col: 1 };
    if (arg === '') return new Map();
    if (arg.startsWith('@')) {
      const node = readYamlFile(arg.slice(1), diags, { summary: '-e @FILE: file not found', pos }, vault);
      return node ? asVars(node, arg.slice(1), r) : new Map();
    }
    if (arg.startsWith('/') || arg.startsWith('.')) {
      diags.error(`-e ${JSON.stringify(arg)}: a file of extra vars is given as @${arg}`, { pos });
      return new Map();
    }
    if (arg.startsWith('{') || arg.startsWith('[')) {
      const node = parseYaml(arg, EXTRA_VARS_SOURCE, diags);
      return node ? asVars(node, '-e', r, i + 1) : new Map();
    }
    return keyValues(arg, pos, r);
  });
  return mergeVars(...tables);
}

/** Inline YAML is parsed as line 1 of its own text: its N-th -e is given as line N. */
function asVars(node: YValue, what: string, r: Reporter, line?: number): VarTable {
  if (line !== undefined) shiftLine(node, line);
  if (node.kind !== 'map') {
    r.error(`${what}: extra vars must be a mapping of name: value (Ansible: could not be made into a dictionary)`, node);
    return new Map();
  }
  return readVarMap(node, what === '-e' ? 'extra vars' : what, r);
}

function shiftLine(node: YValue, line: number): void {
  node.pos = { ...node.pos, line: node.pos.line + line - 1 };
  if (node.kind === 'map') {
    for (const e of node.entries) {
      e.keyPos = { ...e.keyPos, line: e.keyPos.line + line - 1 };
      shiftLine(e.value, line);
    }
  } else if (node.kind === 'seq') for (const item of node.items) shiftLine(item, line);
}

/** parse_kv: words split as Ansible's split_args (quotes kept, blanks outside them separate), each KEY=VALUE. */
function keyValues(arg: string, at: SourcePos, r: Reporter): VarTable {
  const table: VarTable = new Map();
  const words = splitArgs(arg);
  if (words === undefined) {
    r.error(`-e ${JSON.stringify(arg)}: a quote is not closed`, { pos: at });
    return table;
  }
  for (const w of words) {
    const pos = { ...at, col: w.start + 1 };
    const text = decodeEscapes(w.text);
    const eq = firstUnescapedEquals(text);
    if (eq === undefined) {
      r.error(`-e: ${JSON.stringify(w.text)} is not KEY=VALUE; extra vars are KEY=VALUE words, JSON or YAML in { }, or @FILE`, { pos });
      continue;
    }
    const name = text.slice(0, eq).trim();
    if (!checkVarName(name, pos, 'extra vars', r)) continue;
    const value = unquote(text.slice(eq + 1).trim());
    table.set(name, { name, value: { kind: 'scalar', value, pos: { ...pos, col: pos.col + eq + 1 } }, keyPos: pos });
  }
  return table;
}

function firstUnescapedEquals(text: string): number | undefined {
  for (let i = 1; i < text.length; i++) if (text[i] === '=' && text[i - 1] !== '\\') return i;
  return undefined;
}

/** Words separated by blanks outside quotes; quotes stay in the word (split_args keeps them). */
function splitArgs(text: string): { text: string; start: number }[] | undefined {
  const words: { text: string; start: number }[] = [];
  let quote: string | undefined;
  let current: { text: string; start: number } | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote === undefined && /\s/.test(c)) {
      if (current) words.push(current);
      current = undefined;
      continue;
    }
    current ??= { text: '', start: i };
    current.text += c;
    if (c === '\\' && i + 1 < text.length) {
      current.text += text[++i];
      continue;
    }
    if (quote === undefined && (c === '"' || c === "'")) quote = c;
    else if (c === quote) quote = undefined;
  }
  if (quote !== undefined) return undefined;
  if (current) words.push(current);
  return words;
}

/** Ansible's unquote: one pair of matching quotes around the whole value goes. */
function unquote(text: string): string {
  return text.length >= 2 && (text[0] === '"' || text[0] === "'") && text.endsWith(text[0]) ? text.slice(1, -1) : text;
}

const ESCAPES: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** _decode_escapes: Python's backslash escapes (\n, \t, \xHH, \uHHHH, \UHHHHHHHH, octal). */
function decodeEscapes(text: string): string {
  return text.replace(/\\(U[0-9A-Fa-f]{8}|u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|[0-7]{1,3}|[\\'"abfnrtv])/g, (_, e: string) => {
    if (/^[Uux]/.test(e)) return String.fromCodePoint(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCodePoint(parseInt(e, 8));
    return ESCAPES[e];
  });
}
