// Fact: the rules of one netfilter table, from iptables-save (legacy or nft flavour).
import type { NetfilterTable } from '../model/desired.js';
import type { LiveChain, LiveTable } from '../model/facts.js';

/**
 * Shell function over $ML_SAVE (set by the flavour detection): drops the comment lines
 * (they carry a date) and chain counters, so the same rules always print the same bytes
 * and a live state can be compared with an earlier one.
 */
export const IPTABLES_SAVE_FUNCTION = `ml_save() {
  ml_o=$("$ML_SAVE" -t "$1") || return $?
  printf '%s\\n' "$ml_o" | sed -e '/^#/d' -e 's/ \\[[0-9]*:[0-9]*\\]$//'
}`;

export function iptablesSaveCommand(table: NetfilterTable): string {
  return `ml_save ${table}`;
}

/**
 * Parses iptables-save output (with or without -c counters). Comments, the table header
 * and COMMIT are skipped; a missing table (no output) is an empty table.
 */
export function parseIptablesSave(text: string): LiveTable {
  const chains = new Map<string, LiveChain>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\[\d+:\d+\] /, '').trimEnd();
    if (line === '' || line.startsWith('#') || line.startsWith('*') || line === 'COMMIT') continue;
    if (line.startsWith(':')) {
      const m = /^:(\S+) (\S+)/.exec(line);
      if (m) chains.set(m[1], { name: m[1], policy: m[2], rules: [] });
      continue;
    }
    const m = /^-A (\S+)(?: (.*))?$/.exec(line);
    if (!m) continue;
    let chain = chains.get(m[1]);
    if (!chain) {
      chain = { name: m[1], policy: '-', rules: [] };
      chains.set(m[1], chain);
    }
    chain.rules.push(m[2] ?? '');
  }
  return { chains: [...chains.values()] };
}

/** The ML_ chain a rule jumps or goes to, if any. */
export function jumpTarget(rule: string): string | undefined {
  const m = /(?:^| )-[jg] (ML_\S+)/.exec(rule);
  return m?.[1];
}
