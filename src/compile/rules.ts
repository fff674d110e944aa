// The policy routing multilink owns: with base B = multilink_rule_priority and n links,
//   B−1        lookup main suppress_prefixlength 0   (routes more specific than a default win)
//   B..B+n−1   fwmark of link k → its table          (marked connections leave by their link)
//   B+n..B+2n−1 oif of link k → its table            (sockets bound to a link's interface)
// and one table per link holding its default route.
import { familyField, type CompiledLink, type Family, type RouteSpec, type RuleSpec } from '../model/desired.js';
import { isIPv4 } from '../net/ipv4.js';

/** The priorities a play of n links occupies from base B: B−1 … B+2n−1. */
export function priorityRange(base: number, links: number): { first: number; last: number } {
  return { first: base - 1, last: base + 2 * links - 1 };
}

/**
 * The rules of one family. IPv6's are those of the links with a gateway6, at the same
 * priorities as their IPv4 rules (`ip -6 rule` is a list of its own): `total` is the play's
 * number of links, which places the oif block.
 */
export function policyRules(links: CompiledLink[], base: number, mask: number, total = links.length, family: Family = 4): RuleSpec[] {
  const f = familyField(family);
  return [
    { kind: 'main', priority: base - 1, ...f },
    ...links.map((l): RuleSpec => ({ kind: 'fwmark', priority: l.priority, fwmark: l.mark, mask, table: l.table, ...f })),
    ...links.map((l): RuleSpec => ({ kind: 'oif', priority: base + total + l.index - 1, dev: l.interface, table: l.table, ...f })),
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

/** The IPv6 default route of each link with a gateway6, in the link's table (`ip -6`). */
export function linkRoutes6(links: CompiledLink[]): RouteSpec[] {
  return links.map((l): RouteSpec => {
    const route: RouteSpec = { table: l.table, family: 6, dst: 'default', dev: l.interface };
    if (l.gateway6 === 'auto') route.learned = true;
    else if (l.gateway6 !== 'none' && l.gateway6 !== undefined) route.via = l.gateway6;
    return route;
  });
}
