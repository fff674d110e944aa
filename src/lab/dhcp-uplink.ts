// The data plane's DHCP uplink (wan4, link "wifi"): a BusyBox udhcpd at ISP 4 and BusyBox
// udhcpc on r1 with an event script that keeps a default route for wan4 in r1's main table,
// as OpenWrt's netifd does. renewDhcp moves the ISP to another subnet and gateway and makes
// r1's client take a new lease, so a `gateway: auto` link must follow.
import { join } from 'node:path';
import { dataplaneOf } from './dataplane-setup.js';
import type { DataplaneIsp } from './dataplane-plan.js';
import { LabError } from './errors.js';
import { replaceFile } from './lab-folder.js';
import { isRunning } from './host-net.js';
import { inNamespace, logTail, programFile, recordFile, recordProcess, spawnDetached, stopLabProcess, waitFor } from './lab-process.js';
import { saveManifest, type LabDhcp, type LabInfo } from './manifest.js';
import { ipBatchOrThrow, sleep } from './run.js';

/** Subnet n of the DHCP ISP: 100.64.4.0/24, then 100.64.14.0/24, 100.64.24.0/24, … */
export function dhcpSubnet(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 24) throw new RangeError(`DHCP subnet number ${n} is not 0..24`);
  return `100.64.${4 + 10 * n}.0/24`;
}

function base(subnet: string): string {
  const m = /^100\.64\.(\d+)\.0\/24$/.exec(subnet);
  if (!m || Number(m[1]) > 254) throw new LabError(`a DHCP subnet must be a 100.64.X.0/24, not ${subnet}`);
  return `100.64.${m[1]}`;
}

export function dhcpGateway(subnet: string): string {
  return `${base(subnet)}.1`;
}

export interface UdhcpdInput {
  interface: string;
  subnet: string;
  leaseFile: string;
  pidFile: string;
  leaseS: number;
}

/** udhcpd.conf: a pool of .100–.199 with the .1 gateway. */
export function renderUdhcpdConfig(c: UdhcpdInput): string {
  const b = base(c.subnet);
  return [
    '# udhcpd of the multilink data-plane lab: ISP 4 leases addresses to r1',
    `interface ${c.interface}`,
    `start ${b}.100`,
    `end ${b}.199`,
    'max_leases 100',
    `lease_file ${c.leaseFile}`,
    `pidfile ${c.pidFile}`,
    'option subnet 255.255.255.0',
    `option router ${b}.1`,
    `option lease ${c.leaseS}`,
    '',
  ].join('\n');
}

const LEASE_S = 600;

export function udhcpcScript(): string {
  return programFile('udhcpc-script.sh');
}

function dhcpIsp(lab: LabInfo): DataplaneIsp {
  const isp = dataplaneOf(lab).isps.find((i) => i.kind === 'dhcp');
  if (!isp) throw new LabError(`the lab in ${lab.dir} has no DHCP uplink (lab up --dataplane --dhcp-uplink)`);
  return isp;
}

export function dhcpOf(lab: LabInfo): LabDhcp {
  const d = dataplaneOf(lab).dhcp;
  if (!d) throw new LabError(`the lab in ${lab.dir} has no DHCP uplink (lab up --dataplane --dhcp-uplink)`);
  return d;
}

export function newLabDhcp(dir: string): LabDhcp {
  const subnet = dhcpSubnet(0);
  return {
    subnet,
    gateway: dhcpGateway(subnet),
    address: '',
    serverConfig: join(dir, 'udhcpd.conf'),
    leaseFile: join(dir, 'udhcpd.leases'),
    serverPidFile: join(dir, 'udhcpd.pid'),
    serverLog: join(dir, 'udhcpd.log'),
    clientPidFile: join(dir, 'udhcpc.pid'),
    clientLog: join(dir, 'udhcpc.log'),
    renewals: 0,
  };
}

async function startServer(lab: LabInfo, d: LabDhcp): Promise<void> {
  const dp = dataplaneOf(lab);
  for (const f of [d.serverConfig, d.leaseFile, d.serverPidFile, d.serverLog]) recordFile(lab, f);
  // A renewal starts the server again over the files of the first start: replaced whole.
  replaceFile(d.serverConfig, renderUdhcpdConfig({ interface: dhcpIsp(lab).bridge, subnet: d.subnet, leaseFile: d.leaseFile, pidFile: d.serverPidFile, leaseS: LEASE_S }));
  replaceFile(d.leaseFile, '');
  // -f: foreground, so the pid is udhcpd's own; the config path on its command line is the marker.
  const pid = spawnDetached(dp.upstreamNamespace, 'busybox', ['udhcpd', '-f', d.serverConfig], d.serverLog);
  recordProcess(lab, pid, 'dataplane', d.serverConfig);
  d.serverPid = pid;
  saveManifest(lab);
  const listening = await waitFor(async () => /:67\b/.test((await inNamespace(dp.upstreamNamespace, 'ss', ['-Hlun'], { allowFailure: true })).stdout) || !isRunning(pid), 5000, 50);
  if (listening === undefined || !isRunning(pid)) throw new LabError(`udhcpd in ${dp.upstreamNamespace} is not serving: ${logTail(d.serverLog)}`);
}

/** r1's wan4 address and its main-table default route via wan4, as the DHCP client left them. */
export async function dhcpLease(lab: LabInfo): Promise<{ address?: string; gateway?: string }> {
  const isp = dhcpIsp(lab);
  const ns = dataplaneOf(lab).routerNamespace;
  const addr = await inNamespace(ns, 'ip', ['-4', '-o', 'addr', 'show', 'dev', isp.routerInterface], { allowFailure: true });
  const route = await inNamespace(ns, 'ip', ['-4', 'route', 'show', 'default', 'dev', isp.routerInterface], { allowFailure: true });
  return { address: /\binet (\d+\.\d+\.\d+\.\d+)\//.exec(addr.stdout)?.[1], gateway: /^default via (\S+)/m.exec(route.stdout)?.[1] };
}

async function waitForLease(lab: LabInfo, d: LabDhcp, limitMs: number): Promise<void> {
  const prefix = `${base(d.subnet)}.`;
  let last: { address?: string; gateway?: string } = {};
  const ok = await waitFor(async () => {
    last = await dhcpLease(lab);
    return last.address?.startsWith(prefix) === true && last.gateway === d.gateway;
  }, limitMs, 50);
  if (ok === undefined) {
    throw new LabError(`r1 got no DHCP lease in ${d.subnet} within ${limitMs / 1000} s (has ${last.address ?? 'no address'}, default via ${last.gateway ?? 'none'}): ${logTail(d.clientLog)}`);
  }
  d.address = last.address ?? '';
  saveManifest(lab);
}

/** The DHCP server at ISP 4 and r1's client; returns when r1 holds its first lease. */
export async function startDhcpUplink(lab: LabInfo): Promise<void> {
  const dp = dataplaneOf(lab);
  const d = dhcpOf(lab);
  await startServer(lab, d);
  for (const f of [d.clientPidFile, d.clientLog]) recordFile(lab, f);
  const args = ['udhcpc', '-f', '-i', dhcpIsp(lab).routerInterface, '-s', udhcpcScript(), '-p', d.clientPidFile, '-t', '20', '-T', '1', '-A', '1'];
  const pid = spawnDetached(dp.routerNamespace, 'busybox', args, d.clientLog);
  recordProcess(lab, pid, 'r1', d.clientPidFile);
  d.clientPid = pid;
  saveManifest(lab);
  await waitForLease(lab, d, 15_000);
}

export interface Renewal {
  subnet: string;
  gateway: string;
  /** r1's new address on wan4. */
  address: string;
  /** Epoch ms r1's client was told to renew; and when r1's main table had the new default. */
  renewAt: number;
  leasedAt: number;
}

/**
 * ISP 4 moves to another subnet and gateway (the old gateway address is gone) and r1's DHCP
 * client renews: its lease is refused, so it releases, asks again and configures the new
 * address and default route. Default: the next subnet of dhcpSubnet(n).
 */
export async function renewDhcp(lab: LabInfo, subnet?: string): Promise<Renewal> {
  const dp = dataplaneOf(lab);
  const isp = dhcpIsp(lab);
  const d = dhcpOf(lab);
  const next = subnet ?? dhcpSubnet((d.renewals + 1) % 25);
  const gateway = dhcpGateway(next);
  if (next === d.subnet) throw new LabError(`ISP 4 already uses ${next}`);
  const old = { subnet: d.subnet, gateway: d.gateway };
  if (d.serverPid) await stopLabProcess(lab, d.serverPid);
  await ipBatchOrThrow([`addr del ${old.gateway}/24 dev ${isp.bridge}`, `addr add ${gateway}/24 dev ${isp.bridge}`], dp.upstreamNamespace);
  await ipBatchOrThrow([`route del ${old.subnet}`, `route add ${next} via ${isp.upstreamP2p} dev ${isp.serverInterface}`], dp.serverNamespace);
  Object.assign(d, { subnet: next, gateway, renewals: d.renewals + 1 });
  saveManifest(lab);
  await startServer(lab, d);
  const client = d.clientPid;
  if (!client || !isRunning(client)) throw new LabError(`r1's DHCP client is not running: ${logTail(d.clientLog)}`);
  const renewAt = Date.now();
  // The old lease is not the server's any more: release it (deconfig), then ask again.
  process.kill(client, 'SIGUSR2');
  await waitFor(async () => (await dhcpLease(lab)).address === undefined, 5000, 20);
  await sleep(50);
  process.kill(client, 'SIGUSR1');
  await waitForLease(lab, d, 15_000);
  return { subnet: next, gateway, address: d.address, renewAt, leasedAt: Date.now() };
}
