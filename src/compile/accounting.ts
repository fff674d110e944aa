// ML_ACCT (mangle): per-link traffic counters for `multilink status`. Hooked from mangle
// POSTROUTING, one rule per link with a match and no target: the rule only counts packets
// and bytes leaving by that interface, and the packet goes on through the chain untouched.
// iptables-save prints such a rule as `-A ML_ACCT -o wan1` (legacy and nft alike).
import type { CompiledLink } from '../model/desired.js';

export function accountingRules(links: CompiledLink[]): string[] {
  return links.map((l) => `-o ${l.interface}`);
}

/** The link an ML_ACCT rule counts for, by its interface; undefined for a rule of another shape. */
export function accountingInterface(rule: string): string | undefined {
  return /^-o (\S+)$/.exec(rule.trim())?.[1];
}
