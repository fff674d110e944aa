// Faults the data-plane lab injects for tests and the benchmark: an ISP's upstream dies
// (and is repaired) inside the upstream namespace; a health target goes silent; the
// point-to-point uplink's device goes away and comes back, as a PPP reconnect makes it; with
// IPv6, an ISP's IPv6 alone dies, its RAs stop, its router is replaced, its path gets a smaller MTU.
import { breakRules6, checkMtu6, mtuHopLines } from './dataplane-ipv6-plan.js';
import { isp6Of } from './dataplane-ipv6.js';
import { breakRules, ispLinkLocal6, ispShapingLines, MTU_HOP_BYTES, ptpUplinkLines } from './dataplane-plan.js';
import { dataplaneOf } from './dataplane-setup.js';
import { LabError } from './errors.js';
import { applyBcp38 } from './isp-filter.js';
import { inNamespace } from './lab-process.js';
import { saveManifest, type LabDataplane, type LabInfo } from './manifest.js';
import { reloadRadvd } from './radvd.js';
import { ipBatchOrThrow, run, type RunResult } from './run.js';

function ispOf(lab: LabInfo, k: number): LabDataplane['isps'][number] {
  const isp = dataplaneOf(lab).isps.find((i) => i.k === k);
  if (!isp) throw new LabError(`no ISP ${k} in the lab (ISPs ${dataplaneOf(lab).isps.map((i) => i.k).join(', ')})`);
  return isp;
}

async function upstreamIptables(lab: LabInfo, args: readonly string[], allowFailure = false): Promise<RunResult> {
  return inNamespace(dataplaneOf(lab).upstreamNamespace, 'iptables', ['-w', '5', ...args], { allowFailure, timeoutMs: 15_000 });
}

/**
 * ISP k's upstream dies: every packet forwarded to or from its bridge is dropped silently in
 * the upstream namespace. The router's wan link and the gateway address stay up. Idempotent.
 */
export async function breakIsp(lab: LabInfo, k: number): Promise<void> {
  for (const rule of breakRules(ispOf(lab, k))) {
    if ((await upstreamIptables(lab, ['-C', ...rule], true)).code === 0) continue;
    await upstreamIptables(lab, ['-I', ...rule]);
  }
}

/** Removes what breakIsp added (every copy of it, bounded). Idempotent. */
export async function repairIsp(lab: LabInfo, k: number): Promise<void> {
  for (const rule of breakRules(ispOf(lab, k))) {
    for (let i = 0; i < 10 && (await upstreamIptables(lab, ['-C', ...rule], true)).code === 0; i++) {
      await upstreamIptables(lab, ['-D', ...rule]);
    }
  }
}

/** iptables in the server namespace (e.g. silence one health target). */
export async function inServerIptables(lab: LabInfo, args: readonly string[]): Promise<RunResult> {
  return inNamespace(dataplaneOf(lab).serverNamespace, 'iptables', ['-w', '5', ...args], { timeoutMs: 15_000 });
}

// IPv6 (`--ipv6`): faults of one ISP's IPv6 only, its router advertisements, its router, and
// the MTU of its path to the server.

async function upstreamIp6tables(lab: LabInfo, args: readonly string[], allowFailure = false): Promise<RunResult> {
  return inNamespace(dataplaneOf(lab).upstreamNamespace, 'ip6tables', ['-w', '5', ...args], { allowFailure, timeoutMs: 15_000 });
}

/**
 * ISP k's IPv6 dies, its IPv4 works: every IPv6 packet forwarded to or from its bridge is
 * dropped silently in the upstream namespace. Its RAs still arrive, so r1 keeps its address
 * and its default route via the ISP. Idempotent.
 */
export async function breakIsp6(lab: LabInfo, k: number): Promise<void> {
  for (const rule of breakRules6(isp6Of(lab, k))) {
    if ((await upstreamIp6tables(lab, ['-C', ...rule], true)).code === 0) continue;
    await upstreamIp6tables(lab, ['-I', ...rule]);
  }
}

/** Removes what breakIsp6 added (every copy of it, bounded). Idempotent. */
export async function repairIsp6(lab: LabInfo, k: number): Promise<void> {
  for (const rule of breakRules6(isp6Of(lab, k))) {
    for (let i = 0; i < 10 && (await upstreamIp6tables(lab, ['-C', ...rule], true)).code === 0; i++) {
      await upstreamIp6tables(lab, ['-D', ...rule]);
    }
  }
}

export interface RaStopOptions {
  /**
   * Default true: the ISP's router first says it is no default router any more (one RA with
   * router lifetime 0, sent before this returns), so r1 drops its default route via wanK at
   * once. false: it just goes silent, and r1's route expires RA_ROUTER_LIFETIME_S after the
   * last RA it heard.
   */
  farewell?: boolean;
}

/** ISP k's router stops advertising: r1 loses its IPv6 gateway on wanK (its SLAAC address stays). */
export async function stopIspRas(lab: LabInfo, k: number, opts: RaStopOptions = {}): Promise<void> {
  const isp = isp6Of(lab, k);
  if (isp.ra !== 'off' && (opts.farewell ?? true)) {
    isp.ra = 'farewell';
    await reloadRadvd(lab, [k]);
  }
  isp.ra = 'off';
  await reloadRadvd(lab, [k]);
}

/** ISP k's router advertises again (one RA sent before this returns): r1 learns its default route via wanK. */
export async function resumeIspRas(lab: LabInfo, k: number): Promise<void> {
  isp6Of(lab, k).ra = 'on';
  await reloadRadvd(lab, [k]);
}

export interface RouterReplacement {
  /** The link-local address ISP k's router advertised from before, and the one it advertises from now. */
  previous: string;
  gateway: string;
}

/**
 * ISP k's router is replaced: the ISP's side of the link gets the next link-local address
 * (ispLinkLocal6(k, generation + 1)), the old one is removed, and RAs come from the new one
 * (one sent before this returns, unless the ISP's RAs are stopped), so r1 learns
 * `default via NEW dev wanK proto ra`. The prefix, the ISP's global address and r1's SLAAC
 * address stay. With farewell (default) the old router first sends an RA with router
 * lifetime 0, so r1 forgets `via OLD` at once; without, r1 keeps it until it expires
 * (RA_ROUTER_LIFETIME_S), unreachable, beside the new one.
 */
export async function replaceIspRouter6(lab: LabInfo, k: number, opts: RaStopOptions = {}): Promise<RouterReplacement> {
  const isp = isp6Of(lab, k);
  const state = isp.ra;
  const previous = isp.gateway;
  if (state === 'on' && (opts.farewell ?? true)) {
    isp.ra = 'farewell';
    await reloadRadvd(lab, [k]);
  }
  const gateway = ispLinkLocal6(k, isp.generation + 1);
  await ipBatchOrThrow([`addr add ${gateway}/64 dev ${isp.bridge} nodad`, `addr del ${previous}/64 dev ${isp.bridge}`], dataplaneOf(lab).upstreamNamespace, { family: 6 });
  Object.assign(isp, { gateway, generation: isp.generation + 1, ra: state });
  await reloadRadvd(lab, [k]);
  return { previous, gateway };
}

/**
 * A hop with a smaller MTU on ISP k's path to the server: ISP k's link to the server (both
 * ends) gets `mtu` bytes (default MTU_HOP_BYTES, 1400), so a larger IPv6 packet from r1 is
 * answered by the ISP with ICMPv6 Packet Too Big (from ispAddress6(k)); IPv4 with DF gets
 * "fragmentation needed". r1's other paths keep 1500.
 */
export async function setMtuHop(lab: LabInfo, k: number, mtu = MTU_HOP_BYTES): Promise<void> {
  const bad = checkMtu6(mtu);
  if (bad) throw new LabError(bad);
  const isp = isp6Of(lab, k);
  const dp = dataplaneOf(lab);
  const lines = mtuHopLines(isp, mtu);
  await ipBatchOrThrow(lines.upstream, dp.upstreamNamespace);
  await ipBatchOrThrow(lines.server, dp.serverNamespace);
  if (mtu === 1500) delete isp.mtuHop;
  else isp.mtuHop = mtu;
  saveManifest(lab);
}

/** ISP k's link to the server back at 1500 bytes (r1 keeps any path MTU it learnt until it expires). */
export function clearMtuHop(lab: LabInfo, k: number): Promise<void> {
  return setMtuHop(lab, k, 1500);
}

/** r1's point-to-point device (wan5) is deleted, as pppd does when the session ends; its ISP's end goes with it. */
export async function dropPtpUplink(lab: LabInfo): Promise<void> {
  const dp = dataplaneOf(lab);
  const { isp } = ptpUplinkLines(dp);
  await ipBatchOrThrow([`link del ${isp.routerInterface}`], dp.routerNamespace);
}

/**
 * The point-to-point device made again with the same name and addresses, as pppd does on
 * reconnect: a new device, so the kernel holds no route through it in any table until
 * someone adds one. The ISP's end gets its shaping and source check back.
 */
export async function restorePtpUplink(lab: LabInfo): Promise<void> {
  const dp = dataplaneOf(lab);
  const lines = ptpUplinkLines(dp);
  await ipBatchOrThrow(lines.host);
  await Promise.all([ipBatchOrThrow(lines.router, dp.routerNamespace), ipBatchOrThrow(lines.upstream, dp.upstreamNamespace)]);
  if (lab.bcp38) await applyBcp38(dp.upstreamNamespace, [lines.isp.bridge]);
  await run('tc', ['-n', dp.upstreamNamespace, '-batch', '-'], { input: ispShapingLines(lines.isp).join('\n') + '\n' });
}
