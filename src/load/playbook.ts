// A playbook file: a list of plays. This checks the shape, which no host's vars can change
// (keys, lists, mappings); values are templated and checked per host in play-config.ts.
import type { Diagnostics } from '../diagnostics.js';
import type { SourcePos } from '../model/source.js';
import { Reporter } from './report.js';
import { hasTemplate } from './template.js';
import type { VaultKeyring } from './vault.js';
import { findEntry, readYamlFile, type YMap, type YValue } from './yaml-source.js';

export const PLAY_KEYS = ['name', 'hosts', 'balance', 'links', 'exceptions', 'helpers', 'rp_filter', 'health'] as const;
export const BALANCE_KEYS = ['method', 'traffic', 'lan'] as const;
export const LINK_KEYS = ['name', 'interface', 'gateway', 'gateway6', 'weight', 'masquerade', 'masquerade6', 'tier', 'inbound', 'min_share', 'max_share'] as const;
export const EXCEPTION_KEYS = ['destination', 'source', 'in', 'protocol', 'ports', 'via'] as const;
export const HEALTH_KEYS = ['targets', 'interval', 'down_after', 'up_after', 'quorum'] as const;

export interface PlayNode {
  file: string;
  name: string;
  pos: SourcePos;
  /** The host pattern; empty when missing or unusable (already reported). */
  hosts: string;
  hostsPos: SourcePos;
  balance?: YMap;
  links: YMap[];
  /** The `links:` value, where per-play link problems (all weights 0) are reported. */
  linksAt: SourcePos;
  exceptions: YMap[];
  helpers?: YValue;
  rpFilter?: YValue;
  health?: YMap;
}

/** A playbook encrypted as a whole file is decrypted with `vault`'s passwords, as Ansible does. */
export function loadPlaybook(file: string, diags: Diagnostics, ref?: SourcePos, vault?: VaultKeyring): PlayNode[] {
  const root = readYamlFile(file, diags, { summary: 'playbook file not found', pos: ref }, vault);
  if (!root) return [];
  const r = new Reporter(diags);
  if (root.kind !== 'seq') {
    r.error('playbook: expected a list of plays (- name: ..., hosts: ..., links: ...)', root);
    return [];
  }
  return root.items.flatMap((item, i) => {
    if (item.kind === 'map') return [readPlay(item, file, i + 1, r)];
    r.error('play: expected a mapping with hosts and links', item);
    return [];
  });
}

function readPlay(map: YMap, file: string, index: number, r: Reporter): PlayNode {
  r.checkKeys(map, PLAY_KEYS, 'play');
  r.requireKeys(map, ['hosts'], 'play');
  const get = (key: string): YValue | undefined => findEntry(map, key)?.value;
  const links = get('links');
  if (links === undefined || (links.kind === 'seq' && links.items.length === 0)) {
    r.warning('play has no links: it configures nothing on its hosts', links ?? map);
  }
  return {
    file,
    name: playName(get('name'), index, r),
    pos: map.pos,
    ...hostPattern(get('hosts'), map.pos, r),
    balance: section(get('balance'), 'balance', BALANCE_KEYS, r),
    links: entries(links, 'link', LINK_KEYS, ['name', 'interface', 'gateway'], r),
    linksAt: links?.pos ?? map.pos,
    exceptions: entries(get('exceptions'), 'exception', EXCEPTION_KEYS, ['via'], r),
    helpers: get('helpers'),
    rpFilter: get('rp_filter'),
    health: section(get('health'), 'health', HEALTH_KEYS, r, ['targets']),
  };
}

function playName(node: YValue | undefined, index: number, r: Reporter): string {
  if (node === undefined) return `play ${index}`;
  if (node.kind === 'scalar' && typeof node.value === 'string' && node.value.trim()) return node.value;
  r.error('play name: expected a non-empty string', node);
  return `play ${index}`;
}

/** Patterns are matched before any host is known, so they cannot use host vars. */
function hostPattern(node: YValue | undefined, fallback: SourcePos, r: Reporter): { hosts: string; hostsPos: SourcePos } {
  if (node === undefined) return { hosts: '', hostsPos: fallback };
  const text = node.kind === 'scalar' && (typeof node.value === 'string' || typeof node.value === 'number') ? String(node.value) : '';
  if (!text.trim()) r.error('hosts: expected a host pattern like edge, all or a:!b', node);
  else if (hasTemplate(text)) r.error('hosts: templates are not supported in host patterns', node);
  else return { hosts: text, hostsPos: node.pos };
  return { hosts: '', hostsPos: node.pos };
}

function section(
  node: YValue | undefined,
  what: string,
  keys: readonly string[],
  r: Reporter,
  required: readonly string[] = [],
): YMap | undefined {
  if (node === undefined || (node.kind === 'scalar' && node.value === null)) return undefined;
  if (node.kind !== 'map') {
    r.error(`${what}: expected a mapping with ${keys.join(', ')}`, node);
    return undefined;
  }
  r.checkKeys(node, keys, what);
  r.requireKeys(node, required, what);
  return node;
}

function entries(
  node: YValue | undefined,
  what: string,
  keys: readonly string[],
  required: readonly string[],
  r: Reporter,
): YMap[] {
  if (node === undefined || (node.kind === 'scalar' && node.value === null)) return [];
  if (node.kind !== 'seq') {
    r.error(`${what}s: expected a list of mappings`, node);
    return [];
  }
  return node.items.flatMap((item) => {
    const map = section(item, what, keys, r, required);
    if (!map && item.kind === 'scalar' && item.value === null) r.error(`${what}: expected a mapping with ${keys.join(', ')}`, item);
    return map ? [map] : [];
  });
}
