// iproute2 arguments for our policy rules and routes, and the text `ip rule show` /
// `ip route show table T` print for them (checked with iproute2 6.1), so live state
// compares with desired state as plain strings.
import type { RouteSpec, RuleSpec } from '../model/desired.js';
import { hex } from '../compile/iptables-text.js';

/** ip prints a full 0xffffffff mask as no mask at all. */
function fwmark(r: RuleSpec): string {
  return (r.mask >>> 0) === 0xffffffff ? hex(r.fwmark) : `${hex(r.fwmark)}/${hex(r.mask)}`;
}

/** Arguments after `ip rule add`, unquoted, one per word: priority P fwmark M/MASK lookup T. */
export function renderRuleArgs(r: RuleSpec): string[] {
  return ['priority', String(r.priority), 'fwmark', fwmark(r), 'lookup', String(r.table)];
}

/** Arguments after `ip route replace`, unquoted, one per word: DST via GW dev IF table T. */
export function renderRouteArgs(r: RouteSpec): string[] {
  return [r.dst, 'via', r.via, 'dev', r.dev, 'table', String(r.table)];
}

/**
 * What `ip rule show` prints after "PRIORITY:\t", e.g. `from all fwmark 0x100/0xff00 lookup 101`.
 * A table that /etc/iproute2/rt_tables names would be printed by name (use `ip -N` if that
 * matters); multilink's tables are plain numbers.
 */
export function ruleShowText(r: RuleSpec): string {
  return `from all fwmark ${fwmark(r)} lookup ${r.table}`;
}

/**
 * What `ip route show table T` prints for the route, e.g. `default via 100.64.1.1 dev wan1`.
 * iproute2 6.1 ends the line with a space, and adds `linkdown` while the interface has no
 * carrier: compare with the live line trimmed.
 */
export function routeShowText(r: RouteSpec): string {
  return `${r.dst} via ${r.via} dev ${r.dev}`;
}
