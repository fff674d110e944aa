// The dual-stack data-plane lab of issue 18 for tests: `lab up --dataplane --ipv6` (ISPs that
// advertise their /64 by RA and drop other IPv6 sources, r1's WANs by SLAAC, a ULA LAN, a
// server on 2001:db8:ff::1), the acceptance playbook (`gateway6: auto` on every link), and a
// way to send from r1 through one ISP explicitly: r1's main table holds one RA default per
// WAN, so a source-bound socket alone does not choose the link.
import type { LabInfo } from '../../src/lab/lab.js';
import type { ExtraUplink } from '../../src/lab/dataplane-plan.js';
import { isp6Of } from '../../src/lab/dataplane-ipv6.js';
import { renderDataplanePlaybook, type BalanceMethod, type HealthSettings, type TrafficKind } from '../../src/lab/lab-playbooks.js';
import { findCommand } from '../../src/lab/packages.js';
import { hostileLabSupport } from './hostile-lab.js';
import { sh, startTestLab, type CommandResult } from './lab.js';
import { balanceCountersFromSave } from '../../src/lab/dataplane-measure.js';
import { linkMarks } from '../../src/lab/dataplane-traffic.js';
import { inNamespace } from '../../src/lab/lab-process.js';

export { ispAddress6, ispLinkLocal6, ispPrefix6, CLIENT_ADDRESS6, LAN_ADDRESS6, LAN_PREFIX6, MTU_HOP_BYTES, RA_ROUTER_LIFETIME_S, SERVER_ADDRESS6, SERVER_CIDR6 } from '../../src/lab/dataplane-plan.js';
export { breakIsp6, clearMtuHop, repairIsp6, replaceIspRouter6, resumeIspRas, setMtuHop, stopIspRas, type RouterReplacement } from '../../src/lab/dataplane-faults.js';
export { hasRaDefault, ipv6Of, isp6Of, routerWans6, slaacAddress, type RouterWan6 } from '../../src/lab/dataplane-ipv6.js';
export { spoofedDrops6 } from '../../src/lab/isp-filter.js';
export { raSent } from '../../src/lab/radvd.js';

/** Can this machine run the dual-stack lab? (the hostile lab's needs, radvd, ip6tables) */
export function ipv6LabSupport(): { ok: boolean; reason?: string } {
  const base = hostileLabSupport();
  if (!base.ok) return base;
  for (const cmd of ['radvd', 'ip6tables', 'ip6tables-save']) {
    if (!findCommand(cmd)) return { ok: false, reason: `${cmd} is missing (the test setup installs it as root)` };
  }
  return { ok: true };
}

export interface Ipv6LabOptions {
  uplinks?: readonly ExtraUplink[];
  /** Default true: ISPs drop spoofed sources, IPv4 and IPv6. */
  bcp38?: boolean;
  openwrt?: boolean;
  rates?: number[];
}

/** A fresh dual-stack data-plane lab (removed by the lab helper's afterAll); returns once r1 has its SLAAC addresses and RA gateways. */
export function startIpv6Lab(opts: Ipv6LabOptions = {}): Promise<LabInfo> {
  return startTestLab(1, {
    dataplane: true,
    ipv6: true,
    uplinks: opts.uplinks ?? [],
    bcp38: opts.bcp38 ?? true,
    ...(opts.rates ? { rates: opts.rates } : {}),
    ...(opts.openwrt ? { openwrt: ['r1'] } : {}),
  });
}

export interface Ipv6PlaybookInput {
  method?: BalanceMethod;
  /** dsl, cable, lte; default 1:2:3 (the rates'). */
  weights?: readonly number[];
  traffic?: readonly TrafficKind[];
  /** The server's IPv6 address is added to the targets when none is IPv6. */
  health?: HealthSettings;
}

/** Issue 18's acceptance playbook: `traffic: [forwarded, local]`, weights 1:2:3, every link `gateway6: auto`. */
export function ipv6Playbook(input: Ipv6PlaybookInput = {}): string {
  return renderDataplanePlaybook({
    method: input.method ?? 'random',
    weights: input.weights ?? [1, 2, 3],
    traffic: input.traffic ?? ['forwarded', 'local'],
    health: input.health,
    ipv6: true,
  });
}

/** A command in r1's namespace. */
export function inR1(lab: LabInfo, cmd: string, args: readonly string[], timeoutMs = 20_000): CommandResult {
  return sh('ip', ['netns', 'exec', lab.routers[0].namespace, cmd, ...args], timeoutMs);
}

/** Table and rule priority of viaIsp's temporary route: apart from multilink's (100 + k, 1000+). */
const VIA_TABLE = 250;
const VIA_PRIORITY = 40;

/**
 * Runs fn while r1 sends what comes from `source` (default: r1's own address on ISP k's link in
 * that family) out of wanK via ISP k's current gateway: a temporary `ip rule from SOURCE` and
 * default route in a table of its own, removed afterwards. A source of another link's address
 * makes a spoofed packet (dropped by BCP38 ISPs).
 */
export async function viaIsp<T>(lab: LabInfo, k: number, family: 4 | 6, fn: (source: string) => T | Promise<T>, source?: string): Promise<T> {
  const dp = lab.dataplane;
  const isp4 = dp?.isps.find((i) => i.k === k);
  if (!dp || !isp4) throw new Error(`no ISP ${k} in the lab`);
  const isp6 = family === 6 ? isp6Of(lab, k) : undefined;
  const from = source ?? (isp6 ? isp6.routerAddress : isp4.routerAddress);
  const gateway = isp6 ? isp6.gateway : isp4.gateway;
  const fam = `-${family}`;
  const setup = [
    inR1(lab, 'ip', [fam, 'rule', 'add', 'from', from, 'lookup', String(VIA_TABLE), 'priority', String(VIA_PRIORITY)]),
    inR1(lab, 'ip', [fam, 'route', 'replace', 'default', 'via', gateway, 'dev', isp4.routerInterface, 'table', String(VIA_TABLE)]),
  ];
  try {
    const failed = setup.find((r) => r.code !== 0);
    if (failed) throw new Error(`viaIsp ${k} IPv${family}: ${failed.stderr.trim()}`);
    return await fn(from);
  } finally {
    inR1(lab, 'ip', [fam, 'rule', 'del', 'priority', String(VIA_PRIORITY)]);
    inR1(lab, 'ip', [fam, 'route', 'flush', 'table', String(VIA_TABLE)]);
  }
}

/**
 * `ping` from r1, `-I source`: an address (routed by r1's tables: use viaIsp to choose the link)
 * or an interface (wanK: the socket is bound to it, so r1's RA default via wanK carries it).
 * size: payload bytes, sent with don't-fragment. Returns replies received and ping's output.
 */
export function pingFrom(lab: LabInfo, family: 4 | 6, source: string, target: string, opts: { count?: number; size?: number } = {}): { received: number; output: string } {
  const count = opts.count ?? 3;
  const r = inR1(lab, 'ping', [`-${family}`, '-n', '-c', String(count), '-i', '0.2', '-W', '1', '-I', source, ...(opts.size ? ['-s', String(opts.size), '-M', 'do'] : []), target]);
  const m = /(\d+) (?:packets )?received/.exec(r.stdout);
  return { received: m ? Number(m[1]) : 0, output: r.stdout + r.stderr };
}

export const sleep = (ms: number): Promise<void> => new Promise((ok) => setTimeout(ok, ms));

/** Seconds until cond holds, polling every 100 ms, at most limit s (Infinity: never). */
export async function timeUntil(cond: () => boolean, limit: number): Promise<number> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > limit * 1000) return Infinity;
    await sleep(100);
  }
  return (Date.now() - start) / 1000;
}

/** New connections per link of one family's ML_BALANCE (its rule counters) while fn ran. */
export async function perLinkOf(lab: LabInfo, family: 4 | 6, fn: () => Promise<unknown>): Promise<Record<string, number>> {
  const r = lab.routers[0];
  const save = async () => balanceCountersFromSave((await inNamespace(r.namespace, `ip${family === 6 ? '6' : ''}tables-${r.iptables}-save`, ['-c', '-t', 'mangle'], { timeoutMs: 15_000 })).stdout);
  const before = await save();
  await fn();
  const after = await save();
  return Object.fromEntries([...linkMarks(lab)].map(([mark, link]) => [link, (after.get(mark) ?? 0) - (before.get(mark) ?? 0)]));
}
