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
export const DATAPLANE_COMMANDS: Readonly<Record<string, string>> = { iperf3: 'iperf3', vsftpd: 'vsftpd', tc: 'iproute2', curl: 'curl' };

export interface DataplaneIsp {
  /** K of ispK / 100.64.K.0/24 / wanK. */
  k: number;
  link: string;
  /** Router interface (wanK) and its address. */
  routerInterface: string;
  routerAddress: string;
  /** Bridge ispK in the upstream namespace, gateway 100.64.K.1. */
  bridge: string;
  gateway: string;
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
  isps: DataplaneIsp[];
}

export function checkRates(rates: readonly number[]): string | undefined {
  if (rates.length !== LAB_UPLINKS.length || rates.some((r) => !Number.isInteger(r) || r < 1 || r > MAX_RATE_MBIT)) {
    return `dataplane rates must be ${LAB_UPLINKS.length} whole numbers of Mbit/s from 1 to ${MAX_RATE_MBIT}, got ${rates.join(', ')}`;
  }
  return undefined;
}


export function planDataplane(prefix: string, router: Pick<RouterPlan, 'namespace' | 'wanAddresses' | 'lanPeer' | 'upstreamPorts'>, rates: readonly number[] = DEFAULT_RATES): DataplanePlan {
  const bad = checkRates(rates);
  if (bad) throw new RangeError(bad);
  return {
    ...dataplaneNamespacesOf(prefix),
    upstreamNamespace: `${prefix}-up`,
    lanNamespace: `${prefix}-lan`,
    lanPeer: router.lanPeer,
    routerNamespace: router.namespace,
    clientAddress: CLIENT_ADDRESS,
    serverAddress: SERVER_ADDRESS,
    iperfPorts: [...IPERF_PORTS],
    tcpPort: TCP_PORT,
    isps: LAB_UPLINKS.map((u: LabUplink, i) => ({
      k: u.k,
      link: u.name,
      routerInterface: u.interface,
      routerAddress: router.wanAddresses[i],
      bridge: `isp${u.k}`,
      gateway: u.gateway,
      routerPort: router.upstreamPorts[i],
      serverPort: `srv${u.k}`,
      serverInterface: `isp${u.k}`,
      upstreamP2p: `100.64.${100 + u.k}.1`,
      serverP2p: `100.64.${100 + u.k}.2`,
      table: 100 + u.k,
      rateMbit: rates[i],
    })),
  };
}

/** Host namespace: the server veths, each end created in its lab namespace. */
export function dataplaneLinkLines(p: DataplanePlan): string[] {
  return p.isps.map((isp) => `link add ${isp.serverPort} netns ${p.upstreamNamespace} type veth peer name ${isp.serverInterface} netns ${p.serverNamespace}`);
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
    lines.push(
      `addr add ${isp.upstreamP2p}/30 dev ${isp.serverPort}`,
      `link set ${isp.serverPort} up`,
      `route add ${SERVER_CIDR} via ${isp.serverP2p} dev ${isp.serverPort} table ${isp.table}`,
      `rule add iif ${isp.bridge} lookup ${isp.table} priority ${isp.table}`,
    );
  }
  // From the upstream namespace itself (diagnostics), ISP 1's path.
  lines.push(`route add ${SERVER_CIDR} via ${p.isps[0].serverP2p} dev ${p.isps[0].serverPort}`);
  return lines;
}

/** The server: 198.51.100.1 on lo, and 100.64.K.0/24 (router K's masqueraded address) back over ISP K. */
export function serverLines(p: DataplanePlan): string[] {
  const lines = ['link set lo up', `addr add ${SERVER_ADDRESS}/32 dev lo`];
  for (const isp of p.isps) {
    lines.push(
      `addr add ${isp.serverP2p}/30 dev ${isp.serverInterface}`,
      `link set ${isp.serverInterface} up`,
      `route add 100.64.${isp.k}.0/24 via ${isp.upstreamP2p} dev ${isp.serverInterface}`,
    );
  }
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
  return p.isps.flatMap((isp) => [tbfArgs(isp.routerPort, isp.rateMbit).join(' '), tbfArgs(isp.serverPort, isp.rateMbit).join(' ')]);
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
