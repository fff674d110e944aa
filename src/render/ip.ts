// iproute2 commands for multilink's policy rules and routes, and the text `ip rule show` /
// `ip route show table T` print for them (checked with iproute2 6.1), so live state
// compares with desired state as plain strings.
import type { RouteSpec, RuleSpec } from '../model/desired.js';
import { hex } from '../compile/iptables-text.js';
import { sh, type Sh } from '../shell/sh.js';

/** ip prints a full 0xffffffff mask as no mask at all. */
function fwmark(value: number, mask: number): string {
  return (mask >>> 0) === 0xffffffff ? hex(value) : `${hex(value)}/${hex(mask)}`;
}

/** The selector and action of a rule, one word each, as `ip rule add` takes them after the priority. */
function ruleWords(r: RuleSpec): string[] {
  switch (r.kind) {
    case 'fwmark':
      return ['fwmark', fwmark(r.fwmark, r.mask), 'lookup', String(r.table)];
    case 'main':
      return ['lookup', 'main', 'suppress_prefixlength', '0'];
    case 'oif':
      return ['oif', r.dev, 'lookup', String(r.table)];
  }
}

/** Arguments after `ip rule add`, one per word: priority P, then the selector and action. */
export function ruleArgs(r: RuleSpec): string[] {
  return ['priority', String(r.priority), ...ruleWords(r)];
}

/** The routing table a rule sends traffic to ('main' for the suppress rule). */
export function ruleTable(r: RuleSpec): string {
  return r.kind === 'main' ? 'main' : String(r.table);
}

/** Arguments after `ip route replace`, one per word: DST [via GW] dev IF table T. */
export function routeArgs(r: RouteSpec): string[] {
  return [r.dst, ...(r.via ? ['via', r.via] : []), 'dev', r.dev, 'table', String(r.table)];
}

export function ruleAddCommand(r: RuleSpec): Sh {
  return sh`ip -4 rule add ${ruleArgs(r)}`;
}

export function routeReplaceCommand(r: RouteSpec): Sh {
  return sh`ip -4 route replace ${routeArgs(r)}`;
}

/** Re-adds a rule as `ip rule show` printed it (a snapshot's rule). */
export function ruleAddFromShow(priority: number, text: string): Sh {
  return sh`ip -4 rule add priority ${priority} ${words(text)}`;
}

/** Re-adds a route as `ip route show table T` printed it (a snapshot's route). */
export function routeAddFromShow(table: number, text: string): Sh {
  return sh`ip -4 route add ${words(text)} table ${table}`;
}

/** Deletes a route by the text `ip route show table T` printed; gone already is fine. */
export function routeDelFromShow(table: number, text: string): Sh {
  return sh`ip -4 route del ${words(text)} table ${table} 2>/dev/null || true`;
}

export function routeFlushCommand(table: number): Sh {
  return sh`ip -4 route flush table ${table} 2>/dev/null || true`;
}

/** Removes every rule at a priority (bounded: at most 100). */
export function rulesDelAtPriority(priority: number): Sh {
  return sh`ml_n=0; while [ "$ml_n" -lt 100 ] && ip -4 rule del priority ${priority} 2>/dev/null; do ml_n=$((ml_n + 1)); done`;
}

function words(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

/**
 * What `ip rule show` prints after "PRIORITY:\t", e.g. `from all fwmark 0x100/0xff00 lookup 101`,
 * `from all lookup main suppress_prefixlength 0`, `from all oif wan1 lookup 101`.
 * A table that /etc/iproute2/rt_tables names would be printed by name (use `ip -N` if that
 * matters); multilink's tables are plain numbers.
 */
export function ruleShowText(r: RuleSpec): string {
  return `from all ${ruleWords(r).join(' ')}`;
}

/**
 * What `ip route show table T` prints for the route, e.g. `default via 100.64.1.1 dev wan1`,
 * or `default dev tun0 scope link` without a gateway. iproute2 6.1 ends the line with a
 * space, and adds `linkdown` while the interface has no carrier: compare trimmed, flags off.
 */
export function routeShowText(r: RouteSpec): string {
  return r.via ? `${r.dst} via ${r.via} dev ${r.dev}` : `${r.dst} dev ${r.dev} scope link`;
}
