// The inventory as understood, in the shapes ansible-inventory prints: --list (groups with
// hosts and children, _meta.hostvars), --host (one host's vars), --graph (the tree), so the
// output of the two tools can be diffed.
import { randomBytes } from 'node:crypto';
import type { Inventory } from '../model/inventory.js';
import { PyJson } from './yaml-source.js';

export interface InventoryListing {
  _meta: { hostvars: Record<string, Record<string, unknown>> };
  [group: string]: { hosts?: string[]; children?: string[] } | InventoryListing['_meta'];
}

/** Vars Ansible adds by itself and ansible-inventory leaves out. */
const INTERNAL_VARS = new Set([
  'ansible_diff_mode',
  'ansible_config_file',
  'ansible_facts',
  'ansible_forks',
  'ansible_inventory_sources',
  'ansible_limit',
  'ansible_playbook_python',
  'ansible_run_tags',
  'ansible_skip_tags',
  'ansible_verbosity',
  'ansible_version',
  'inventory_dir',
  'inventory_file',
  'inventory_hostname',
  'inventory_hostname_short',
  'groups',
  'group_names',
  'omit',
  'playbook_dir',
]);

export function hostVarsOf(inventory: Inventory, host: string): Record<string, unknown> {
  const h = inventory.hosts.get(host);
  const vars = h?.printedVars?.() ?? h?.vars ?? {};
  return Object.fromEntries(Object.entries(vars).filter(([k]) => !INTERNAL_VARS.has(k)));
}

/**
 * `ansible-inventory --list`: every group reachable from `all` with its direct hosts and
 * children (empty lists left out, empty groups too), and the vars of `hosts` (default: all).
 * A --limit keeps only its hosts, as ansible-inventory 2.16+ does.
 */
export function inventoryListing(inventory: Inventory, hosts: readonly string[] = [...inventory.hosts.keys()]): InventoryListing {
  const available = new Set(hosts);
  const out: InventoryListing = { _meta: { hostvars: {} } };
  const seen = new Set<string>();
  const visit = (name: string): void => {
    const g = inventory.groups.get(name);
    if (!g) return;
    const entry: { hosts?: string[]; children?: string[] } = {};
    const direct = name === 'all' ? [] : g.hosts.filter((h) => available.has(h));
    if (direct.length > 0) entry.hosts = direct;
    if (g.children.length > 0) entry.children = [...g.children];
    if (direct.length > 0 || g.children.length > 0) out[name] = entry;
    for (const c of g.children) {
      if (seen.has(c)) continue;
      seen.add(c);
      visit(c);
    }
  };
  visit('all');
  for (const h of hosts) {
    const vars = hostVarsOf(inventory, h);
    if (Object.keys(vars).length > 0) out._meta.hostvars[h] = vars;
  }
  return out;
}

/**
 * `ansible-inventory --graph [GROUP]`: child groups first, then the group's own hosts. With
 * `hosts` (a --limit), only those hosts and the groups that hold one of them somewhere below.
 */
export function inventoryGraph(inventory: Inventory, group = 'all', hosts?: readonly string[]): string {
  const selected = hosts === undefined ? undefined : new Set(hosts);
  const holds = (name: string, seen = new Set<string>()): boolean => {
    const g = inventory.groups.get(name);
    if (!g || seen.has(name)) return false;
    seen.add(name);
    return g.hosts.some((h) => selected === undefined || selected.has(h)) || g.children.some((c) => holds(c, seen));
  };
  const lines: string[] = [];
  const line = (text: string, depth: number): string => (depth ? `${'  |'.repeat(depth)}--${text}` : text);
  const visit = (name: string, depth: number): void => {
    const g = inventory.groups.get(name);
    if (!g) return;
    lines.push(line(`@${name}:`, depth));
    for (const c of g.children) if (selected === undefined || holds(c)) visit(c, depth + 1);
    if (name !== 'all') for (const h of g.hosts) if (selected === undefined || selected.has(h)) lines.push(line(h, depth + 1));
  };
  visit(group, 0);
  return lines.join('\n');
}

/**
 * JSON as ansible-inventory writes it: keys sorted, four-space indent, numbers and timestamps
 * in Python's form (PyJson: `6.0`, `NaN`, every digit of a big int), which goes in through a
 * placeholder string no value can hold (it names a random token).
 */
export function ansibleJson(value: unknown): string {
  const token = `\u0000py-${randomBytes(8).toString('hex')}:`;
  const text = JSON.stringify(sortKeys(value, token), null, 4);
  const placeholder = new RegExp(`"${JSON.stringify(token).slice(1, -1).replace(/\\/g, '\\\\')}((?:[^"\\\\]|\\\\.)*)"`, 'g');
  return text.replace(placeholder, (_, json: string) => JSON.parse(`"${json}"`) as string);
}

function sortKeys(value: unknown, token: string): unknown {
  if (value instanceof PyJson) return `${token}${value.json}`;
  if (Array.isArray(value)) return value.map((v) => sortKeys(v, token));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v, token)]));
}
