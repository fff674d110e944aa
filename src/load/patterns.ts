// Ansible host patterns, for a play's `hosts:` and for --limit, evaluated as Ansible's
// InventoryManager does: `a,b` (or `a:b`), `all`/`*`, globs, `~regex`, `&` intersections
// and `!` exclusions applied after the unions, subscripts `g[0]`, `g[-1]`, `g[0:2]`, `g[1:]`
// in Ansible's host order, and for --limit `@file` (one pattern per line).
import { readFileSync, statSync } from 'node:fs';
import { createContext, runInContext, type Context } from 'node:vm';
import type { Inventory } from '../model/inventory.js';
import { isHostAddress } from './host-range.js';

export interface PatternMatch {
  /** Matching hosts, in Ansible's order for the pattern. */
  hosts: string[];
  /** Names (without ! or &) that match no host or group: each one is a mistake worth reporting. */
  unmatched: string[];
  /** Terms Ansible refuses: a bad regex, a subscript beyond the hosts it selects, a missing @file. */
  problems: string[];
}

const SUBSCRIPT = /^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$/;

/** Splits on commas; without commas on ':' unless the whole pattern is one host (IPv6, r[1:3], r1:22). */
export function splitPattern(pattern: string): string[] {
  let parts: string[];
  if (pattern.includes(',')) parts = pattern.split(',');
  else if (isHostAddress(pattern)) parts = [pattern];
  else parts = pattern.match(/(?:[^\s:[\]]|\[[^\]]*\])+/g) ?? [];
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

export function matchPattern(pattern: string, inventory: Inventory): PatternMatch {
  return evaluate(splitPattern(pattern), inventory);
}

/**
 * --limit: the hosts of the inventory, in Ansible's order, that the pattern selects.
 * `@file` terms read one pattern per line from a file (relative to the working folder).
 */
export function matchLimit(limit: string, inventory: Inventory): PatternMatch {
  const terms: string[] = [];
  const problems: string[] = [];
  for (const term of splitPattern(limit)) {
    if (!term.startsWith('@')) {
      terms.push(term);
      continue;
    }
    const file = term.slice(1);
    try {
      if (!statSync(file).isFile()) throw new Error('not a file');
      terms.push(...readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== ''));
    } catch (e) {
      problems.push(`--limit ${term}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  const selected = evaluate(terms, inventory);
  const chosen = new Set(selected.hosts);
  const hosts = terms.length === 0 ? [] : hostOrder('all', inventory).filter((h) => chosen.has(h));
  return { hosts, unmatched: selected.unmatched, problems: [...problems, ...selected.problems] };
}

function evaluate(patterns: string[], inventory: Inventory): PatternMatch {
  const unmatched: string[] = [];
  const problems: string[] = [];
  let hosts: string[] = [];
  for (const p of orderTerms(patterns)) {
    if (inventory.hosts.has(p)) {
      hosts.push(p);
      continue;
    }
    const op = p[0] === '!' || p[0] === '&' ? p[0] : '';
    const term = op ? p.slice(1) : p;
    const that = matchOne(term, inventory, unmatched, problems);
    if (op === '!') {
      const out = new Set(that);
      hosts = hosts.filter((h) => !out.has(h));
    } else if (op === '&') {
      const keep = new Set(that);
      hosts = hosts.filter((h) => keep.has(h));
    } else {
      const existing = new Set(hosts);
      hosts.push(...that.filter((h) => !existing.has(h)));
    }
  }
  return { hosts: [...new Set(hosts)], unmatched, problems };
}

/** Unions first, then intersections, then exclusions, whatever the order written; only & and ! start from all. */
function orderTerms(terms: string[]): string[] {
  const regular = terms.filter((t) => t[0] !== '!' && t[0] !== '&');
  const intersect = terms.filter((t) => t[0] === '&');
  const exclude = terms.filter((t) => t[0] === '!');
  return [...(regular.length > 0 ? regular : ['all']), ...intersect, ...exclude];
}

function matchOne(pattern: string, inventory: Inventory, unmatched: string[], problems: string[]): string[] {
  let expr = pattern;
  let subscript: [number, number | undefined] | undefined;
  const m = pattern[0] === '~' ? null : SUBSCRIPT.exec(pattern);
  if (m) {
    expr = m[1];
    subscript = m[2] !== undefined ? [Number(m[2]), undefined] : [Number(m[3]), m[5] === '' ? -1 : Number(m[5])];
  }
  const re = compile(expr);
  if (!re) {
    problems.push(`host pattern '${pattern}': invalid regular expression`);
    return [];
  }
  const names = (all: Iterable<string>): string[] | undefined => {
    // A plain name compiles to a literal: only a regex or a glob can backtrack.
    const matched = expr[0] === '~' || /[*?[]/.test(expr) ? guardedFilter(re, [...all]) : [...all].filter((n) => re.test(n));
    if (matched === undefined) problems.push(`host pattern '${pattern}': matching it took more than ${MATCH_BUDGET_MS / 1000} s (a regular expression that backtracks, like (a+)+): write it another way`);
    return matched;
  };
  const groups = names(inventory.groups.keys());
  if (groups === undefined) return [];
  const found = groups.flatMap((g) => hostOrder(g, inventory));
  if (groups.length === 0 || expr[0] === '~' || /[.?*[]/.test(expr)) {
    const hosts = names(inventory.hosts.keys());
    if (hosts === undefined) return [];
    found.push(...hosts);
  }
  if (found.length === 0 && groups.length === 0 && expr !== 'all') unmatched.push(pattern);
  if (!subscript || found.length === 0) return found;
  // Python's indexing and slicing, as Ansible applies them to the matched hosts.
  const [start, end] = subscript;
  if (end) return found.slice(start, (end === -1 ? found.length - 1 : end) + 1);
  const index = start < 0 ? found.length + start : start;
  if (index < 0 || index >= found.length) {
    problems.push(`host pattern '${pattern}': no host at index ${start} (it selects ${found.length})`);
    return [];
  }
  return [found[index]];
}

/** `~` takes a regex matched at the start of the name; anything else is a whole-name glob. */
function compile(expr: string): RegExp | undefined {
  try {
    return expr[0] === '~' ? new RegExp(`^(?:${expr.slice(1)})`) : new RegExp(`^${globToRegex(expr)}$`, 's');
  } catch {
    return undefined;
  }
}

/** How long one pattern may take against an inventory's names. */
export const MATCH_BUDGET_MS = 1000;

/**
 * The names the expression matches, or undefined when that took more than the budget. A
 * pattern (a playbook's hosts:, --limit) and the names (an inventory script fed by a CMDB)
 * may both come from outside, and JavaScript's backtracking engine takes exponential time on
 * some expressions ((a+)+$ on 30 characters: seconds): V8 can interrupt a script run in a vm
 * context, a regular expression's backtracking included.
 */
function guardedFilter(re: RegExp, names: string[]): string[] | undefined {
  guard ??= createContext({});
  guard.re = re;
  guard.names = names;
  try {
    // Copied out: an array made in the context belongs to its realm.
    return [...(runInContext('names.filter((name) => re.test(name))', guard, { timeout: MATCH_BUDGET_MS }) as string[])];
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return undefined;
    throw e;
  } finally {
    guard.names = [];
  }
}

let guard: Context | undefined;

/** Python's fnmatch.translate: * ? [seq] [!seq]; a [ without its ] is literal. */
export function globToRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      let j = i + 1;
      if (glob[j] === '!') j++;
      if (glob[j] === ']') j++;
      while (j < glob.length && glob[j] !== ']') j++;
      if (j >= glob.length) {
        out += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, j).replace(/\\/g, '\\\\');
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      else if (body.startsWith('^')) body = `\\${body}`;
      out += `[${body.replace(/\[/g, '\\[')}]`;
      i = j;
    } else out += c.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  }
  return out;
}

/**
 * The hosts of a group as Ansible lists them: its own, then its children's, then theirs,
 * level by level, each host once. (Ansible visits groups of one level beyond the first in
 * Python set order; here they go in the order they were found.)
 */
export function hostOrder(group: string, inventory: Inventory): string[] {
  const ordered: string[] = [group];
  const seen = new Set<string>([group]);
  let level = [group];
  while (level.length > 0) {
    const next: string[] = [];
    for (const g of level) {
      for (const c of inventory.groups.get(g)?.children ?? []) {
        if (seen.has(c)) continue;
        seen.add(c);
        ordered.push(c);
        next.push(c);
      }
    }
    level = next;
  }
  return [...new Set(ordered.flatMap((g) => inventory.groups.get(g)?.hosts ?? []))];
}

