// DIR/lab.json: the record of everything a lab created, written before or as each object is
// created, so `lab down` removes exactly that, even after a crash halfway through `lab up`.
import { join } from 'node:path';
import { nameTaken, readNoFollow, replaceFile } from './lab-folder.js';
import type { RaState } from './dataplane-ipv6-plan.js';
import type { DataplaneIsp6, DataplanePlan, DataplanePlan6 } from './dataplane-plan.js';
import type { RouterPlan, TopologyPlan } from './topology.js';

export const MANIFEST_FILE = 'lab.json';

/** created: false means planned and about to be created (the name was free just before). */
export interface LabEntry {
  name: string;
  created: boolean;
}

export interface LabProcess {
  pid: number;
  router: string;
  /** A path in the lab's folder that appears in the process's command line. */
  marker: string;
  /** Field 22 of /proc/PID/stat when it was recorded: with the pid, this process and no other. */
  startTime?: string;
  /** Its command line when it was recorded (NULs as spaces). */
  cmdline?: string;
}

/** A router of the lab: its plan plus what running it recorded. */
export interface LabRouter extends RouterPlan {
  dir: string;
  /** multilink_state_dir in the generated inventory (unset for an OpenWrt-like router: its /var is RAM). */
  stateDir: string;
  sshdConfig: string;
  sshdLog: string;
  sshdPid?: number;
}

/** A lab: its topology plan plus the files, objects and processes it made. */
export interface LabInfo extends TopologyPlan {
  version: 1;
  status: 'creating' | 'up';
  dir: string;
  routers: LabRouter[];
  /** Client key for every router (root login). */
  privateKey: string;
  authorizedKeys: string;
  knownHosts: string;
  inventory: string;
  playbook: string;
  namespaces: LabEntry[];
  hostLinks: LabEntry[];
  processes: LabProcess[];
  /** Files the lab wrote; removed on down. */
  files: string[];
  /** Folders the lab made, removed on down when empty (deepest last in this list). */
  dirs: string[];
  /** Folders removed with their content on down: the routers' multilink state. */
  trees: string[];
  createdAt: string;
  /** `lab up --dataplane`: client, shaped ISPs and server around router r1. */
  dataplane?: LabDataplane;
}

export interface LabDataplane extends DataplanePlan {
  /** Mbit/s per shaped ISP, in the order of isps. */
  rates: number[];
  /** Anonymous download of ftpFileBytes bytes. */
  ftpUrl: string;
  ftpFileBytes: number;
  /** Folder of the server's and client's files (DIR/dataplane). */
  dir: string;
  vsftpdConfig: string;
  /** Inventory and playbook for r1 with weights proportional to the rates (random). */
  inventory: string;
  playbook: string;
  /** Port forwards added on r1 (addPortForward), put back after a simulated reboot. */
  portForwards: PortForward[];
  /** The DHCP uplink's server, client and current lease (--dhcp-uplink). */
  dhcp?: LabDhcp;
  /** `--ipv6`: dual stack on the three static ISPs (RAs from radvd, SLAAC on r1's WANs, a ULA LAN). */
  ipv6?: LabIpv6;
}

export interface LabIpv6 extends DataplanePlan6 {
  isps: LabIsp6[];
  /** One radvd for every ISP, in the upstream namespace; its pid is in processes too. */
  radvdConfig: string;
  radvdPidFile: string;
  radvdLog: string;
  radvdPid?: number;
}

export interface LabIsp6 extends DataplaneIsp6 {
  /** The link-local address ISP K's router advertises from now: r1's IPv6 gateway on wanK (ispLinkLocal6(K, generation)). */
  gateway: string;
  /** Times the ISP's router was replaced (replaceIspRouter6). */
  generation: number;
  /** r1's SLAAC address on wanK, read when the lab came up ('' before). */
  routerAddress: string;
  /** What the ISP's radvd advertises now (stopIspRas / resumeIspRas). */
  ra: RaState;
  /** The MTU of ISP K's link to the server when setMtuHop lowered it. */
  mtuHop?: number;
}

export interface PortForward {
  /** Link whose interface the forward listens on. */
  link: string;
  interface: string;
  port: number;
  to: string;
  toPort: number;
}

export interface LabDhcp {
  /** ISP 4's current subnet and gateway, and r1's address in it. */
  subnet: string;
  gateway: string;
  address: string;
  serverConfig: string;
  leaseFile: string;
  serverPidFile: string;
  serverLog: string;
  serverPid?: number;
  clientPidFile: string;
  clientLog: string;
  clientPid?: number;
  /** Renewals to a new subnet so far. */
  renewals: number;
}

export function manifestPath(dir: string): string {
  return join(dir, MANIFEST_FILE);
}

/** Written whole to a new temp file and renamed into place: a reader never sees half a manifest. */
export function saveManifest(info: LabInfo): void {
  replaceFile(manifestPath(info.dir), JSON.stringify(info, null, 2) + '\n', 0o600);
}

function isLabInfo(value: unknown): value is LabInfo {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    v.version === 1 &&
    typeof v.dir === 'string' &&
    typeof v.prefix === 'string' &&
    Array.isArray(v.namespaces) &&
    Array.isArray(v.hostLinks) &&
    Array.isArray(v.processes) &&
    Array.isArray(v.routers) &&
    Array.isArray(v.files) &&
    Array.isArray(v.dirs) &&
    Array.isArray(v.trees)
  );
}

export function readManifest(dir: string): LabInfo | undefined {
  const file = manifestPath(dir);
  if (!nameTaken(file)) return undefined;
  const parsed: unknown = JSON.parse(readNoFollow(file));
  if (!isLabInfo(parsed)) throw new Error(`${file} is not a multilink lab manifest`);
  return parsed;
}
