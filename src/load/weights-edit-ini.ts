// Writes multilink_weights into an INI inventory as a person would: the value in the
// level's [group:vars] section (or [all:vars]), or on the host's own line; every other line,
// comment and blank stays as it was. Values are Python dict literals, as Ansible reads them.
import { INI_SECTION } from './inventory-ini.js';
import { parseHostEntry } from './host-range.js';
import { parsePythonLiteral, type PyValue } from './python-literal.js';
import { splitShellWords, type Word } from './shell-words.js';
import type { WeightsLevel } from './weights-edit.js';

const KEY = 'multilink_weights';

interface Line {
  text: string;
  /** The section the line belongs to: [group] is 'hosts' (ungrouped before any section). */
  group: string;
  kind: 'hosts' | 'vars' | 'children' | 'other';
  /** The line is the section header itself. */
  header: boolean;
}

function classify(lines: string[]): Line[] {
  let group = 'ungrouped';
  let kind: Line['kind'] = 'hosts';
  return lines.map((text) => {
    const m = INI_SECTION.exec(text.trim());
    if (m) {
      group = m[1];
      const k = m[2] ?? 'hosts';
      kind = k === 'hosts' || k === 'vars' || k === 'children' ? k : 'other';
      return { text, group, kind, header: true };
    }
    return { text, group, kind, header: false };
  });
}

function isContent(text: string): boolean {
  const t = text.trim();
  return t !== '' && t[0] !== '#' && t[0] !== ';';
}

function pyDict(weights: Record<string, number>): string {
  return `{${Object.entries(weights).map(([k, v]) => `'${k}': ${v}`).join(', ')}}`;
}

/** Where a Python comment starts in `text` (outside string literals), or -1. */
function commentStart(text: string): number {
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (text.startsWith(quote, i)) {
        i += quote.length - 1;
        quote = '';
      }
    } else if (c === '#') return i;
    else if (c === "'" || c === '"') quote = text.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
  }
  return -1;
}

/** The existing weights merged with the new ones, existing links first, in their order. */
function merged(existing: string, weights: Record<string, number>, where: string): string {
  const parsed = parsePythonLiteral(existing);
  const value: PyValue | undefined = parsed?.value;
  if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${KEY} on ${where} is not a mapping ({'link': weight}): ${existing}`);
  }
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === 'number') out[k] = v;
  return pyDict({ ...out, ...weights });
}

function setInVars(lines: Line[], group: string, weights: Record<string, number>): Line[] {
  const inSection = lines.map((l, i) => ({ l, i })).filter(({ l }) => l.group === group && l.kind === 'vars');
  // The last definition is the one Ansible keeps: edit that one.
  const defining = inSection.filter(({ l }) => !l.header && isContent(l.text) && l.text.split('=')[0].trim() === KEY).pop();
  if (defining) {
    const text = defining.l.text;
    const eq = text.indexOf('=');
    const rest = text.slice(eq + 1);
    const lead = rest.slice(0, rest.length - rest.trimStart().length);
    const value = rest.trim();
    const hash = commentStart(value);
    // A trailing comment stays, but only where Ansible would have read it as one.
    const literal = hash >= 0 && parsePythonLiteral(value) ? value.slice(0, hash).trimEnd() : value;
    const comment = literal === value ? '' : value.slice(literal.length);
    const next = merged(literal, weights, `[${group}:vars] (line ${defining.i + 1})`);
    const out = [...lines];
    out[defining.i] = { ...defining.l, text: `${text.slice(0, eq + 1)}${lead}${next}${comment}` };
    return out;
  }
  const added: Line = { text: `${KEY}=${pyDict(weights)}`, group, kind: 'vars', header: false };
  if (inSection.length === 0) {
    const out = [...lines];
    while (out.length > 0 && out[out.length - 1].text.trim() === '') out.pop();
    return [...out, { text: '', group, kind: 'other', header: false }, { text: `[${group}:vars]`, group, kind: 'vars', header: true }, added];
  }
  // After the last line of the last [group:vars] section that says something.
  const lastHeader = inSection.filter(({ l }) => l.header).pop()?.i ?? inSection[0].i;
  let at = lastHeader;
  for (let i = lastHeader + 1; i < lines.length && lines[i].group === group && lines[i].kind === 'vars' && !lines[i].header; i++) {
    if (isContent(lines[i].text)) at = i;
  }
  return [...lines.slice(0, at + 1), added, ...lines.slice(at + 1)];
}

function hostWords(line: Line): Word[] | undefined {
  if (line.header || line.kind !== 'hosts' || !isContent(line.text)) return undefined;
  try {
    return splitShellWords(line.text);
  } catch {
    return undefined;
  }
}

function setOnHost(lines: Line[], host: string, weights: Record<string, number>): Line[] {
  const defining: { i: number; words: Word[] }[] = [];
  for (const [i, line] of lines.entries()) {
    const words = hostWords(line);
    if (!words || words.length === 0) continue;
    let names: string[];
    try {
      names = parseHostEntry(words[0].text).names;
    } catch {
      continue;
    }
    if (!names.includes(host)) continue;
    if (names.length > 1) {
      throw new Error(`host ${host} is written as the range ${words[0].text} on line ${i + 1}: put its weights in host_vars/${host}.yml`);
    }
    defining.push({ i, words });
  }
  if (defining.length === 0) throw new Error(`host ${host} is not in the inventory file`);
  // The last line that sets the key wins in Ansible, else the host's last line gets it.
  const withKey = defining.filter((d) => d.words.slice(1).some((w) => w.text.startsWith(`${KEY}=`))).pop();
  const target = withKey ?? defining[defining.length - 1];
  const text = lines[target.i].text;
  const out = [...lines];
  if (withKey) {
    const word = [...withKey.words].reverse().find((w) => w.text.startsWith(`${KEY}=`)) as Word;
    const next = merged(word.text.slice(KEY.length + 1), weights, `host ${host} (line ${target.i + 1})`);
    out[target.i] = { ...lines[target.i], text: `${text.slice(0, word.start)}${KEY}="${next}"${text.slice(word.end)}` };
  } else {
    const last = target.words[target.words.length - 1];
    out[target.i] = { ...lines[target.i], text: `${text.slice(0, last.end)} ${KEY}="${pyDict(weights)}"${text.slice(last.end)}` };
  }
  return out;
}

/** The INI inventory with the weights set at `level`. Throws when the level is not in the file. */
export function setWeightsInIni(text: string, level: WeightsLevel, weights: Record<string, number>): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const raw = text.split(/\r?\n/);
  const trailingNewline = raw[raw.length - 1] === '';
  if (trailingNewline) raw.pop();
  const lines = classify(raw);
  let out: Line[];
  if (level.kind === 'host') out = setOnHost(lines, level.name, weights);
  else {
    const group = level.kind === 'all' ? 'all' : level.name;
    if (group !== 'all' && !lines.some((l) => l.header && l.group === group)) throw new Error(`group ${group} is not in the inventory file`);
    out = setInVars(lines, group, weights);
  }
  return out.map((l) => l.text).join(eol) + (trailingNewline || out.length > raw.length ? eol : '');
}
