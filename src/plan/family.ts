// IPv4 and IPv6 are planned by the same planners: each sees the desired state and the facts
// of one family (its chains, jumps, rules and routes; its iptables or ip6tables, `ip -4` or
// `ip -6` rules and routes), and tags what it plans with that family.
import { familyOf, type DesiredState, type Family } from '../model/desired.js';
import type { FamilyFacts, HostFacts, LiveTable } from '../model/facts.js';
import { hasIpv6 } from './owned.js';

const EMPTY: LiveTable = { chains: [] };

/** The desired state's objects of one family. */
export function familyDesired(desired: DesiredState, family: Family): DesiredState {
  return {
    ...desired,
    chains: desired.chains.filter((c) => familyOf(c) === family),
    jumps: desired.jumps.filter((j) => familyOf(j) === family),
    rules: desired.rules.filter((r) => familyOf(r) === family),
    routes: desired.routes.filter((r) => familyOf(r) === family),
  };
}

/** IPv6's facts, empty when they were not gathered (nothing of IPv6 is multilink's there). */
export function v6Facts(facts: HostFacts): FamilyFacts {
  return facts.v6 ?? { iptables: { mangle: EMPTY, nat: EMPTY, raw: EMPTY }, ipRules: [], mainDefaults: {}, routes: {} };
}

/**
 * The facts as one family's planners read them. For IPv6 the ownership record's tables and
 * priorities are multilink's only once it made IPv6 objects there (`ipv6`): before, an
 * `ip -6` rule at one of its priorities is someone else's.
 */
export function familyFacts(facts: HostFacts, family: Family): HostFacts {
  if (family === 4) return facts;
  const v6 = v6Facts(facts);
  const owned = facts.owned && !facts.owned.ipv6 ? { ...facts.owned, tables: [], priorities: [] } : facts.owned;
  return { ...facts, iptables: v6.iptables, ipRules: v6.ipRules, mainDefaults: v6.mainDefaults, routes: v6.routes, owned };
}

/** What a change's object is called in a family: IPv6's say so (`ip6 mangle ML_NEW`, `ip6 rule 1000`). */
export function familyObject(family: Family, object: string): string {
  return family === 6 ? `ip6 ${object}` : object;
}

/** Whether IPv6 is to be planned: the desired state has IPv6 objects, or the router has multilink's. */
export function plansIpv6(desired: DesiredState, facts: HostFacts): boolean {
  return hasIpv6(desired) || Boolean(facts.owned?.ipv6) || facts.v6 !== undefined;
}
