// `status` per host: one round trip reads the counters, conntrack counts and link states;
// hostStatus() (pure) turns them into per-link rows next to the configured weights.
import type { HostConfig } from '../model/config.js';
import type { CompiledLink, DesiredState } from '../model/desired.js';
import type { LiveChain, LiveTable } from '../model/facts.js';
import { STATUS_OUTCOMES, type AdaptiveLinkStatus, type FamilyLinkStatus, type HostStatus, type LinkStatus, type StatusOutcome, type StatusReport } from '../model/status.js';
import type { Session, Transport } from '../transport/transport.js';
import { hostReason, UnreachableError } from '../errors.js';
import { CHAIN_ACCT, hex } from '../compile/iptables-text.js';
import { accountingInterface } from '../compile/accounting.js';
import { eligibleLinks, ipv6Links } from '../compile/links.js';
import { linkMonitor } from '../compile/monitor.js';
import { balanceShares, round } from '../facts/balance-shares.js';
import { parseStatus, statusScript, type StatusFacts, type StatusRequest } from '../facts/status-gather.js';
import { nftFamilyCounters, type NftFamilyCounters } from '../facts/nft-status.js';
import { connectHost } from './host.js';
import { countStatuses, type CheckOptions } from './drift.js';
import { runPool } from '../util/pool.js';
import { runScript } from './remote.js';

export function statusRequest(desired: DesiredState): StatusRequest {
  return {
    iptables: desired.settings.iptables,
    mask: desired.settings.markMask,
    links: desired.links.map((l) => ({ mark: l.mark, interface: l.interface })),
    runDir: desired.settings.runDir,
    adaptive: desired.method === 'adaptive',
    ...(ipv6Links(desired.links).length > 0 ? { ipv6: true } : {}),
  };
}

type FamilyCounters = ReturnType<typeof familyCounters> | NftFamilyCounters;

/** The balance in force, new connections and counters of one family's chains (read once per host). */
function familyCounters(table: LiveTable | undefined, desired: DesiredState) {
  const chain = (name: string) => table?.chains.find((c) => c.name === name);
  const balance = chain(desired.balanceChain.name);
  return {
    balance,
    live: balance ? balanceShares(balance.rules, desired.settings.markMask) : undefined,
    balanced: balance ? newConnectionsByMark(balance) : undefined,
    acct: chain(CHAIN_ACCT),
  };
}

/** The link's ML_ACCT counters (packets and bytes sent out of it), or nulls when its rule is missing. */
function counted(acct: LiveChain | undefined, iface: string): { packets: number | null; bytes: number | null } {
  const at = acct ? acct.rules.findIndex((r) => accountingInterface(r) === iface) : -1;
  const n = at >= 0 ? acct?.ruleCounters?.[at] : undefined;
  return { packets: n ? n.packets : null, bytes: n ? n.bytes : null };
}

/** The link's share of new connections by the configured weights, among the links that share them. */
function configuredShare(links: CompiledLink[], l: CompiledLink): number {
  const eligible = eligibleLinks(links);
  const total = eligible.reduce((sum, x) => sum + x.weight, 0);
  return eligible.includes(l) && total > 0 ? round(l.weight / total) : 0;
}

/** A dual-stack link's IPv6 side: the monitor's IPv6 verdict, the IPv6 chains' balance and counters. */
function ipv6Status(desired: DesiredState, facts: StatusFacts, l: CompiledLink, c: FamilyCounters): FamilyLinkStatus | undefined {
  if (l.gateway6 === undefined) return undefined;
  const m = facts.monitor?.links.find((x) => x.link === l.name);
  return {
    gateway: l.gateway6,
    ...(m?.gateway6 ? { learned: m.gateway6 } : {}),
    health: linkMonitor(desired.monitor) ? (m?.state6 ?? 'unmonitored') : 'unmonitored',
    ...(m?.since6 ? { since: m.since6 } : {}),
    ...(m?.sinceBootS6 !== undefined ? { sinceBootS: m.sinceBootS6 } : {}),
    configuredShare: configuredShare(ipv6Links(desired.links), l),
    share: c.live ? (c.live.shares.get(l.mark) ?? 0) : null,
    newConnections: c.balanced ? (c.balanced.get(l.mark) ?? 0) : null,
    ...counted(c.acct, l.interface),
  };
}

function healthSince(facts: StatusFacts, link: string): string | undefined {
  return facts.monitor?.links.find((m) => m.link === link)?.since;
}

function sinceBoot(facts: StatusFacts, link: string): number | undefined {
  return facts.monitor?.links.find((m) => m.link === link)?.sinceBootS;
}

/** Packets per mark of the balance chain's rules: the new connections each link was given. */
function newConnectionsByMark(chain: LiveChain): Map<number, number> {
  const out = new Map<number, number>();
  chain.rules.forEach((rule, i) => {
    const m = /--set-xmark (0x[0-9a-fA-F]+)\//.exec(rule);
    if (!m) return;
    const mark = Number.parseInt(m[1], 16);
    out.set(mark, (out.get(mark) ?? 0) + (chain.ruleCounters?.[i]?.packets ?? 0));
  });
  return out;
}

/** method adaptive: what the router learnt for link K, from its last measurement. */
function adaptiveStatus(facts: StatusFacts, index: number): { adaptive?: AdaptiveLinkStatus } {
  const a = facts.adaptive;
  const m = a?.links.get(index);
  if (!a?.at || !m) return {};
  return {
    adaptive: {
      weight: round(m.weight),
      capacityBps: m.capacityBps,
      rateBps: m.rateBps,
      connections: m.connections,
      perConnectionBps: m.connections > 0 ? Math.round(m.rateBps / m.connections) : null,
      measuredAt: a.at,
      ...(a.changed ? { changedAt: a.changed } : {}),
    },
  };
}

export function hostStatus(desired: DesiredState, facts: StatusFacts): HostStatus {
  const notes = new Set<string>();
  // The backend in force is the one that holds multilink's balancing chain.
  const nft = facts.nft?.chains.some((c) => c.name === desired.balanceChain.name) ? facts.nft : undefined;
  const v4 = nft ? nftFamilyCounters(nft, desired, 4) : familyCounters(facts.mangle, desired);
  if (!v4.balance) notes.add(`${desired.balanceChain.name} is missing: not deployed?`);
  for (const rule of v4.live?.unknown ?? []) notes.add(`${desired.balanceChain.name} rule not understood: ${rule}`);
  if (!v4.acct) notes.add(`${CHAIN_ACCT} is missing: deploy to count packets and bytes per link`);
  const v6 = ipv6Links(desired.links).length > 0 ? (nft ? nftFamilyCounters(nft, desired, 6) : familyCounters(facts.mangle6, desired)) : undefined;
  if (v6 && !v6.balance) notes.add(`IPv6 ${desired.balanceChain.name} is missing: not deployed?`);

  if (facts.restored) {
    const [, at, , gen] = facts.restored.split(' ');
    notes.add(`restored after a foreign flush at ${at} (generation ${gen}): another tool deleted multilink's rules`);
  }
  const links: LinkStatus[] = desired.links.map((l) => {
    const ct = facts.connections[hex(l.mark)];
    let connections: number | null = null;
    if (ct && 'count' in ct) connections = ct.count;
    else if (ct && 'missing' in ct) notes.add('conntrack is not installed: connections are not counted');
    else if (ct) notes.add(`conntrack could not count connections: ${ct.unreadable}`);
    return {
      link: l.name,
      interface: l.interface,
      tier: l.tier,
      weight: l.weight,
      configuredShare: configuredShare(desired.links, l),
      share: v4.live ? (v4.live.shares.get(l.mark) ?? 0) : null,
      connections,
      ...counted(v4.acct, l.interface),
      operstate: facts.operstate[l.interface] ?? null,
      health: linkMonitor(desired.monitor) ? (facts.monitor?.links.find((m) => m.link === l.name)?.state ?? 'unmonitored') : 'unmonitored',
      ...(healthSince(facts, l.name) ? { since: healthSince(facts, l.name) } : {}),
      ...(sinceBoot(facts, l.name) !== undefined ? { sinceBootS: sinceBoot(facts, l.name) } : {}),
      newConnections: v4.balanced ? (v4.balanced.get(l.mark) ?? 0) : null,
      counters: facts.interfaces[l.interface] ?? null,
      ...(linkMonitor(desired.monitor) && facts.monitor?.probes?.[l.name] ? { probe: facts.monitor.probes[l.name] } : {}),
      ...(linkMonitor(desired.monitor) ? { history: facts.history.filter((c) => c.link === l.name) } : {}),
      ...adaptiveStatus(facts, l.index),
      ...(v6 && l.gateway6 !== undefined ? { ipv6: ipv6Status(desired, facts, l, v6) } : {}),
    };
  });
  return {
    host: desired.host,
    status: 'ok',
    method: desired.method,
    flavour: facts.flavour,
    ...(nft ? { firewall: 'nft' as const } : {}),
    ...(facts.uptime !== null ? { uptime: facts.uptime } : {}),
    links,
    notes: [...notes],
  };
}

export async function statusHost(cfg: HostConfig, desired: DesiredState, transport: Transport, opts: CheckOptions): Promise<HostStatus> {
  const failed = (status: StatusOutcome, message: string): HostStatus => ({ host: cfg.name, status, message, method: desired.method, links: [], notes: [] });
  let session: Session | undefined;
  try {
    session = await connectHost(transport, cfg, opts);
    const req = statusRequest(desired);
    const res = await runScript(session, cfg.connection, statusScript(req), opts.commandTimeoutMs);
    if (res.code !== 0) return failed('error', `reading the status failed (exit ${res.code ?? 'signal'})${res.stderr.trim() ? `: ${res.stderr.trim()}` : ''}`);
    return hostStatus(desired, parseStatus(res.stdout, req));
  } catch (e) {
    if (e instanceof UnreachableError) return failed('unreachable', e.reason);
    return failed('error', hostReason(e));
  } finally {
    await session?.close().catch(() => undefined);
  }
}

export async function statusFleet(
  targets: { cfg: HostConfig; desired: DesiredState }[],
  transport: Transport,
  opts: CheckOptions & { forks: number },
): Promise<StatusReport> {
  const hosts = await runPool(targets, opts.forks, (t) => statusHost(t.cfg, t.desired, transport, opts));
  return { command: 'status', hosts, summary: countStatuses<StatusOutcome>(hosts.map((h) => h.status), STATUS_OUTCOMES) };
}
