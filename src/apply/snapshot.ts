// OwnedSnapshot: everything multilink owns on a router, complete enough to recreate it
// exactly. Taken from live facts before a change (the prior state) or from a compiled
// DesiredState (a generation), and turned into a reset script by reset.ts.
import type { DesiredState, NetfilterTable } from '../model/desired.js';
import { NETFILTER_TABLES } from '../model/desired.js';
import type { HostFacts, IptablesFlavour, OwnedRecord } from '../model/facts.js';
import { monitorScript } from './monitor-script.js';
import { jumpTarget } from '../facts/iptables-save.js';
import { routeShowText, ruleShowText } from '../render/ip.js';

export interface SnapshotJump {
  table: NetfilterTable;
  chain: string;
  rule: string;
  /** 1-based position among the chain's rules; undefined: insert at the top. */
  position?: number;
}

export interface OwnedSnapshot {
  chains: { table: NetfilterTable; name: string; rules: string[] }[];
  jumps: SnapshotJump[];
  rules: { priority: number; text: string }[];
  routes: { table: number; text: string }[];
  sysctls: { key: string; value: string }[];
  /** The ownership record to leave behind; null: none (never applied). */
  owned: OwnedRecord | null;
  /** The link monitor script to run; null: no monitor. */
  monitorScript: string | null;
}

/** What a reset must clear before recreating a snapshot: every priority, table and sysctl in play. */
export interface ResetScope {
  priorities: number[];
  tables: number[];
}

export function snapshotFromFacts(facts: HostFacts, scope: ResetScope, sysctlKeys: string[]): OwnedSnapshot {
  const chains: OwnedSnapshot['chains'] = [];
  const jumps: SnapshotJump[] = [];
  for (const table of NETFILTER_TABLES) {
    for (const c of facts.iptables[table].chains) {
      if (c.name.startsWith('ML_')) chains.push({ table, name: c.name, rules: [...c.rules] });
      else c.rules.forEach((rule, i) => jumpTarget(rule) && jumps.push({ table, chain: c.name, rule, position: i + 1 }));
    }
  }
  // Positions are counted without the other ML_ jumps, since the reset removes them all first.
  for (const j of jumps) {
    const before = jumps.filter((o) => o.table === j.table && o.chain === j.chain && (o.position ?? 0) < (j.position ?? 0)).length;
    j.position = (j.position ?? 1) - before;
  }
  return {
    chains,
    jumps,
    rules: facts.ipRules.filter((r) => scope.priorities.includes(r.priority)).map((r) => ({ priority: r.priority, text: r.text })),
    routes: scope.tables.flatMap((t) => (facts.routes[t] ?? []).map((r) => ({ table: t, text: r.text }))),
    sysctls: sysctlKeys.flatMap((key) => {
      const value = facts.sysctls[key];
      return value === null || value === undefined ? [] : [{ key, value }];
    }),
    owned: facts.owned,
    monitorScript: facts.monitor.script,
  };
}

export function snapshotFromDesired(desired: DesiredState, owned: OwnedRecord, flavour: IptablesFlavour): OwnedSnapshot {
  return {
    chains: desired.chains.map((c) => ({ table: c.table, name: c.name, rules: [...c.rules] })),
    jumps: desired.jumps.map((j) => ({ table: j.table, chain: j.chain, rule: j.rule })),
    rules: desired.rules.map((r) => ({ priority: r.priority, text: ruleShowText(r) })),
    routes: desired.routes.map((r) => ({ table: r.table, text: routeShowText(r) })),
    sysctls: desired.sysctls.map((s) => ({ key: s.key, value: s.value })),
    owned,
    monitorScript: desired.monitor ? monitorScript(desired, flavour) : null,
  };
}

export function scopeOf(...snapshots: (OwnedSnapshot | ResetScope)[]): ResetScope {
  const priorities = new Set<number>();
  const tables = new Set<number>();
  for (const s of snapshots) {
    if ('chains' in s) {
      s.rules.forEach((r) => priorities.add(r.priority));
      s.routes.forEach((r) => tables.add(r.table));
      s.owned?.priorities.forEach((p) => priorities.add(p));
      s.owned?.tables.forEach((t) => tables.add(t));
    } else {
      s.priorities.forEach((p) => priorities.add(p));
      s.tables.forEach((t) => tables.add(t));
    }
  }
  return { priorities: [...priorities].sort((a, b) => a - b), tables: [...tables].sort((a, b) => a - b) };
}
