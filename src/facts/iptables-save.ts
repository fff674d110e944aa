// Fact: the rules of one netfilter table, from iptables-save (legacy or nft flavour).
import type { NetfilterTable } from '../model/desired.js';
import type { CountedChain, CountedTable, LiveChain, LiveTable } from '../model/facts.js';

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

/** Shell function over $ML_SAVE: the table with packet and byte counters (-c), comment lines dropped. */
export const IPTABLES_SAVE_COUNTERS_FUNCTION = `ml_save_counters() {
  ml_o=$("$ML_SAVE" -c -t "$1") || return $?
  printf '%s\\n' "$ml_o" | sed -e '/^#/d'
}`;

export function iptablesSaveCountersCommand(table: NetfilterTable): string {
  return `ml_save_counters ${table}`;
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

/**
 * Parses `iptables-save -c` output, keeping the counters: `[PACKETS:BYTES] -A CHAIN rule` for
 * rules and `:CHAIN POLICY [PACKETS:BYTES]` for chains. A rule printed without counters
 * counts 0. Same chain and rule text as parseIptablesSave, so the two compare directly.
 */
export function parseIptablesSaveCounters(text: string): CountedTable {
  const chains = new Map<string, CountedChain>();
  const chainOf = (name: string): CountedChain => {
    let chain = chains.get(name);
    if (!chain) {
      chain = { name, policy: '-', packets: 0, bytes: 0, rules: [] };
      chains.set(name, chain);
    }
    return chain;
  };
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line === '' || line.startsWith('#') || line.startsWith('*') || line === 'COMMIT') continue;
    const decl = /^:(\S+) (\S+)(?: \[(\d+):(\d+)\])?$/.exec(line);
    if (decl) {
      chains.set(decl[1], { name: decl[1], policy: decl[2], packets: Number(decl[3] ?? 0), bytes: Number(decl[4] ?? 0), rules: [] });
      continue;
    }
    const rule = /^(?:\[(\d+):(\d+)\] )?-A (\S+)(?: (.*))?$/.exec(line);
    if (!rule) continue;
    chainOf(rule[3]).rules.push({ rule: rule[4] ?? '', packets: Number(rule[1] ?? 0), bytes: Number(rule[2] ?? 0) });
  }
  return { chains: [...chains.values()] };
}

/** The ML_ chain a rule jumps or goes to, if any. */
export function jumpTarget(rule: string): string | undefined {
  const m = /(?:^| )-[jg] (ML_\S+)/.exec(rule);
  return m?.[1];
}
