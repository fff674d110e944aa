// Snapshots of what multilink owns on a router: the prior state from live facts before a
// change, or a generation from a compiled DesiredState; and the scope a reset must clear.
import type { DesiredState, Family } from '../model/desired.js';
import { familyField, familyOf, NETFILTER_TABLES } from '../model/desired.js';
import type { FamilyFacts, HostFacts, OwnedRecord } from '../model/facts.js';
import { resetsIpv6 } from '../render/reset.js';
import type { OwnedSnapshot, ResetScope, SnapshotJump } from '../model/snapshot.js';
import { jumpTarget } from '../facts/iptables-save.js';
import { routeShowText, ruleShowText } from '../render/ip.js';
import { monitorScript } from '../render/monitor.js';
import { iptablesPart } from '../plan/backend.js';
import { nftTable } from '../compile/nft-table.js';

export function snapshotFromFacts(facts: HostFacts, scope: ResetScope, sysctlKeys: string[]): OwnedSnapshot {
  const chains: OwnedSnapshot['chains'] = [];
  const jumps: SnapshotJump[] = [];
  const rules: OwnedSnapshot['rules'] = [];
  const routes: OwnedSnapshot['routes'] = [];
  const families: [Family, FamilyFacts | undefined][] = [
    [4, facts],
    [6, facts.v6],
  ];
  for (const [family, ff] of families) {
    if (!ff) continue;
    const f = familyField(family);
    for (const table of NETFILTER_TABLES) {
      for (const c of ff.iptables[table].chains) {
        if (c.name.startsWith('ML_')) chains.push({ table, ...f, name: c.name, rules: [...c.rules] });
        else c.rules.forEach((rule, i) => jumpTarget(rule) && jumps.push({ table, ...f, chain: c.name, rule, position: i + 1 }));
      }
    }
    rules.push(...ff.ipRules.filter((r) => scope.priorities.includes(r.priority)).map((r) => ({ priority: r.priority, text: r.text, ...f })));
    routes.push(...scope.tables.flatMap((t) => (ff.routes[t] ?? []).map((r) => ({ table: t, text: r.text, ...f }))));
  }
  return {
    chains,
    jumps,
    rules,
    routes,
    sysctls: sysctlKeys.flatMap((key) => {
      const value = facts.sysctls[key];
      return value === null || value === undefined ? [] : [{ key, value }];
    }),
    owned: facts.owned,
    monitorScript: facts.monitor.script,
    ...(facts.nft?.state === 'ok' ? { nft: facts.nft.table } : {}),
  };
}

export function snapshotFromDesired(compiled: DesiredState, owned: OwnedRecord): OwnedSnapshot {
  const desired = iptablesPart(compiled);
  return {
    chains: desired.chains.map((c) => ({ table: c.table, ...familyField(familyOf(c)), name: c.name, rules: [...c.rules] })),
    jumps: desired.jumps.map((j) => ({ table: j.table, ...familyField(familyOf(j)), chain: j.chain, rule: j.rule })),
    rules: desired.rules.map((r) => ({ priority: r.priority, text: ruleShowText(r), ...familyField(familyOf(r)) })),
    // A learned route (gateway: auto) is the monitor's to set once it runs.
    routes: desired.routes.filter((r) => !r.learned).map((r) => ({ table: r.table, text: routeShowText(r), ...familyField(familyOf(r)) })),
    sysctls: desired.sysctls.map((s) => ({ key: s.key, value: s.value })),
    owned,
    monitorScript: desired.monitor ? monitorScript(desired) : null,
    // Made where the router has nft; with the iptables backend none must be left.
    nft: compiled.firewall === 'nft' ? nftTable(compiled) : null,
  };
}

export function scopeOf(...snapshots: (OwnedSnapshot | ResetScope)[]): ResetScope {
  const priorities = new Set<number>();
  const tables = new Set<number>();
  let ipv6 = false;
  for (const s of snapshots) {
    if ('chains' in s ? resetsIpv6(s, { priorities: [], tables: [] }) : s.ipv6) ipv6 = true;
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
  return { priorities: [...priorities].sort((a, b) => a - b), tables: [...tables].sort((a, b) => a - b), ...(ipv6 ? { ipv6: true as const } : {}) };
}
