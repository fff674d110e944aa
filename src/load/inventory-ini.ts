// INI inventories by the rules of Ansible's ini plugin: hosts before any section are
// `ungrouped`; [g] lists hosts (`name[:port] key=value…`, ranges), [g:vars] one `key=value`
// per line, [g:children] group names; values are Python literals where they parse as one.
// Unlike Ansible, every problem is reported (with line:column), not only the first.
import type { SourcePos } from '../model/source.js';
import type { InventoryBuilder } from './inventory-builder.js';
import { HostRangeError, parseHostEntry } from './host-range.js';
import { parsePythonLiteral, PyNum, UnusableLiteral, type PyValue } from './python-literal.js';
import { ShellWordsError, splitShellWords } from './shell-words.js';
import type { VarDef } from './template.js';
import { checkVarName } from './var-table.js';
import type { YValue } from './yaml-source.js';

/** `[group]`, `[group:vars]`, `[group:children]`, with an optional comment. */
export const INI_SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/;
const GROUP_NAME = /^([^:\]\s]+)\s*(?:#.*)?$/;

type State = 'hosts' | 'vars' | 'children' | 'skip';

interface Pending {
  state: 'vars' | 'children';
  pos: SourcePos;
  /** For children: the sections that named the group, with where. */
  parents: { name: string; pos: SourcePos }[];
}

/** How a message quotes the file's text: not at all when the file was vault-encrypted. */
type Quote = (text: string) => string;
const HIDDEN = '<not shown: the file is vault-encrypted>';

/** `secret`: the text was decrypted from a vault-encrypted file; messages never quote its lines or values. */
export function readIniInventory(text: string, file: string, b: InventoryBuilder, options: { secret?: boolean } = {}): void {
  const q: Quote = options.secret ? () => HIDDEN : (t) => t;
  const pending = new Map<string, Pending>();
  let group = 'ungrouped';
  let state: State = 'hosts';
  text.split(/\r\n|\r|\n/).forEach((raw, index) => {
    const lead = raw.length - raw.trimStart().length;
    const line = raw.trim();
    const at = (offset = 0): SourcePos => ({ file, line: index + 1, col: lead + offset + 1 });
    if (line === '' || line[0] === '#' || line[0] === ';') return;
    const section = INI_SECTION.exec(line);
    if (section) {
      group = section[1];
      const kind = section[2] ?? 'hosts';
      if (kind !== 'hosts' && kind !== 'vars' && kind !== 'children') {
        b.r.error(`section [${group}:${kind}] has unknown type '${kind}'; expected [${group}], [${group}:vars] or [${group}:children]`, { pos: at(group.length + 2) });
        state = 'skip';
        return;
      }
      state = kind;
      // [g:vars] alone does not declare g; [g] or [g:children] must, somewhere in the file.
      if (!b.raw.groups.has(group) && state === 'vars' && !pending.has(group)) pending.set(group, { state, pos: at(), parents: [] });
      b.group(group, at(1));
      if (state !== 'vars') declare(group, pending, b);
      return;
    }
    if (line.startsWith('[') && line.endsWith(']')) {
      b.r.error(`invalid section ${q(line)}: expected [group], [group:vars] or [group:children], without spaces`, { pos: at() });
      state = 'skip';
      return;
    }
    if (state === 'hosts') readHostLine(line, group, at, b, q);
    else if (state === 'vars') readVarLine(line, group, at, b, q);
    else if (state === 'children') readChildLine(line, group, at, pending, b, q);
  });
  for (const [name, p] of pending) {
    if (p.state === 'vars') b.r.error(`section [${name}:vars] is for a group that is never declared: add a [${name}] or [${name}:children] section`, { pos: p.pos });
    else for (const parent of p.parents) b.r.error(`[${parent.name}:children] names group '${name}', which is never declared: add a [${name}] section`, { pos: parent.pos });
  }
}

/** A group is declared: edges that waited for it are added (Ansible's pending declarations). */
function declare(group: string, pending: Map<string, Pending>, b: InventoryBuilder): void {
  const p = pending.get(group);
  if (!p) return;
  pending.delete(group);
  if (p.state === 'vars') return;
  for (const parent of p.parents) {
    b.addChild(parent.name, group, parent.pos);
    if (pending.get(parent.name)?.state === 'children') declare(parent.name, pending, b);
  }
}

function readHostLine(line: string, group: string, at: (offset?: number) => SourcePos, b: InventoryBuilder, q: Quote): void {
  let words;
  try {
    words = splitShellWords(line);
  } catch (e) {
    if (!(e instanceof ShellWordsError)) throw e;
    b.r.error(`host line: ${e.message.toLowerCase()}`, { pos: at(e.index) });
    return;
  }
  if (words.length === 0) return;
  const [entryWord, ...assignments] = words;
  const entryText = entryWord.text;
  let entry;
  try {
    entry = parseHostEntry(entryText);
  } catch (e) {
    if (!(e instanceof HostRangeError)) throw e;
    if (words.length === 1 && line.startsWith('[') && !line.includes(']')) {
      b.r.error(`invalid section ${q(line)}: expected [group], [group:vars] or [group:children]`, { pos: at() });
    } else b.r.error(e.message, { pos: at(entryWord.start + e.offset) });
    return;
  }
  if (entryText.trim() === '') {
    b.r.error('host name must not be empty', { pos: at(entryWord.start) });
    return;
  }
  if (entryText.endsWith(':') && entry.port === undefined) {
    b.r.error(`host '${entryText}' ends in ':' without a port: ':' is reserved for host:port`, { pos: at(entryWord.start + entryText.length - 1) });
    return;
  }
  if (entry.names.some((n) => n.trim() === '---')) {
    b.r.error("host '---' is a sign of a YAML file: give YAML inventories a .yaml or .yml name", { pos: at(entryWord.start) });
    return;
  }
  const defs: VarDef[] = [];
  for (const w of assignments) {
    const eq = w.text.indexOf('=');
    if (eq < 0) {
      b.r.error(`expected key=value after the host name, got '${q(w.text)}' (quote values with spaces: key="a b")`, { pos: at(w.start) });
      continue;
    }
    const name = w.text.slice(0, eq);
    const keyPos = at(w.start);
    if (!checkVarName(name, keyPos, `host ${entryText}`, b.r)) continue;
    const value = iniValue(w.text.slice(eq + 1), at(w.start + eq + 1), b, q);
    if (value) defs.push({ name, value, keyPos });
  }
  const pos = at(entryWord.start);
  const port = entry.port === undefined ? undefined : { value: entry.port, pos };
  for (const name of entry.names) {
    b.addHost(name, group, pos, port);
    for (const def of defs) b.setHostVar(name, def);
  }
}

function readVarLine(line: string, group: string, at: (offset?: number) => SourcePos, b: InventoryBuilder, q: Quote): void {
  const eq = line.indexOf('=');
  if (eq < 0) {
    b.r.error(`[${group}:vars]: expected key=value, got '${q(line)}'`, { pos: at() });
    return;
  }
  const name = line.slice(0, eq).trim();
  const keyPos = at();
  if (!checkVarName(name, keyPos, `[${group}:vars]`, b.r)) return;
  const rest = line.slice(eq + 1);
  const valueOffset = eq + 1 + (rest.length - rest.trimStart().length);
  const value = iniValue(rest.trim(), at(valueOffset), b, q);
  if (value) b.setGroupVar(group, { name, value, keyPos });
}

function readChildLine(line: string, parent: string, at: (offset?: number) => SourcePos, pending: Map<string, Pending>, b: InventoryBuilder, q: Quote): void {
  const m = GROUP_NAME.exec(line);
  if (!m) {
    b.r.error(`[${parent}:children]: expected a group name, got '${q(line)}'`, { pos: at() });
    return;
  }
  const child = m[1];
  const pos = at();
  if (b.raw.groups.has(child)) {
    b.addChild(parent, child, pos);
    return;
  }
  // Named before it is declared: the edge waits for its [child] section.
  const p = pending.get(child);
  if (p) p.parents.push({ name: parent, pos });
  else pending.set(child, { state: 'children', pos, parents: [{ name: parent, pos }] });
}

/** A value as Ansible keeps it: the Python literal it spells, else the text itself. */
function iniValue(text: string, pos: SourcePos, b: InventoryBuilder, q: Quote): YValue | undefined {
  let literal;
  try {
    literal = parsePythonLiteral(text, true);
  } catch (e) {
    if (!(e instanceof UnusableLiteral)) throw e;
    b.r.error(`value ${q(text)} is a Python ${e.message}, which Ansible cannot use either; quote it to keep it as a string`, { pos });
    return undefined;
  }
  if (!literal) return { kind: 'scalar', value: text, pos };
  const value = toYValue(literal.value, pos);
  // Numbers keep the text as written, for messages (0x10, 1_000).
  if (value.kind === 'scalar' && typeof value.value === 'number') value.text = text.replace(/\s*#.*$/, '');
  return value;
}

function toYValue(v: PyValue, pos: SourcePos): YValue {
  if (v instanceof PyNum) return { kind: 'scalar', value: v.value, pos, py: v.py };
  if (Array.isArray(v)) return { kind: 'seq', items: v.map((i) => toYValue(i, pos)), pos };
  if (v !== null && typeof v === 'object') {
    return { kind: 'map', entries: Object.entries(v).map(([key, value]) => ({ key, keyPos: pos, value: toYValue(value, pos) })), pos };
  }
  return { kind: 'scalar', value: v, pos };
}
