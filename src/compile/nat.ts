// ML_MASQ (nat): source NAT on the links that ask for it.
import type { CompiledLink } from '../model/desired.js';

export function masqueradeRules(links: CompiledLink[]): string[] {
  return links.filter((l) => l.masquerade).map((l) => `-o ${l.interface} -j MASQUERADE`);
}
