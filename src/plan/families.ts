// The objects both address families have (netfilter chains and jumps, ip rules, routes),
// planned by the same planners for IPv4 and, when it is in play, IPv6, and put together.
import type { Diagnostics } from '../diagnostics.js';
import type { DesiredState } from '../model/desired.js';
import type { HostFacts } from '../model/facts.js';
import { familyDesired, familyFacts } from './family.js';
import { planIpRules, type RulesPlan } from './ip-rules.js';
import { planIptables, type IptablesPlan } from './iptables.js';
import { planRoutes, type RoutesPlan } from './routes.js';

export interface FamiliesPlan {
  iptables: IptablesPlan;
  rules: RulesPlan;
  routes: RoutesPlan;
  /** IPv6's tables to empty (`ip -6 route flush table T`). */
  routesFlush6: number[];
}

/** `chains` is the desired state whose chains are planned (with the balancing chain in force). */
export function planFamilies(desired: DesiredState, chains: DesiredState, facts: HostFacts, diags: Diagnostics, ipv6: boolean): FamiliesPlan {
  const iptables = planIptables(familyDesired(chains, 4), facts.iptables, diags);
  const rules = planIpRules(familyDesired(desired, 4), facts, diags);
  const routes = planRoutes(familyDesired(desired, 4), facts, diags);
  const routesFlush6: number[] = [];
  if (ipv6) {
    const d6 = familyDesired(desired, 6);
    const f6 = familyFacts(facts, 6);
    const ipt6 = planIptables(familyDesired(chains, 6), f6.iptables, diags, 6);
    iptables.changes.push(...ipt6.changes);
    iptables.tables.push(...ipt6.tables);
    const rules6 = planIpRules(d6, f6, diags, 6);
    rules.changes.push(...rules6.changes);
    rules.clashes.push(...rules6.clashes);
    rules.remove.push(...rules6.remove);
    rules.add.push(...rules6.add);
    const routes6 = planRoutes(d6, f6, diags, 6);
    routes.changes.push(...routes6.changes);
    routes.replace.push(...routes6.replace);
    routes.remove.push(...routes6.remove);
    routesFlush6.push(...routes6.flush);
  }
  return { iptables, rules, routes, routesFlush6 };
}
