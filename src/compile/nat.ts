// ML_MASQ (nat): source NAT on the links that ask for it. A connection conntrack picked up
// mid-stream (pinned to normal routing, see mark-chain.ts) was not NATed when it began — NAT
// needs conntrack, which was not running — so it is left as it was: NATing it now would change
// its source under the peer's feet and reset it.
import type { CompiledLink, Family } from '../model/desired.js';
import { markMatch, pinnedMark } from './iptables-text.js';

/** IPv6: NAT66 on the links with masquerade6 (default: as masquerade). */
export function masqueradeRules(links: CompiledLink[], mask: number, family: Family = 4): string[] {
  const on = (l: CompiledLink): boolean => (family === 6 ? (l.masquerade6 ?? l.masquerade) : l.masquerade);
  const masq = links.filter(on).map((l) => `-o ${l.interface} -j MASQUERADE`);
  return masq.length === 0 ? [] : [`${markMatch(pinnedMark(mask), mask)} -j RETURN`, ...masq];
}
