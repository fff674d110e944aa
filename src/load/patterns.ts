// Ansible host patterns, for a play's `hosts:` and for --limit:
// all, *, names, globs, a:b (union), a:!b (exclude), a:&b (intersect), ',' as ':'.
import type { Inventory } from '../model/inventory.js';

export interface PatternMatch {
  /** Matching hosts, in inventory order. */
  hosts: string[];
  /** Names (without ! or &) that match no host or group: each one is a mistake worth reporting. */
  unmatched: string[];
}

export function matchPattern(pattern: string, inventory: Inventory): PatternMatch {
  const unmatched: string[] = [];
  let selected = new Set<string>();
  for (const term of orderTerms(splitPattern(pattern))) {
    const op = term[0] === '!' || term[0] === '&' ? term[0] : '';
    const name = op ? term.slice(1) : term;
    const found = matchTerm(name, inventory);
    if (!found) unmatched.push(name);
    const hosts = found ?? new Set<string>();
    if (op === '!') selected = new Set([...selected].filter((h) => !hosts.has(h)));
    else if (op === '&') selected = new Set([...selected].filter((h) => hosts.has(h)));
    else for (const h of hosts) selected.add(h);
  }
  return { hosts: [...inventory.hosts.keys()].filter((h) => selected.has(h)), unmatched };
}

export function splitPattern(pattern: string): string[] {
  return pattern
    .split(/[,:]/)
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

/**
 * Ansible evaluates unions first, then intersections, then exclusions, whatever the
 * order written; with only ! and & terms it starts from `all`.
 */
function orderTerms(terms: string[]): string[] {
  const regular = terms.filter((t) => t[0] !== '!' && t[0] !== '&');
  const intersect = terms.filter((t) => t[0] === '&');
  const exclude = terms.filter((t) => t[0] === '!');
  return [...(regular.length > 0 ? regular : ['all']), ...intersect, ...exclude];
}

/** Hosts a single term names, or undefined when it names no host and no group. */
function matchTerm(term: string, inventory: Inventory): Set<string> | undefined {
  if (term === 'all' || term === '*') return new Set(inventory.hosts.keys());
  const test = /[*?]/.test(term) ? globTest(term) : (name: string) => name === term;
  const groups = [...inventory.groups.keys()].filter(test);
  const hosts = [...inventory.hosts.keys()].filter(test);
  if (groups.length === 0 && hosts.length === 0) return undefined;
  const out = new Set(hosts);
  for (const g of groups) for (const h of groupHosts(g, inventory)) out.add(h);
  return out;
}

function globTest(glob: string): (name: string) => boolean {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  const re = new RegExp(`^${body}$`);
  return (name) => re.test(name);
}

/** Hosts of a group, directly or through its children. */
export function groupHosts(group: string, inventory: Inventory): string[] {
  return [...inventory.hosts.values()].filter((h) => h.groups.includes(group)).map((h) => h.name);
}
