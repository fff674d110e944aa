// How the load stage words and places its diagnostics: the offending node's position, the
// value as the user wrote it, and for templated values where the var came from.
import type { Diagnostics } from '../diagnostics.js';
import { formatPos, type SourcePos } from '../model/source.js';
import type { ValueOrigin, YMap, YValue } from './yaml-source.js';

interface Located {
  pos: SourcePos;
  origin?: ValueOrigin;
}

/** The value as it reads in the file, e.g. `'wan 1'`, `-1`, `a list`. */
export function show(node: YValue): string {
  const plain = showPlain(node);
  if (!node.origin) return plain;
  const from = node.origin.vars.map((v) => `${v.name} set at ${formatPos(v.pos)}`).join(', ');
  return `'${node.origin.template}' = ${plain} (${from})`;
}

function showPlain(node: YValue): string {
  if (node.kind === 'map') return 'a mapping';
  if (node.kind === 'seq') return 'a list';
  if (node.kind === 'vault') return 'a vaulted value';
  // Decrypted text is never quoted: a message is printed, logged, kept in CI output.
  if (node.secret) return 'a value from the vault (not shown)';
  if (node.value === null) return 'nothing';
  if (typeof node.value === 'string') return `'${node.value}'`;
  return node.text ?? String(node.value);
}

/** What kind of value a node is, for "got a …": list, mapping, scalar or vaulted value. */
export function kindOf(node: YValue): string {
  return { seq: 'list', map: 'mapping', scalar: 'scalar', vault: 'vaulted value' }[node.kind];
}

/** " (did you mean 'x'?)" when a candidate is one or two edits away, else "". */
export function didYouMean(word: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best === undefined ? '' : ` (did you mean '${best}'?)`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/**
 * Pushes diagnostics for one host (or for no host). The host is named only when the value
 * depends on it (it came from a template) or the caller says so, so the same mistake in a
 * playbook shared by many hosts is reported once after de-duplication.
 */
export class Reporter {
  constructor(
    readonly diags: Diagnostics,
    readonly host?: string,
  ) {}

  error(summary: string, at: Located, options: { link?: string; perHost?: boolean; detail?: string } = {}): void {
    const host = at.origin || options.perHost ? this.host : undefined;
    const extra = { ...(host ? { host } : {}), ...(options.link ? { link: options.link } : {}), ...(options.detail ? { detail: options.detail } : {}) };
    this.diags.error(summary, { pos: at.pos, ...extra });
  }

  warning(summary: string, at: Located): void {
    this.diags.warning(summary, { pos: at.pos });
  }

  /** Every key of `map` must be in `allowed`; `what` names the map ("link", "play"...). */
  checkKeys(map: YMap, allowed: readonly string[], what: string): void {
    for (const e of map.entries) {
      if (allowed.includes(e.key)) continue;
      this.error(`unknown key '${e.key}' in ${what}${didYouMean(e.key, allowed)}; expected one of ${allowed.join(', ')}`, {
        pos: e.keyPos,
      });
    }
  }

  /** Required keys missing from `map`, reported at the map. Returns whether all are there. */
  requireKeys(map: YMap, required: readonly string[], what: string): boolean {
    const missing = required.filter((k) => !map.entries.some((e) => e.key === k));
    if (missing.length > 0) this.error(`${what} is missing ${missing.map((k) => `'${k}'`).join(', ')}`, map);
    return missing.length === 0;
  }
}
