// The IPv6 side of the data-plane lab (`lab up --dataplane --ipv6`), pure: `ip -6 -batch`
// lines per namespace, the ISPs' ip6tables rules (BCP38, RA counters, faults), radvd's
// configuration and the parsers of what r1 learnt (SLAAC addresses, RA default routes).
// r1's WANs get nothing static here: their addresses and gateways come from the ISPs' RAs.
import { CLIENT_INTERFACE, IPV6_MIN_MTU, RA_MAX_INTERVAL_S, RA_MIN_INTERVAL_S, RA_ROUTER_LIFETIME_S, type DataplaneIsp6, type DataplanePlan6 } from './dataplane-plan.js';
import { ipv6Groups } from '../net/ipv6.js';

/**
 * Upstream namespace (`ip -6 -batch`): each ISP's bridge holds only the link-local address its
 * router advertises from (no kernel-made one: addrgenmode none, then flushed) and its global
 * address; what came in on ispK reaches the server over ISP K's link (the IPv4 table, an IPv6
 * rule of its own); replies to ispK's /64 are delivered on the bridge (connected).
 */
export function upstreamLines6(p: DataplanePlan6): string[] {
  const lines: string[] = [];
  for (const isp of p.isps) {
    lines.push(
      `link set ${isp.bridge} addrgenmode none`,
      `addr flush dev ${isp.bridge} scope link`,
      `addr add ${isp.gateway}/64 dev ${isp.bridge} nodad`,
      `addr add ${isp.ispAddress}/64 dev ${isp.bridge} nodad`,
      `addr add ${isp.upstreamP2p}/64 dev ${isp.serverPort} nodad`,
      `route add ${p.serverCidr} via ${isp.serverP2p} dev ${isp.serverPort} table ${isp.table}`,
      `rule add iif ${isp.bridge} lookup ${isp.table} priority ${isp.table}`,
    );
  }
  // From the upstream namespace itself (diagnostics), ISP 1's path.
  if (p.isps[0]) lines.push(`route add ${p.serverCidr} via ${p.isps[0].serverP2p} dev ${p.isps[0].serverPort}`);
  return lines;
}

/** The upstream namespace routes IPv6 (it is every ISP's router). */
export const UPSTREAM_SYSCTLS6: readonly string[] = ['net.ipv6.conf.all.forwarding=1'];

/** Server namespace (`ip -6 -batch`): its address on lo, each ISP's /64 back over that ISP. */
export function serverLines6(p: DataplanePlan6): string[] {
  const lines = [`addr add ${p.serverAddress}/128 dev lo`];
  for (const isp of p.isps) {
    lines.push(`addr add ${isp.serverP2p}/64 dev ${isp.serverInterface} nodad`, `route add ${isp.prefix} via ${isp.upstreamP2p} dev ${isp.serverInterface}`);
  }
  return lines;
}

/** r1 (`ip -6 -batch`): its ULA on lan0, nothing else (the WANs configure themselves from RAs). */
export function routerLines6(p: DataplanePlan6): string[] {
  return [`addr add ${p.routerLanAddress}/64 dev lan0 nodad`];
}

/** The client (`ip -6 -batch`): its ULA, IPv6 default via r1's. */
export function clientLines6(p: DataplanePlan6): string[] {
  return [`addr add ${p.clientAddress}/64 dev ${CLIENT_INTERFACE} nodad`, `route add default via ${p.routerLanAddress} dev ${CLIENT_INTERFACE}`];
}

/** Comment of ISP K's rule that drops IPv6 sources outside its /64; its packet count is spoofedDrops6. */
export function bcp38Comment6(k: number): string {
  return `multilink-lab-bcp38-6-isp${k}`;
}

/** Comment of ISP K's rule that counts the RAs it sends (a rule without target). */
export function raComment(k: number): string {
  return `multilink-lab-ra-isp${k}`;
}

/**
 * ip6tables-restore --noflush text for the upstream namespace: a counter of the RAs each ISP
 * sends, and with bcp38 the IPv6 BCP38 of each ISP (IPv6 has no rp_filter sysctl): forwarded
 * packets from ispK whose source is outside ISP K's /64 are dropped, and counted.
 */
export function ispRules6(p: DataplanePlan6, bcp38: boolean): string {
  const lines = ['*filter'];
  for (const isp of p.isps) {
    lines.push(`-A OUTPUT -o ${isp.bridge} -p ipv6-icmp -m icmp6 --icmpv6-type 134 -m comment --comment ${raComment(isp.k)}`);
    if (bcp38) lines.push(`-A FORWARD -i ${isp.bridge} ! -s ${isp.prefix} -m comment --comment ${bcp38Comment6(isp.k)} -j DROP`);
  }
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** The ip6tables rules (upstream namespace, FORWARD) that silently drop ISP K's IPv6, and only its IPv6. */
export function breakRules6(isp: Pick<DataplaneIsp6, 'k' | 'bridge'>): string[][] {
  const comment = ['-m', 'comment', '--comment', `multilink-lab-break6-isp${isp.k}`];
  return [
    ['FORWARD', '-i', isp.bridge, ...comment, '-j', 'DROP'],
    ['FORWARD', '-o', isp.bridge, ...comment, '-j', 'DROP'],
  ];
}

/** `ip-save -c` output → packets counted by each commented rule (summed when a comment repeats). */
export function commentCounters(save: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of save.split('\n')) {
    const m = /^\[(\d+):\d+\] -A .*--comment "?([^"\s]+)"?/.exec(line);
    if (m) counts.set(m[2], (counts.get(m[2]) ?? 0) + Number(m[1]));
  }
  return counts;
}

/**
 * What ISP K's router advertises: `on` (its prefix and itself as default router), `farewell`
 * (router lifetime 0: "I am no default router", which r1 acts on at once; the prefix stays) or
 * `off` (no RAs at all: a learnt default route expires after RA_ROUTER_LIFETIME_S).
 */
export type RaState = 'on' | 'farewell' | 'off';

export interface RadvdInterface {
  bridge: string;
  prefix: string;
  state: RaState;
}

/** radvd.conf: one interface block per ISP. */
export function renderRadvdConfig(ifaces: readonly RadvdInterface[]): string {
  const lines = ['# radvd of the multilink data-plane lab (--ipv6): each ISP advertises its /64 to r1'];
  for (const i of ifaces) {
    lines.push(
      `interface ${i.bridge} {`,
      `    AdvSendAdvert ${i.state === 'off' ? 'off' : 'on'};`,
      `    MinRtrAdvInterval ${RA_MIN_INTERVAL_S};`,
      `    MaxRtrAdvInterval ${RA_MAX_INTERVAL_S};`,
      `    AdvDefaultLifetime ${i.state === 'farewell' ? 0 : RA_ROUTER_LIFETIME_S};`,
      `    prefix ${i.prefix} {`,
      '        AdvOnLink on;',
      '        AdvAutonomous on;',
      '    };',
      '};',
    );
  }
  return lines.join('\n') + '\n';
}

export function checkMtu6(mtu: number): string | undefined {
  if (!Number.isInteger(mtu) || mtu < IPV6_MIN_MTU || mtu > 1500) return `an MTU hop must be a whole number of bytes from ${IPV6_MIN_MTU} (IPv6's minimum) to 1500, got ${mtu}`;
  return undefined;
}

/** ISP K's link to the server at this MTU: the upstream end (`ip -batch` in the upstream namespace) and the server end. */
export function mtuHopLines(isp: Pick<DataplaneIsp6, 'serverPort' | 'serverInterface'>, mtu: number): { upstream: string[]; server: string[] } {
  return { upstream: [`link set ${isp.serverPort} mtu ${mtu}`], server: [`link set ${isp.serverInterface} mtu ${mtu}`] };
}

/** True when the address is in the /64 prefix ("2001:db8:1::/64"). */
export function inPrefix64(address: string, prefix: string): boolean {
  const [net, len] = prefix.split('/');
  const a = ipv6Groups(address);
  const n = ipv6Groups(net);
  return len === '64' && a !== undefined && n !== undefined && a.slice(0, 4).every((g, i) => g === n[i]);
}

interface IpAddrJson {
  ifname?: string;
  addr_info?: { family?: string; local?: string; prefixlen?: number; scope?: string; tentative?: boolean; dadfailed?: boolean; dynamic?: boolean }[];
}

export interface Address6 {
  dev: string;
  address: string;
  prefixLen: number;
  /** DAD still running (not yet usable as a source) or failed. */
  tentative: boolean;
  dadFailed: boolean;
  /** Made by SLAAC (has lifetimes). */
  dynamic: boolean;
}

/** `ip -j -6 addr show scope global` → the global addresses and their devices. */
export function globalAddresses6(json: string): Address6[] {
  const parsed = JSON.parse(json || '[]') as IpAddrJson[];
  return parsed.flatMap((l) =>
    (l.addr_info ?? [])
      .filter((a) => a.family === 'inet6' && a.scope === 'global' && typeof a.local === 'string')
      .map((a) => ({ dev: l.ifname ?? '', address: a.local ?? '', prefixLen: a.prefixlen ?? 0, tentative: a.tentative === true, dadFailed: a.dadfailed === true, dynamic: a.dynamic === true })),
  );
}

interface IpRouteJson {
  dst?: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
}

export interface Default6 {
  gateway: string;
  dev: string;
  /** `ra` for a route learnt from router advertisements. */
  protocol: string;
}

/** `ip -j -6 route show default` (main table) → each default route's gateway, device and protocol. */
export function defaultRoutes6(json: string): Default6[] {
  const parsed = JSON.parse(json || '[]') as IpRouteJson[];
  return parsed.filter((r) => r.dst === 'default' && r.gateway && r.dev).map((r) => ({ gateway: r.gateway ?? '', dev: r.dev ?? '', protocol: r.protocol ?? '' }));
}
