// The policy routing multilink owns: with base B = multilink_rule_priority and n links,
//   B−1        lookup main suppress_prefixlength 0   (routes more specific than a default win)
//   B..B+n−1   fwmark of link k → its table          (marked connections leave by their link)
//   B+n..B+2n−1 oif of link k → its table            (sockets bound to a link's interface)
// and one table per link holding its default route.
import type { CompiledLink, RouteSpec, RuleSpec } from '../model/desired.js';
import { isIPv4 } from '../net/ipv4.js';

/** The priorities a play of n links occupies from base B: B−1 … B+2n−1. */
export function priorityRange(base: number, links: number): { first: number; last: number } {
  return { first: base - 1, last: base + 2 * links - 1 };
}

export function policyRules(links: CompiledLink[], base: number, mask: number): RuleSpec[] {
  return [
    { kind: 'main', priority: base - 1 },
    ...links.map((l): RuleSpec => ({ kind: 'fwmark', priority: l.priority, fwmark: l.mark, mask, table: l.table })),
    ...links.map((l, i): RuleSpec => ({ kind: 'oif', priority: base + links.length + i, dev: l.interface, table: l.table })),
  ];
}

export function linkRoutes(links: CompiledLink[]): RouteSpec[] {
  return links.map((l): RouteSpec => {
    const route: RouteSpec = { table: l.table, dst: 'default', dev: l.interface };
    if (isIPv4(l.gateway)) route.via = l.gateway;
    else if (l.gateway === 'auto') route.learned = true;
    return route;
  });
}
