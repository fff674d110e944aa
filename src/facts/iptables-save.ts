// Fact: the rules of one netfilter table, from iptables-save (legacy or nft flavour), with
// or without counters (-c). The one parser of iptables-save text in multilink.
import type { NetfilterTable } from '../model/desired.js';
import type { LiveChain, LiveTable } from '../model/facts.js';
import { sh, type Sh } from '../shell/sh.js';

/**
 * ml_save_sections (lib.sh): the sections `iptables TABLE` of a gather, each table without
 * comment lines and chain counters (byte-stable), from one iptables-save.
 */
export function iptablesSaveSections(tables: readonly NetfilterTable[]): Sh {
  return sh`ml_save_sections ${tables}`;
}

/** ml_save_counters (lib.sh): the table with packet and byte counters. */
export function iptablesSaveCountersCommand(table: NetfilterTable): Sh {
  return sh`ml_save_counters ${table}`;
}

/**
 * Parses iptables-save output. Comments, the table header and COMMIT are skipped; a missing
 * table (no output) is an empty table. With -c, `[PACKETS:BYTES] -A CHAIN rule` and
 * `:CHAIN POLICY [PACKETS:BYTES]` keep their counters (a rule printed without counts 0).
 */
export function parseIptablesSave(text: string): LiveTable {
  const chains = new Map<string, LiveChain>();
  let counted = false;
  const chainOf = (name: string): LiveChain => {
    let chain = chains.get(name);
    if (!chain) {
      chain = { name, policy: '-', rules: [] };
      chains.set(name, chain);
    }
    return chain;
  };
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line === '' || line.startsWith('#') || line.startsWith('*') || line === 'COMMIT') continue;
    const decl = /^:(\S+) (\S+)(?: \[(\d+):(\d+)\])?$/.exec(line);
    if (decl) {
      const chain: LiveChain = { name: decl[1], policy: decl[2], rules: [] };
      if (decl[3] !== undefined) chain.counters = { packets: Number(decl[3]), bytes: Number(decl[4]) };
      chains.set(decl[1], chain);
      continue;
    }
    const rule = /^(?:\[(\d+):(\d+)\] )?-A (\S+)(?: (.*))?$/.exec(line);
    if (!rule) continue;
    const chain = chainOf(rule[3]);
    chain.rules.push(rule[4] ?? '');
    if (rule[1] !== undefined) counted = true;
    (chain.ruleCounters ??= []).push({ packets: Number(rule[1] ?? 0), bytes: Number(rule[2] ?? 0) });
  }
  const out = [...chains.values()];
  for (const c of out) {
    if (!counted) delete c.ruleCounters;
    else c.ruleCounters ??= [];
  }
  return { chains: out };
}

/** The ML_ chain a rule jumps or goes to, if any. */
export function jumpTarget(rule: string): string | undefined {
  const m = /(?:^| )-[jg] (ML_\S+)/.exec(rule);
  return m?.[1];
}
