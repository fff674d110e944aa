// Plans the ownership record: what multilink must remember it owns after this apply.
import type { DesiredState } from '../model/desired.js';
import type { OwnedRecord } from '../model/facts.js';
import type { Change } from '../model/plan.js';
import { StateLayout } from '../shell/layout.js';

/** The desired state has IPv6 objects (a link with a gateway6). */
export function hasIpv6(desired: DesiredState): boolean {
  return desired.rules.some((r) => r.family === 6) || desired.chains.some((c) => c.family === 6);
}

export function ownedRecord(desired: DesiredState, prior: Record<string, string>): OwnedRecord {
  return {
    tables: [...new Set(desired.routes.map((r) => r.table))].sort((a, b) => a - b),
    priorities: [...new Set(desired.rules.map((r) => r.priority))].sort((a, b) => a - b),
    chains: desired.chains.map((c) => ({ table: c.table, name: c.name, ...(c.family === 6 ? { family: 6 as const } : {}) })),
    sysctls: prior,
    ...(hasIpv6(desired) ? { ipv6: true as const } : {}),
  };
}

function summary(r: OwnedRecord): string {
  const chains = r.chains.map((c) => `${c.family === 6 ? 'ip6/' : ''}${c.table}/${c.name}`).sort();
  return JSON.stringify({ tables: r.tables, priorities: r.priorities, chains, sysctls: Object.keys(r.sysctls).sort(), ...(r.ipv6 ? { ipv6: true } : {}) });
}

export function planOwned(desired: DesiredState, next: OwnedRecord, live: OwnedRecord | null): Change[] {
  if (live && summary(live) === summary(next)) return [];
  const object = new StateLayout(desired.settings.stateDir).owned;
  return [{ kind: 'file', op: live ? 'update' : 'create', object, expected: summary(next), ...(live ? { actual: summary(live) } : {}) }];
}
