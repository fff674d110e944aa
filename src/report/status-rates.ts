// Rates between two status readings of one router (pure): throughput in and out per link from
// its interface counters over the router's own clock (uptime), and the new connections the
// balance chain gave each link, with their share.
import type { HostStatus } from '../model/status.js';

export interface LinkRate {
  link: string;
  /** Mbit/s the link's interface received (in) and sent (out); null when not measurable. */
  inMbps: number | null;
  outMbps: number | null;
  /** New connections balanced to the link in the interval; null when the chain was missing. */
  newConnections: number | null;
  /** Their share of all balanced new connections in the interval (0 to 1); null with none. */
  newShare: number | null;
}

export interface HostRates {
  /** The interval on the router's clock, seconds. */
  seconds: number;
  links: LinkRate[];
}

const mbps = (bytes: number, seconds: number): number => (bytes * 8) / seconds / 1e6;

function delta(before: number | null | undefined, after: number | null | undefined): number | null {
  if (before === null || before === undefined || after === null || after === undefined || after < before) return null;
  return after - before;
}

/**
 * Rates from `prev` to `cur` (two readings of the same router); undefined when the router's
 * clock did not move forward (it rebooted) or a reading lacks it. A counter that went back
 * (an interface recreated) gives null for that link. When the balance chain was reloaded in
 * between (by the link monitor or a deploy: its counters restart), a counter that went back
 * counts from zero, and so does every other link's, since the whole chain was replaced.
 */
export function hostRates(prev: HostStatus, cur: HostStatus): HostRates | undefined {
  if (prev.uptime === undefined || cur.uptime === undefined || cur.uptime <= prev.uptime) return undefined;
  const seconds = cur.uptime - prev.uptime;
  const before = new Map(prev.links.map((l) => [l.link, l]));
  const reloaded = cur.links.some((l) => {
    const b = before.get(l.link)?.newConnections;
    return l.newConnections !== null && b !== null && b !== undefined && l.newConnections < b;
  });
  const links = cur.links.map((l) => {
    const b = before.get(l.link);
    const rx = delta(b?.counters?.rxBytes, l.counters?.rxBytes);
    const tx = delta(b?.counters?.txBytes, l.counters?.txBytes);
    const fresh = reloaded ? l.newConnections : delta(b?.newConnections, l.newConnections);
    return { link: l.link, inMbps: rx === null ? null : mbps(rx, seconds), outMbps: tx === null ? null : mbps(tx, seconds), newConnections: fresh, newShare: null as number | null };
  });
  const total = links.reduce((sum, l) => sum + (l.newConnections ?? 0), 0);
  for (const l of links) l.newShare = total > 0 && l.newConnections !== null ? l.newConnections / total : null;
  return { seconds, links };
}
