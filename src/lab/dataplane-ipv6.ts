// The IPv6 side of the data-plane lab (`lab up --dataplane --ipv6`): addresses and routes of
// the ISPs, server, LAN and client, the ISPs' IPv6 BCP38 and RA counters, and what r1 learnt
// from the RAs: its WANs' SLAAC addresses and `proto ra` default routes. r1's IPv6 sysctls
// are left as a fresh router has them (accept_ra=1, forwarding=0): multilink sets its own.
import { join } from 'node:path';
import { clientLines6, defaultRoutes6, globalAddresses6, inPrefix64, ispRules6, routerLines6, serverLines6, upstreamLines6, UPSTREAM_SYSCTLS6, type Address6, type Default6 } from './dataplane-ipv6-plan.js';
import type { DataplanePlan6 } from './dataplane-plan.js';
import { LabError } from './errors.js';
import { inNamespace, logTail, waitFor } from './lab-process.js';
import { saveManifest, type LabDataplane, type LabInfo, type LabIpv6, type LabIsp6 } from './manifest.js';
import { ipv6Of } from './radvd.js';
import { ipBatchOrThrow, run } from './run.js';

export { ipv6Of } from './radvd.js';

export function newLabIpv6(dir: string, p: DataplanePlan6): LabIpv6 {
  return {
    ...p,
    isps: p.isps.map((i) => ({ ...i, generation: 0, routerAddress: '', ra: 'on' })),
    radvdConfig: join(dir, 'radvd.conf'),
    radvdPidFile: join(dir, 'radvd.pid'),
    radvdLog: join(dir, 'radvd.log'),
  };
}

export function isp6Of(lab: LabInfo, k: number): LabIsp6 {
  const v6 = ipv6Of(lab);
  const isp = v6.isps.find((i) => i.k === k);
  if (!isp) throw new LabError(`no ISP ${k} with IPv6 in the lab (ISPs ${v6.isps.map((i) => i.k).join(', ')})`);
  return isp;
}

/** Addresses, routes and the ISPs' ip6tables rules (after configureDataplane: the bridges, veths and eth0 exist). */
export async function configureDataplane6(info: LabInfo, dp: LabDataplane): Promise<void> {
  const v6 = dp.ipv6;
  if (!v6) return;
  const six = { family: 6 } as const;
  await Promise.all([
    ipBatchOrThrow(upstreamLines6(v6), dp.upstreamNamespace, six),
    ipBatchOrThrow(serverLines6(v6), dp.serverNamespace, six),
    ipBatchOrThrow(routerLines6(v6), dp.routerNamespace, six),
    ipBatchOrThrow(clientLines6(v6), dp.clientNamespace, six),
  ]);
  await inNamespace(dp.upstreamNamespace, 'sysctl', ['-qw', ...UPSTREAM_SYSCTLS6]);
  await inNamespace(dp.upstreamNamespace, 'ip6tables-restore', ['-w', '5', '--noflush'], { input: ispRules6(v6, info.bcp38), timeoutMs: 15_000 });
}

/** What r1 holds on ISP K's link: its global addresses on wanK and the default routes via wanK in main. */
export interface RouterWan6 {
  k: number;
  link: string;
  dev: string;
  addresses: Address6[];
  defaults: Default6[];
}

/** r1's IPv6 on each ISP's link now (the RA default routes it learnt, its SLAAC addresses). */
export async function routerWans6(lab: LabInfo): Promise<RouterWan6[]> {
  const ns = lab.routers[0].namespace;
  const [addr, route] = await Promise.all([
    run('ip', ['-n', ns, '-j', '-6', 'addr', 'show', 'scope', 'global'], { timeoutMs: 10_000 }),
    run('ip', ['-n', ns, '-j', '-6', 'route', 'show', 'default'], { timeoutMs: 10_000 }),
  ]);
  const addresses = globalAddresses6(addr.stdout);
  const defaults = defaultRoutes6(route.stdout);
  return ipv6Of(lab).isps.map((i) => ({
    k: i.k,
    link: i.link,
    dev: i.routerInterface,
    addresses: addresses.filter((a) => a.dev === i.routerInterface),
    defaults: defaults.filter((d) => d.dev === i.routerInterface),
  }));
}

/** r1's usable SLAAC address in ISP K's /64 on wanK, if it has one. */
export function slaacAddress(isp: Pick<LabIsp6, 'prefix'>, wan: RouterWan6): string | undefined {
  return wan.addresses.find((a) => inPrefix64(a.address, isp.prefix) && !a.tentative && !a.dadFailed)?.address;
}

/** True when r1 has a `proto ra` default route via ISP K's current link-local on wanK. */
export function hasRaDefault(isp: Pick<LabIsp6, 'gateway'>, wan: RouterWan6): boolean {
  return wan.defaults.some((d) => d.gateway === isp.gateway && d.protocol === 'ra');
}

/** r1's IPv6 sysctls on its WANs, for an error message (forwarding=1 with accept_ra=1 ignores RAs). */
async function routerSysctls6(lab: LabInfo): Promise<string> {
  const keys = ['net.ipv6.conf.all.forwarding', ...ipv6Of(lab).isps.flatMap((i) => ['forwarding', 'accept_ra', 'autoconf', 'disable_ipv6'].map((k) => `net.ipv6.conf.${i.routerInterface}.${k}`))];
  const r = await inNamespace(lab.routers[0].namespace, 'sysctl', keys, { allowFailure: true, timeoutMs: 10_000 });
  return r.stdout.trim().split('\n').join(', ');
}

/**
 * Waits until each WAN of r1 has its SLAAC address in its ISP's /64 (DAD done) and a
 * `proto ra` default route via its ISP's link-local; records the addresses. Throws after
 * limitMs naming what is missing, r1's IPv6 sysctls and radvd's log.
 */
export async function waitSlaac(lab: LabInfo, limitMs = 20_000): Promise<void> {
  const v6 = ipv6Of(lab);
  let wans: RouterWan6[] = [];
  const ok = await waitFor(async () => {
    wans = await routerWans6(lab);
    return v6.isps.every((isp, n) => slaacAddress(isp, wans[n]) !== undefined && hasRaDefault(isp, wans[n]));
  }, limitMs, 100);
  if (ok === undefined) {
    const missing = v6.isps.flatMap((isp, n) => {
      const w = wans[n];
      const problems = [
        ...(slaacAddress(isp, w) ? [] : [`no usable address in ${isp.prefix} (has ${w?.addresses.map((a) => `${a.address}${a.tentative ? ' tentative' : ''}${a.dadFailed ? ' dadfailed' : ''}`).join(', ') || 'none'})`]),
        ...(w && hasRaDefault(isp, w) ? [] : [`no default via ${isp.gateway} proto ra (has ${w?.defaults.map((d) => `via ${d.gateway} proto ${d.protocol}`).join(', ') || 'none'})`]),
      ];
      return problems.length ? [`${isp.routerInterface}: ${problems.join(', ')}`] : [];
    });
    throw new LabError(
      `r1 did not configure IPv6 from its ISPs' router advertisements within ${limitMs / 1000} s: ${missing.join('; ')}; ` +
        `r1's sysctls: ${await routerSysctls6(lab)}; ${v6.radvdLog}:\n  ${logTail(v6.radvdLog)}`,
    );
  }
  v6.isps.forEach((isp, n) => (isp.routerAddress = slaacAddress(isp, wans[n]) ?? ''));
  saveManifest(lab);
}
