// The link monitor's precomputed data: the balancing chain for every set of healthy links
// (with tiers: a tier-2 link takes new connections only while no tier-1 link is healthy),
// and per link how its gateway is known (fixed, none, or learned from main: auto).
import type { BalanceMethod, HealthSpec } from '../model/config.js';
import type { AdaptiveSpec, CompiledLink, MonitorSpec } from '../model/desired.js';
import { balanceRules } from './balance.js';
import { ipv6Links } from './links.js';

/** 2^n chains: beyond this many links the table would be too large to ship. */
export const MAX_MONITORED_LINKS = 10;

export function fullMask(links: readonly { index: number }[]): number {
  return links.reduce((m, l) => m | (1 << (l.index - 1)), 0);
}

/** How often the monitor looks when it only follows `gateway: auto` links (no probes). */
export const WATCH_INTERVAL_MS = 1000;

function gatewayKind(gateway: string): 'fixed' | 'none' | 'auto' {
  return gateway === 'auto' || gateway === 'none' ? gateway : 'fixed';
}

/** Learning every 2 s: capacity estimates follow each measurement half-way, weights move at most ×1.5 a step. */
export function adaptiveSpec(links: CompiledLink[]): AdaptiveSpec {
  return {
    periodMs: 2000,
    step: 1.5,
    alpha: 0.5,
    idleBps: 2000,
    scale: 1000,
    links: links.map((l) => ({ index: l.index, weight: l.weight, tier: l.tier, minShare: l.minShare ?? 0, maxShare: l.maxShare ?? 1 })),
  };
}

/**
 * The monitor of a play that needs none for its links: it only puts multilink's netfilter
 * objects back after another tool flushed them, within a second (issue 19 §3).
 */
export function guardOnlyMonitor(): MonitorSpec {
  return { intervalMs: WATCH_INTERVAL_MS, guardOnly: true, links: [], balance: {} };
}

/** The monitor that watches links (probes, `gateway: auto`, adaptive), not only the guard. */
export function linkMonitor(m: MonitorSpec | undefined): MonitorSpec | undefined {
  return m && !m.guardOnly ? m : undefined;
}

export function compileMonitor(health: HealthSpec | undefined, links: CompiledLink[], method: BalanceMethod, markMask: number): MonitorSpec {
  if (links.length > MAX_MONITORED_LINKS) throw new Error(`the link monitor handles at most ${MAX_MONITORED_LINKS} links`);
  const links6 = ipv6Links(links);
  const chains = (family: 4 | 6, over: CompiledLink[]): Record<string, string[]> => {
    const out: Record<string, string[]> = {};
    const all = fullMask(over);
    for (let healthy = 0; healthy < 2 ** links.length; healthy++) {
      // Masks are of every link; IPv6's only ever has bits of links with a gateway6.
      if ((healthy & ~all) !== 0) continue;
      const up = over.filter((l) => (healthy & (1 << (l.index - 1))) !== 0);
      // No healthy link at all: keep balancing over every link rather than black-holing traffic.
      out[String(healthy)] = balanceRules(healthy === 0 ? over : up, method, markMask, family);
    }
    return out;
  };
  const balance = chains(4, links);
  return {
    intervalMs: health?.intervalMs ?? WATCH_INTERVAL_MS,
    ...(health ? { probes: { targets: [...health.targets], downAfter: health.downAfter, upAfter: health.upAfter, quorum: health.quorum } } : {}),
    ...(method === 'adaptive' ? { adaptive: adaptiveSpec(links) } : {}),
    links: links.map((l) => ({
      name: l.name,
      index: l.index,
      interface: l.interface,
      mark: l.mark,
      table: l.table,
      gateway: gatewayKind(l.gateway),
      ...(l.gateway6 !== undefined ? { gateway6: gatewayKind(l.gateway6) } : {}),
    })),
    balance,
    ...(links6.length > 0 ? { balance6: chains(6, links6) } : {}),
  };
}
