// iproute2 commands for multilink's policy rules and routes, and the text `ip rule show` /
// `ip route show table T` print for them (checked with iproute2 6.1), so live state
// compares with desired state as plain strings.
import type { Family, RouteSpec, RuleSpec } from '../model/desired.js';
import { hex } from '../compile/iptables-text.js';
import { joinSh, sh, type Sh } from '../shell/sh.js';

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

/** `ip -4 rule add …` (`ip -6` for IPv6), as its words after `ip -4` (several such go to one ip process: ml_ip_steps). */
export function ruleAddWords(r: RuleSpec): string[] {
  return ['rule', 'add', ...ruleArgs(r)];
}

/** `ip -4 route replace …`, as its words after `ip -4`. */
export function routeReplaceWords(r: RouteSpec): string[] {
  return ['route', 'replace', ...routeArgs(r)];
}

/** `-4` or `-6`. */
export function ipFamily(family: Family): string {
  return family === 6 ? '-6' : '-4';
}

/** `ip -4 WORDS…` (`ip -6` for IPv6). */
export function ipCommand(words: readonly string[], family: Family = 4): Sh {
  return sh`ip ${ipFamily(family)} ${words}`;
}

/** Re-adds a rule as `ip rule show` printed it (a snapshot's rule). */
export function ruleAddFromShow(priority: number, text: string, family: Family = 4): Sh {
  return sh`ip ${ipFamily(family)} rule add priority ${priority} ${words(text)}`;
}

/** Re-adds a route as `ip route show table T` printed it (a snapshot's route). */
export function routeAddFromShow(table: number, text: string, family: Family = 4): Sh {
  return sh`ip ${ipFamily(family)} route add ${words(text)} table ${table}`;
}

/** Deletes a route by the text `ip route show table T` printed; gone already is fine. */
export function routeDelFromShow(table: number, text: string, family: Family = 4): Sh {
  return sh`ip ${ipFamily(family)} route del ${words(text)} table ${table} 2>/dev/null || true`;
}

export function routeFlushCommand(table: number, family: Family = 4): Sh {
  return sh`ip ${ipFamily(family)} route flush table ${table} 2>/dev/null || true`;
}

/**
 * Deletes a rule by its full selector, as `ip rule show` printed it (every copy, at most 100):
 * a foreign rule at the same priority stays.
 */
export function ruleDelFromShow(priority: number, text: string, family: Family = 4): Sh {
  return sh`ml_n=0; while [ "$ml_n" -lt 100 ] && ip ${ipFamily(family)} rule del priority ${priority} ${words(text)} 2>/dev/null; do ml_n=$((ml_n + 1)); done`;
}

/**
 * Deletes, at the given priorities, every rule of a shape multilink makes into the given
 * tables (src/plan/ip-rules.ts isMultilinkRule), by its full selector, whatever state the
 * router is in; other rules at those priorities stay. Reads `ip -4 rule show` once.
 */
export function rulesClearOwned(priorities: readonly number[], tables: readonly number[], family: Family = 4): Sh {
  if (priorities.length === 0) return sh`:`;
  const ipf = ipFamily(family);
  const prios = joinSh(priorities.map((p) => sh`${String(p)}`), '|');
  const lookups = [...tables.map((t) => sh`"from all fwmark "*" lookup "${String(t)}|"from all oif "*" lookup "${String(t)}`), sh`"from all lookup main suppress_prefixlength 0"`];
  return sh`ml_rules=$(ip ${ipf} rule show) || ml_failed=1
set -f
printf '%s\\n' "$ml_rules" | while IFS= read -r ml_rl; do
  ml_rp=\${ml_rl%%:*}
  ml_rt=\${ml_rl#*:}
  ml_rt=\${ml_rt#"\${ml_rt%%[! 	]*}"}
  ml_rt=\${ml_rt%"\${ml_rt##*[! 	]}"}
  case $ml_rp in ${prios}) ;; *) continue ;; esac
  # shellcheck disable=SC2086 # the rule's words, as ip printed them (globbing is off)
  case $ml_rt in
    ${joinSh(lookups, '|')}) ip ${ipf} rule del priority "$ml_rp" $ml_rt 2>/dev/null ;;
  esac
done
set +f`;
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
  // IPv6 routes print no scope; their default metric and preference are dropped by the parser.
  if (r.family === 6) return r.via ? `${r.dst} via ${r.via} dev ${r.dev}` : `${r.dst} dev ${r.dev}`;
  return r.via ? `${r.dst} via ${r.via} dev ${r.dev}` : `${r.dst} dev ${r.dev} scope link`;
}
