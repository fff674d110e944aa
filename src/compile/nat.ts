// ML_MASQ (nat): source NAT on the links that ask for it. A connection conntrack picked up
// mid-stream (pinned to normal routing, see mark-chain.ts) was not NATed when it began — NAT
// needs conntrack, which was not running — so it is left as it was: NATing it now would change
// its source under the peer's feet and reset it.
import type { CompiledLink } from '../model/desired.js';
import { markMatch, pinnedMark } from './iptables-text.js';

export function masqueradeRules(links: CompiledLink[], mask: number): string[] {
  const masq = links.filter((l) => l.masquerade).map((l) => `-o ${l.interface} -j MASQUERADE`);
  return masq.length === 0 ? [] : [`${markMatch(pinnedMark(mask), mask)} -j RETURN`, ...masq];
}
