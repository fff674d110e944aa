// Numbers each link of a play: its mark, routing table and ip rule priority, and picks
// the links that share new connections (weights and tiers).
import type { HostSettings, LinkSpec } from '../model/config.js';
import type { CompiledLink } from '../model/desired.js';
import { lowestBit } from './iptables-text.js';

/**
 * Link k (1-based, play order) gets mark k × lowest mask bit, table base+k, and its fwmark
 * rule priority base+k−1 (see compile/rules.ts for the whole block of priorities).
 */
export function compileLinks(links: LinkSpec[], settings: HostSettings): CompiledLink[] {
  const step = lowestBit(settings.markMask);
  return links.map((l, i) => {
    const index = i + 1;
    return {
      name: l.name,
      index,
      interface: l.interface,
      gateway: l.gateway,
      weight: l.weight,
      tier: l.tier,
      masquerade: l.masquerade,
      ...(l.gateway6 !== undefined ? { gateway6: l.gateway6, masquerade6: l.masquerade6 ?? l.masquerade } : {}),
      inbound: l.inbound,
      ...(l.minShare !== undefined ? { minShare: l.minShare } : {}),
      ...(l.maxShare !== undefined ? { maxShare: l.maxShare } : {}),
      mark: index * step,
      table: settings.tableBase + index,
      priority: settings.rulePriority + index - 1,
    };
  });
}

/**
 * The links that share new connections: weight > 0, and of the lowest tier that has such a
 * link (a higher tier is a backup, used only when no lower-tier link can take traffic).
 * Play order is kept. Pass the healthy links to get what the monitor should balance over.
 */
export function eligibleLinks(links: CompiledLink[]): CompiledLink[] {
  const weighted = links.filter((l) => l.weight > 0);
  if (weighted.length === 0) return [];
  const tier = Math.min(...weighted.map((l) => l.tier));
  return weighted.filter((l) => l.tier === tier);
}

/** The links that carry IPv6 (a gateway6); none: the play is IPv4 only. */
export function ipv6Links<L extends { gateway6?: string }>(links: L[]): L[] {
  return links.filter((l) => l.gateway6 !== undefined);
}
