// The data plane of `multilink lab up --dataplane` (pure): a client behind router r1's lan0,
// each uplink made a rate-limited ISP path through the upstream namespace, and a server
// namespace behind every ISP. Names, addresses, `ip -batch` lines, tc shaping and the
// server's files are derived here from the prefix and rates; dataplane-setup.ts runs them.
import { dataplaneNamespacesOf, LAB_UPLINKS, LAN_ADDRESS, type LabUplink, type RouterPlan } from './topology.js';

/** Mbit/s of each ISP in LAB_UPLINKS order (wan1, wan2, wan3). */
export const DEFAULT_RATES: readonly number[] = [20, 40, 60];
export const MAX_RATE_MBIT = 10_000;
export const CLIENT_ADDRESS = '192.0.2.10';
export const SERVER_ADDRESS = '198.51.100.1';
export const SERVER_CIDR = '198.51.100.0/24';
/** The client end of lan0's veth, renamed once it is moved into the client namespace. */
export const CLIENT_INTERFACE = 'eth0';
export const IPERF_PORTS: readonly number[] = [5201, 5202, 5203, 5204];
/** A TCP server that answers "ok" and closes: for counting short connections. */
export const TCP_PORT = 8080;
export const FTP_PORT = 21;
export const PASV_MIN_PORT = 30000;
export const PASV_MAX_PORT = 30099;
export const FTP_FILE = 'file.bin';
export const FTP_FILE_BYTES = 5 * 1024 * 1024;
/** Commands the data plane runs → Debian package. */
export const DATAPLANE_COMMANDS: Readonly<Record<string, string>> = { iperf3: 'iperf3', vsftpd: 'vsftpd', tc: 'iproute2', curl: 'curl', busybox: 'busybox' };
/** The service on r1 (0.0.0.0, standing in for its web UI/DNS) and on the LAN host (the client). */
export const ROUTER_SERVICE_PORT = 80;
export const LAN_SERVICE_PORT = 8080;
/** The LAN prefix, routed by ISP 1 to r1 (a business line): r1's LAN reaches the server unNATed over dsl. */
export const LAN_CIDR = '192.0.2.0/24';
/** Rate of the extra uplinks (DHCP, point-to-point), Mbit/s. */
export const EXTRA_UPLINK_RATE = 50;
// IPv6 (`--ipv6`), dual stack on the three static ISPs: addresses in 2001:db8::/32 and a ULA
// LAN. ISP K advertises ispPrefix6(K) by router advertisements (radvd) from ispLinkLocal6(K);
// r1's wanK takes its address by SLAAC and its default route from those RAs.

/** ISP K's /64, advertised in its RAs; the ISP drops IPv6 sources outside it (BCP38). */
export function ispPrefix6(k: number): string {
  return `2001:db8:${k}::/64`;
}

/** ISP K's own global address in its /64 (on bridge ispK): the source of its ICMPv6 errors. */
export function ispAddress6(k: number): string {
  return `2001:db8:${k}::1`;
}

/**
 * The link-local address ISP K's router advertises from, r1's IPv6 gateway on wanK:
 * fe80::K:1 at first, fe80::K:2 after the first replaceIspRouter6, and so on.
 */
export function ispLinkLocal6(k: number, generation = 0): string {
  if (!Number.isInteger(generation) || generation < 0 || generation > 0xfffe) throw new RangeError(`router generation ${generation} is not 0..65534`);
  return `fe80::${k}:${(generation + 1).toString(16)}`;
}

/** The upstream end (::1) and the server end (::2) of ISP K's link to the server, a /64. */
export function upstreamP2p6(k: number): string {
  return `2001:db8:100:${k}::1`;
}
export function serverP2p6(k: number): string {
  return `2001:db8:100:${k}::2`;
}

/** The server's IPv6 address (on its lo), in the prefix every ISP routes to it. */
export const SERVER_ADDRESS6 = '2001:db8:ff::1';
export const SERVER_CIDR6 = '2001:db8:ff::/64';
/** r1's LAN: a ULA /64, r1 on ::1 (lan0), the client on ::10 with its IPv6 default via r1. */
export const LAN_PREFIX6 = 'fd00:0:0:1::/64';
export const LAN_ADDRESS6 = 'fd00:0:0:1::1';
export const CLIENT_ADDRESS6 = 'fd00:0:0:1::10';
/**
 * The ISPs' RAs: unsolicited every 3–4 s (radvd's shortest), router lifetime 12 s, so a
 * default route learnt from an ISP that went silent expires 12 s after its last RA (and one
 * r1 ignores, forwarding=1 with accept_ra=1, is gone as fast).
 */
export const RA_MIN_INTERVAL_S = 3;
export const RA_MAX_INTERVAL_S = 4;
export const RA_ROUTER_LIFETIME_S = 12;
/** The MTU of the smaller hop setMtuHop puts on an ISP's path to the server (Packet Too Big). */
export const MTU_HOP_BYTES = 1400;
/** The smallest link MTU IPv6 allows (RFC 8200). */
export const IPV6_MIN_MTU = 1280;
/** Commands `--ipv6` runs → Debian package. */
export const IPV6_COMMANDS: Readonly<Record<string, string>> = { radvd: 'radvd', ip6tables: 'iptables', 'ip6tables-save': 'iptables' };

/** ISP K's IPv6 (the three static ISPs only: the DHCP and point-to-point uplinks carry none). */
export interface DataplaneIsp6 {
  k: number;
  link: string;
  /** r1's interface (wanK), which takes its address by SLAAC. */
  routerInterface: string;
  /** The ISP's interface facing r1 (bridge ispK in the upstream namespace), where radvd advertises. */
  bridge: string;
  /** ispPrefix6(K), ispAddress6(K), and ispLinkLocal6(K) (the first router's gateway). */
  prefix: string;
  ispAddress: string;
  gateway: string;
  /** ISP K's link to the server: upstream end on serverPort, server end on serverInterface. */
  serverPort: string;
  serverInterface: string;
  upstreamP2p: string;
  serverP2p: string;
  /** The upstream namespace's table for what came in on ispK (shared with IPv4). */
  table: number;
}

export interface DataplanePlan6 {
  lanPrefix: string;
  /** r1's address on lan0, and the client's. */
  routerLanAddress: string;
  clientAddress: string;
  serverAddress: string;
  serverCidr: string;
  isps: DataplaneIsp6[];
}

/** The IPv6 side of a data plane: its static ISPs. */
export function planDataplane6(isps: readonly DataplaneIsp[]): DataplanePlan6 {
  return {
    lanPrefix: LAN_PREFIX6,
    routerLanAddress: LAN_ADDRESS6,
    clientAddress: CLIENT_ADDRESS6,
    serverAddress: SERVER_ADDRESS6,
    serverCidr: SERVER_CIDR6,
    isps: isps
      .filter((i) => i.kind === 'static')
      .map((i) => ({
        k: i.k,
        link: i.link,
        routerInterface: i.routerInterface,
        bridge: i.bridge,
        prefix: ispPrefix6(i.k),
        ispAddress: ispAddress6(i.k),
        gateway: ispLinkLocal6(i.k),
        serverPort: i.serverPort,
        serverInterface: i.serverInterface,
        upstreamP2p: upstreamP2p6(i.k),
        serverP2p: serverP2p6(i.k),
        table: i.table,
      })),
  };
}
/** Same MAC on both ends of the point-to-point veth: with ARP off each end takes the other's frames as its own. */
const PTP_MAC = '02:6d:6c:00:00:05';

/**
 * Uplinks of r1 beyond the three static ones: `dhcp` (wan4, "wifi": address, gateway and
 * subnet from a DHCP server at ISP 4, which can change them on renewal) and `ptp` (wan5,
 * "ptp": a point-to-point device with no gateway, peer 100.64.5.1).
 */
export type ExtraUplink = 'dhcp' | 'ptp';
export const EXTRA_UPLINKS: readonly ExtraUplink[] = ['dhcp', 'ptp'];

export interface DataplaneIsp {
  /** K of ispK / 100.64.K.0/24 / wanK. */
  k: number;
  /** static: fixed address and gateway; dhcp: both leased; ptp: point-to-point, no gateway. */
  kind: 'static' | ExtraUplink;
  link: string;
  /** Router interface (wanK) and its address (dhcp: the first lease's, see LabDhcp for the current one). */
  routerInterface: string;
  routerAddress: string;
  /** Bridge ispK in the upstream namespace, gateway 100.64.K.1 (ptp: the upstream end of the link, no gateway). */
  bridge: string;
  gateway: string;
  /** The router's subnet at this ISP (ptp: the peer's /32). */
  subnet: string;
  /** Port of bridge ispK facing the router: shaped toward the router (downloads). */
  routerPort: string;
  /** Upstream end of the veth to the server: shaped toward the server (uploads). */
  serverPort: string;
  /** Server end of that veth, and the /30 on it. */
  serverInterface: string;
  upstreamP2p: string;
  serverP2p: string;
  /** Policy routing table in the upstream namespace for traffic that came in on this ISP. */
  table: number;
  rateMbit: number;
}

export interface DataplanePlan {
  clientNamespace: string;
  serverNamespace: string;
  upstreamNamespace: string;
  lanNamespace: string;
  /** lan0's peer in the lan namespace before the move. */
  lanPeer: string;
  routerNamespace: string;
  /** The client on r1's LAN, and the server behind every ISP (on its lo). */
  clientAddress: string;
  serverAddress: string;
  /** iperf3 servers, and the TCP "ok" server, on the server address. */
  iperfPorts: number[];
  tcpPort: number;
  /** TCP "ok" services: on r1 (every address) and on the client (the LAN host). */
  routerServicePort: number;
  lanServicePort: number;
  isps: DataplaneIsp[];
  /** `--ipv6`: dual stack (see planDataplane6). */
  ipv6?: DataplanePlan6;
}

export function checkRates(rates: readonly number[]): string | undefined {
  if (rates.length !== LAB_UPLINKS.length || rates.some((r) => !Number.isInteger(r) || r < 1 || r > MAX_RATE_MBIT)) {
    return `dataplane rates must be ${LAB_UPLINKS.length} whole numbers of Mbit/s from 1 to ${MAX_RATE_MBIT}, got ${rates.join(', ')}`;
  }
  return undefined;
}


export function planDataplane(
  prefix: string,
  router: Pick<RouterPlan, 'name' | 'namespace' | 'wanAddresses' | 'lanPeer' | 'upstreamPorts'>,
  rates: readonly number[] = DEFAULT_RATES,
  extras: readonly ExtraUplink[] = [],
  ipv6 = false,
): DataplanePlan {
  const bad = checkRates(rates);
  if (bad) throw new RangeError(bad);
  const path = (k: number) => ({
    serverPort: `srv${k}`,
    serverInterface: `isp${k}`,
    upstreamP2p: `100.64.${100 + k}.1`,
    serverP2p: `100.64.${100 + k}.2`,
    table: 100 + k,
  });
  const host = router.wanAddresses[0].split('.')[3];
  const extra = (kind: ExtraUplink): DataplaneIsp =>
    kind === 'dhcp'
      ? { k: 4, kind, link: 'wifi', routerInterface: 'wan4', routerAddress: '', bridge: 'isp4', gateway: '100.64.4.1', subnet: '100.64.4.0/24', routerPort: `${router.name}-w4`, ...path(4), rateMbit: EXTRA_UPLINK_RATE }
      : { k: 5, kind, link: 'ptp', routerInterface: 'wan5', routerAddress: `100.64.5.${host}`, bridge: 'ptp5', gateway: '', subnet: '100.64.5.1/32', routerPort: 'ptp5', ...path(5), rateMbit: EXTRA_UPLINK_RATE };
  const plan: DataplanePlan = {
    ...dataplaneNamespacesOf(prefix),
    upstreamNamespace: `${prefix}-up`,
    lanNamespace: `${prefix}-lan`,
    lanPeer: router.lanPeer,
    routerNamespace: router.namespace,
    clientAddress: CLIENT_ADDRESS,
    serverAddress: SERVER_ADDRESS,
    iperfPorts: [...IPERF_PORTS],
    tcpPort: TCP_PORT,
    routerServicePort: ROUTER_SERVICE_PORT,
    lanServicePort: LAN_SERVICE_PORT,
    isps: [
      ...LAB_UPLINKS.map((u: LabUplink, i): DataplaneIsp => ({
        k: u.k,
        kind: 'static',
        link: u.name,
        routerInterface: u.interface,
        routerAddress: router.wanAddresses[i],
        bridge: `isp${u.k}`,
        gateway: u.gateway,
        subnet: `100.64.${u.k}.0/24`,
        routerPort: router.upstreamPorts[i],
        ...path(u.k),
        rateMbit: rates[i],
      })),
      ...EXTRA_UPLINKS.filter((k) => extras.includes(k)).map(extra),
    ],
  };
  if (ipv6) plan.ipv6 = planDataplane6(plan.isps);
  return plan;
}

/** An extra uplink's ends in r1 and in the upstream namespace (host namespace, like every link). */
function extraLinkLines(p: DataplanePlan, isp: DataplaneIsp): string[] {
  if (isp.kind === 'dhcp') return [`link add ${isp.routerInterface} netns ${p.routerNamespace} type veth peer name ${isp.routerPort} netns ${p.upstreamNamespace}`];
  if (isp.kind === 'ptp') {
    return [`link add ${isp.routerInterface} netns ${p.routerNamespace} address ${PTP_MAC} type veth peer name ${isp.routerPort} netns ${p.upstreamNamespace} address ${PTP_MAC}`];
  }
  return [];
}

/** r1's side of an extra uplink: wan4 up without an address (its DHCP client adds one), wan5 point-to-point. */
function routerIspLines(isp: DataplaneIsp): string[] {
  if (isp.kind === 'dhcp') return [`link set ${isp.routerInterface} up`];
  if (isp.kind === 'ptp') {
    const peer = isp.subnet.split('/')[0];
    return [`addr add ${isp.routerAddress} peer ${peer} dev ${isp.routerInterface}`, `link set ${isp.routerInterface} arp off`, `link set ${isp.routerInterface} up`];
  }
  return [];
}

/** r1's side of the extra uplinks. */
export function routerExtraLines(p: DataplanePlan): string[] {
  return p.isps.flatMap(routerIspLines);
}

/** The ISP's end of the point-to-point uplink: the peer address, no ARP. */
function ptpUpstreamLines(isp: DataplaneIsp): string[] {
  const [peer] = isp.subnet.split('/');
  return [`addr add ${peer} peer ${isp.routerAddress} dev ${isp.bridge}`, `link set ${isp.bridge} arp off`, `link set ${isp.bridge} up`];
}

/**
 * The point-to-point uplink made again after its device was deleted, as a PPP reconnect does:
 * the veth (host namespace), r1's end and the ISP's end (`ip -batch` lines of each). The
 * ISP's policy rule names its interface and so holds on; its shaping (ispShapingLines) and
 * source check are the caller's.
 */
export function ptpUplinkLines(p: DataplanePlan): { isp: DataplaneIsp; host: string[]; router: string[]; upstream: string[] } {
  const isp = p.isps.find((i) => i.kind === 'ptp');
  if (!isp) throw new RangeError('the data plane has no point-to-point uplink (--ptp-uplink)');
  return { isp, host: extraLinkLines(p, isp), router: routerIspLines(isp), upstream: ptpUpstreamLines(isp) };
}

/** The extra ISPs' interfaces facing r1 in the upstream namespace, where they check sources (BCP38). */
export function extraIspInterfaces(p: DataplanePlan): string[] {
  return p.isps.filter((isp) => isp.kind !== 'static').map((isp) => isp.bridge);
}

/** Host namespace: the server veths, each end created in its lab namespace. */
export function dataplaneLinkLines(p: DataplanePlan): string[] {
  return [
    ...p.isps.map((isp) => `link add ${isp.serverPort} netns ${p.upstreamNamespace} type veth peer name ${isp.serverInterface} netns ${p.serverNamespace}`),
    ...p.isps.flatMap((isp) => extraLinkLines(p, isp)),
  ];
}

/** Lan namespace: lan0's peer moves to the client, which then sits on r1's LAN segment. */
export function moveLanPeerLines(p: DataplanePlan): string[] {
  return [`link set ${p.lanPeer} netns ${p.clientNamespace}`];
}

export function clientLines(p: DataplanePlan): string[] {
  return [
    'link set lo up',
    `link set ${p.lanPeer} name ${CLIENT_INTERFACE}`,
    `addr add ${CLIENT_ADDRESS}/24 dev ${CLIENT_INTERFACE}`,
    `link set ${CLIENT_INTERFACE} up`,
    `route add default via ${LAN_ADDRESS} dev ${CLIENT_INTERFACE}`,
  ];
}

/**
 * The upstream namespace as a router of three ISPs: what came in on ISP K (bridge ispK)
 * goes to the server over ISP K's own veth (policy routing), so each ISP is one path.
 * Replies come back on srvK and are delivered to 100.64.K.0/24 on the bridge.
 */
export function upstreamDataplaneLines(p: DataplanePlan): string[] {
  const lines: string[] = [];
  for (const isp of p.isps) {
    if (isp.kind === 'dhcp') {
      lines.push(`link add ${isp.bridge} type bridge`, `addr add ${isp.gateway}/24 dev ${isp.bridge}`, `link set ${isp.bridge} up`);
      lines.push(`link set ${isp.routerPort} master ${isp.bridge}`, `link set ${isp.routerPort} up`);
    } else if (isp.kind === 'ptp') {
      lines.push(...ptpUpstreamLines(isp));
    }
    lines.push(
      `addr add ${isp.upstreamP2p}/30 dev ${isp.serverPort}`,
      `link set ${isp.serverPort} up`,
      `route add ${SERVER_CIDR} via ${isp.serverP2p} dev ${isp.serverPort} table ${isp.table}`,
      `rule add iif ${isp.bridge} lookup ${isp.table} priority ${isp.table}`,
    );
  }
  // From the upstream namespace itself (diagnostics), ISP 1's path.
  lines.push(`route add ${SERVER_CIDR} via ${p.isps[0].serverP2p} dev ${p.isps[0].serverPort}`);
  // ISP 1 routes r1's LAN prefix to it: before any NAT, the LAN reaches the server over dsl.
  lines.push(`route add ${LAN_CIDR} via ${p.isps[0].routerAddress} dev ${p.isps[0].bridge}`);
  return lines;
}

/** The server: 198.51.100.1 on lo, each ISP's subnet back over that ISP, and the LAN prefix over ISP 1. */
export function serverLines(p: DataplanePlan): string[] {
  const lines = ['link set lo up', `addr add ${SERVER_ADDRESS}/32 dev lo`];
  for (const isp of p.isps) {
    lines.push(
      `addr add ${isp.serverP2p}/30 dev ${isp.serverInterface}`,
      `link set ${isp.serverInterface} up`,
      `route add ${isp.kind === 'ptp' ? isp.routerAddress : isp.subnet} via ${isp.upstreamP2p} dev ${isp.serverInterface}`,
    );
  }
  lines.push(`route add ${LAN_CIDR} via ${p.isps[0].upstreamP2p} dev ${p.isps[0].serverInterface}`);
  return lines;
}

/**
 * Token bucket of one direction: burst of 10 ms at the rate (at least 32 KB, more than a
 * GSO segment would need after tbf splits it), queue of up to 100 ms.
 */
export function tbfArgs(dev: string, rateMbit: number): string[] {
  const burst = Math.max(32 * 1024, Math.round((rateMbit * 1e6) / 8 / 100));
  return ['qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', `${rateMbit}mbit`, 'burst', String(burst), 'latency', '100ms'];
}

/** `tc -batch` lines (upstream namespace): each ISP shaped toward the router and toward the server. */
export function shapingLines(p: DataplanePlan): string[] {
  return p.isps.flatMap(ispShapingLines);
}

/** One ISP's `tc -batch` lines: shaped toward the router and toward the server. */
export function ispShapingLines(isp: DataplaneIsp): string[] {
  return [tbfArgs(isp.routerPort, isp.rateMbit).join(' '), tbfArgs(isp.serverPort, isp.rateMbit).join(' ')];
}

/** The iptables rules (upstream namespace, FORWARD) that silently drop ISP K's traffic. */
export function breakRules(isp: DataplaneIsp): string[][] {
  const comment = ['-m', 'comment', '--comment', `multilink-lab-break-isp${isp.k}`];
  return [
    ['FORWARD', '-i', isp.bridge, ...comment, '-j', 'DROP'],
    ['FORWARD', '-o', isp.bridge, ...comment, '-j', 'DROP'],
  ];
}

export interface VsftpdInput {
  root: string;
  emptyDir: string;
  logFile: string;
}

/** Anonymous, read-only, IPv4 on the server address; foreground so its pid is the one we spawn. */
export function renderVsftpdConfig(c: VsftpdInput): string {
  return [
    '# vsftpd of the multilink data-plane lab: anonymous read-only downloads',
    'listen=YES',
    'listen_ipv6=NO',
    `listen_address=${SERVER_ADDRESS}`,
    `listen_port=${FTP_PORT}`,
    'background=NO',
    'anonymous_enable=YES',
    'no_anon_password=YES',
    'local_enable=NO',
    'write_enable=NO',
    'anon_upload_enable=NO',
    'anon_mkdir_write_enable=NO',
    `anon_root=${c.root}`,
    // Debian's vsftpd package creates user ftp; anon_root replaces its home as the chroot.
    'ftp_username=ftp',
    'nopriv_user=nobody',
    `secure_chroot_dir=${c.emptyDir}`,
    'pasv_enable=YES',
    `pasv_min_port=${PASV_MIN_PORT}`,
    `pasv_max_port=${PASV_MAX_PORT}`,
    `pasv_address=${SERVER_ADDRESS}`,
    'port_enable=YES',
    'connect_from_port_20=NO',
    'seccomp_sandbox=NO',
    'isolate=NO',
    'isolate_network=NO',
    'max_clients=200',
    'max_per_ip=200',
    'xferlog_enable=YES',
    `vsftpd_log_file=${c.logFile}`,
    'dual_log_enable=NO',
    'syslog_enable=NO',
    'use_localtime=NO',
    '',
  ].join('\n');
}
