// `status` per host: one round trip reads the counters, conntrack counts and link states;
// hostStatus() (pure) turns them into per-link rows next to the configured weights.
import type { HostConfig } from '../model/config.js';
import type { CompiledLink, DesiredState } from '../model/desired.js';
import type { LiveChain, LiveTable } from '../model/facts.js';
import { STATUS_OUTCOMES, type AdaptiveLinkStatus, type FamilyLinkStatus, type HostStatus, type LinkStatus, type StatusOutcome, type StatusReport } from '../model/status.js';
import type { Session, Transport } from '../transport/transport.js';
import { errorMessage, UnreachableError } from '../errors.js';
import { CHAIN_ACCT, hex } from '../compile/iptables-text.js';
import { accountingInterface } from '../compile/accounting.js';
import { eligibleLinks } from '../compile/links.js';
import { balanceShares, round } from '../facts/balance-shares.js';
import { parseStatus, statusScript, type StatusFacts, type StatusRequest } from '../facts/status-gather.js';
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
    ...(desired.links.some((l) => l.gateway6 !== undefined) ? { ipv6: true } : {}),
  };
}

/** The balance in force, new connections and counters of one family's chains. */
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

function counted(acct: LiveChain | undefined, iface: string): { packets: number; bytes: number } | undefined {
  const at = acct ? acct.rules.findIndex((r) => accountingInterface(r) === iface) : -1;
  return at >= 0 ? acct?.ruleCounters?.[at] : undefined;
}

/** A dual-stack link's IPv6 side: the monitor's IPv6 verdict, the IPv6 chains' balance and counters. */
function ipv6Status(desired: DesiredState, facts: StatusFacts, l: CompiledLink, notes: Set<string>): FamilyLinkStatus | undefined {
  if (l.gateway6 === undefined) return undefined;
  const c = familyCounters(facts.mangle6, desired);
  if (!c.balance) notes.add(`IPv6 ${desired.balanceChain.name} is missing: not deployed?`);
  const links6 = desired.links.filter((x) => x.gateway6 !== undefined);
  const eligible = eligibleLinks(links6);
  const total = eligible.reduce((sum, x) => sum + x.weight, 0);
  const m = facts.monitor?.links.find((x) => x.link === l.name);
  const n = counted(c.acct, l.interface);
  return {
    gateway: l.gateway6,
    ...(m?.gateway6 ? { learned: m.gateway6 } : {}),
    health: desired.monitor ? (m?.state6 ?? 'unmonitored') : 'unmonitored',
    ...(m?.since6 ? { since: m.since6 } : {}),
    configuredShare: eligible.includes(l) && total > 0 ? round(l.weight / total) : 0,
    share: c.live ? (c.live.shares.get(l.mark) ?? 0) : null,
    newConnections: c.balanced ? (c.balanced.get(l.mark) ?? 0) : null,
    packets: n ? n.packets : null,
    bytes: n ? n.bytes : null,
  };
}

function healthSince(facts: StatusFacts, link: string): string | undefined {
  return facts.monitor?.links.find((m) => m.link === link)?.since;
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
  const chain = (name: string) => facts.mangle.chains.find((c) => c.name === name);
  const balance = chain(desired.balanceChain.name);
  if (!balance) notes.add(`${desired.balanceChain.name} is missing: not deployed?`);
  const live = balance ? balanceShares(balance.rules, desired.settings.markMask) : undefined;
  const balanced = balance ? newConnectionsByMark(balance) : undefined;
  for (const rule of live?.unknown ?? []) notes.add(`${desired.balanceChain.name} rule not understood: ${rule}`);
  const acct = chain(CHAIN_ACCT);
  if (!acct) notes.add(`${CHAIN_ACCT} is missing: deploy to count packets and bytes per link`);

  const eligible = eligibleLinks(desired.links);
  const total = eligible.reduce((sum, l) => sum + l.weight, 0);
  const links: LinkStatus[] = desired.links.map((l) => {
    const at = acct ? acct.rules.findIndex((r) => accountingInterface(r) === l.interface) : -1;
    const counted = at >= 0 ? acct?.ruleCounters?.[at] : undefined;
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
      configuredShare: eligible.includes(l) && total > 0 ? round(l.weight / total) : 0,
      share: live ? (live.shares.get(l.mark) ?? 0) : null,
      connections,
      packets: counted ? counted.packets : null,
      bytes: counted ? counted.bytes : null,
      operstate: facts.operstate[l.interface] ?? null,
      health: desired.monitor ? (facts.monitor?.links.find((m) => m.link === l.name)?.state ?? 'unmonitored') : 'unmonitored',
      ...(healthSince(facts, l.name) ? { since: healthSince(facts, l.name) } : {}),
      newConnections: balanced ? (balanced.get(l.mark) ?? 0) : null,
      counters: facts.interfaces[l.interface] ?? null,
      ...(desired.monitor && facts.monitor?.probes?.[l.name] ? { probe: facts.monitor.probes[l.name] } : {}),
      ...(desired.monitor ? { history: facts.history.filter((c) => c.link === l.name) } : {}),
      ...adaptiveStatus(facts, l.index),
      ...(l.gateway6 !== undefined ? { ipv6: ipv6Status(desired, facts, l, notes) } : {}),
    };
  });
  return {
    host: desired.host,
    status: 'ok',
    method: desired.method,
    flavour: facts.flavour,
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
    if (e instanceof UnreachableError) return failed('unreachable', e.message);
    return failed('error', errorMessage(e));
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
