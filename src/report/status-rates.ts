// Rates between two status readings of one router (pure): throughput in and out per link from
// its interface counters over the router's own clock (uptime), and the new connections the
// balance chain gave each link, with their share, per family (a dual-stack link's IPv6 from
// ip6tables' balance chain, which the monitor reloads on its own).
import type { FamilyLinkStatus, HostStatus, LinkStatus } from '../model/status.js';

/** New connections balanced to a link in the interval, in one family. */
export interface NewConnectionRate {
  /** null when the chain was missing. */
  newConnections: number | null;
  /** Their share of all of that family's balanced new connections in the interval (0 to 1); null with none. */
  newShare: number | null;
}

export interface LinkRate extends NewConnectionRate {
  link: string;
  /** Mbit/s the link's interface received (in) and sent (out); null when not measurable. */
  inMbps: number | null;
  outMbps: number | null;
  /** A dual-stack link: its IPv6 new connections (the fields above are IPv4's). */
  ipv6?: NewConnectionRate;
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
 * One family's new connections per link from `before` to `cur` (undefined: the link has no
 * such family). When that family's balance chain was reloaded in between (by the link monitor
 * or a deploy: its counters restart), a counter that went back counts from zero, and so does
 * every other link's, since the whole chain was replaced.
 */
function newConnectionRates(
  before: Map<string, LinkStatus>,
  cur: readonly LinkStatus[],
  side: (l: LinkStatus) => Pick<FamilyLinkStatus, 'newConnections'> | undefined,
): (NewConnectionRate | undefined)[] {
  const was = (l: LinkStatus) => {
    const b = before.get(l.link);
    return b ? side(b) : undefined;
  };
  const reloaded = cur.some((l) => {
    const now = side(l)?.newConnections;
    const b = was(l)?.newConnections;
    return now !== null && now !== undefined && b !== null && b !== undefined && now < b;
  });
  const rates = cur.map((l): NewConnectionRate | undefined => {
    const now = side(l);
    if (!now) return undefined;
    const b = was(l);
    return { newConnections: reloaded ? now.newConnections : delta(b?.newConnections, now.newConnections), newShare: null };
  });
  const total = rates.reduce((sum, r) => sum + (r?.newConnections ?? 0), 0);
  for (const r of rates) if (r) r.newShare = total > 0 && r.newConnections !== null ? r.newConnections / total : null;
  return rates;
}

/**
 * Rates from `prev` to `cur` (two readings of the same router); undefined when the router's
 * clock did not move forward (it rebooted) or a reading lacks it. A counter that went back
 * (an interface recreated) gives null for that link.
 */
export function hostRates(prev: HostStatus, cur: HostStatus): HostRates | undefined {
  if (prev.uptime === undefined || cur.uptime === undefined || cur.uptime <= prev.uptime) return undefined;
  const seconds = cur.uptime - prev.uptime;
  const before = new Map(prev.links.map((l) => [l.link, l]));
  const v4 = newConnectionRates(before, cur.links, (l) => l);
  const v6 = newConnectionRates(before, cur.links, (l) => l.ipv6);
  const links = cur.links.map((l, i): LinkRate => {
    const b = before.get(l.link);
    const rx = delta(b?.counters?.rxBytes, l.counters?.rxBytes);
    const tx = delta(b?.counters?.txBytes, l.counters?.txBytes);
    const ipv6 = v6[i];
    return {
      link: l.link,
      inMbps: rx === null ? null : mbps(rx, seconds),
      outMbps: tx === null ? null : mbps(tx, seconds),
      newConnections: v4[i]?.newConnections ?? null,
      newShare: v4[i]?.newShare ?? null,
      ...(ipv6 ? { ipv6 } : {}),
    };
  });
  return { seconds, links };
}
