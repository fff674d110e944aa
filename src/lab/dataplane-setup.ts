// Setting up the data plane of `multilink lab up --dataplane`: its files, links, addresses,
// shaping and the server's processes (iperf3, vsftpd, a TCP "ok" server), each recorded in
// the lab's manifest before or as it is made.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { applyBcp38 } from './isp-filter.js';
import { configureDataplane6, newLabIpv6, waitSlaac } from './dataplane-ipv6.js';
import { newLabDhcp, startDhcpUplink } from './dhcp-uplink.js';
import {
  clientLines,
  dataplaneLinkLines,
  extraIspInterfaces,
  routerExtraLines,
  FTP_FILE,
  FTP_FILE_BYTES,
  FTP_PORT,
  moveLanPeerLines,
  renderVsftpdConfig,
  serverLines,
  shapingLines,
  upstreamDataplaneLines,
  type DataplanePlan,
} from './dataplane-plan.js';
import { LabError } from './errors.js';
import { renderInventory } from './lab-files.js';
import { inNamespace, programPath, recordProcess, spawnDetached, waitListening, type StartedServer } from './lab-process.js';
import { renderDataplanePlaybook, weightsForRates } from './lab-playbooks.js';
import { writeNewFile } from './lab-folder.js';
import { saveManifest, type LabDataplane, type LabInfo, type LabIpv6 } from './manifest.js';
import { ipBatchOrThrow, run } from './run.js';

export function newLabDataplane(labDir: string, { ipv6, ...plan }: DataplanePlan, rates: readonly number[]): LabDataplane {
  const dir = join(labDir, 'dataplane');
  return {
    ...plan,
    rates: [...rates],
    ftpUrl: `ftp://${plan.serverAddress}/${FTP_FILE}`,
    ftpFileBytes: FTP_FILE_BYTES,
    dir,
    vsftpdConfig: join(dir, 'vsftpd.conf'),
    inventory: join(dir, 'inventory.yaml'),
    playbook: join(dir, 'playbook.yaml'),
    portForwards: [],
    ...(plan.isps.some((i) => i.kind === 'dhcp') ? { dhcp: newLabDhcp(dir) } : {}),
    ...(ipv6 ? { ipv6: newLabIpv6(dir, ipv6) } : {}),
  };
}

/** The data plane's lab; throws when the lab has none. */
export function dataplaneOf(lab: LabInfo): LabDataplane {
  if (!lab.dataplane) throw new LabError(`the lab in ${lab.dir} has no data plane (lab up --dataplane)`);
  return lab.dataplane;
}

/** Files of the data plane; recorded in the manifest before any is written. */
export function writeDataplaneFiles(info: LabInfo, dp: LabDataplane): void {
  if (info.routers.length === 0) throw new LabError('a data-plane lab needs router r1');
  const root = join(dp.dir, 'ftp');
  const empty = join(dp.dir, 'empty');
  if (!existsSync(dp.dir)) info.dirs.push(dp.dir);
  // The FTP tree and empty dir are removed whole; logs of the servers too.
  info.trees.push(root, empty);
  const logs = ['vsftpd.log', 'vsftpd.out', 'tcp-server.log', ...dp.iperfPorts.map((p) => `iperf3-${p}.log`), ...(dp.ipv6 ? ['tcp-server-6.log', ...dp.iperfPorts.map((p) => `iperf3-6-${p}.log`)] : [])].map((f) => join(dp.dir, f));
  info.files.push(dp.vsftpdConfig, dp.inventory, dp.playbook, ...logs);
  saveManifest(info);

  mkdirSync(dp.dir, { recursive: true, mode: 0o755 });
  mkdirSync(root, { mode: 0o755 });
  mkdirSync(empty, { mode: 0o755 });
  const block = Buffer.alloc(64 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = (i * 131 + 7) & 0xff;
  const chunks = Math.ceil(dp.ftpFileBytes / block.length);
  writeNewFile(join(root, FTP_FILE), Buffer.concat(Array.from({ length: chunks }, () => block)).subarray(0, dp.ftpFileBytes));
  writeNewFile(dp.vsftpdConfig, renderVsftpdConfig({ root, emptyDir: empty, logFile: join(dp.dir, 'vsftpd.log') }), 0o600);
  writeNewFile(dp.playbook, renderDataplanePlaybook({ method: 'random', weights: weightsForRates(dp.rates), ipv6: dp.ipv6 !== undefined }));
  writeNewFile(dp.inventory, dataplaneInventoryText(info, dp.playbook));
}

/** An inventory of r1 alone with the given playbook (the lab's keys and known_hosts). */
export function dataplaneInventoryText(info: LabInfo, playbook: string): string {
  return renderInventory({
    header: [`Inventory of the multilink data-plane lab "${info.prefix}" in ${info.dir}: router r1 only.`, 'Written by `multilink lab up --dataplane`.'],
    privateKey: info.privateKey,
    knownHosts: info.knownHosts,
    playbook,
    routers: [info.routers[0]],
  });
}

/** Links, addresses, forwarding and shaping of the data plane (after the lab's own). */
export async function configureDataplane(info: LabInfo, dp: LabDataplane): Promise<void> {
  await ipBatchOrThrow(dataplaneLinkLines(dp));
  await ipBatchOrThrow(moveLanPeerLines(dp), dp.lanNamespace);
  await Promise.all([
    ipBatchOrThrow(clientLines(dp), dp.clientNamespace),
    ipBatchOrThrow(upstreamDataplaneLines(dp), dp.upstreamNamespace),
    ipBatchOrThrow(serverLines(dp), dp.serverNamespace),
    ipBatchOrThrow(routerExtraLines(dp), dp.routerNamespace),
  ]);
  await inNamespace(dp.upstreamNamespace, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  // r1 forwards before any deploy, as every router does (the LAN reaches the server unNATed over dsl).
  await inNamespace(dp.routerNamespace, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  if (info.bcp38) await applyBcp38(dp.upstreamNamespace, extraIspInterfaces(dp));
  // tbf is a root qdisc of the device: it shapes IPv6 as it shapes IPv4.
  await run('tc', ['-n', dp.upstreamNamespace, '-batch', '-'], { input: shapingLines(dp).join('\n') + '\n' });
  await configureDataplane6(info, dp);
}

/**
 * iperf3 servers (one per port), vsftpd and the TCP "ok" server in the server namespace; with
 * IPv6 an iperf3 per port and a TCP "ok" server on the server's IPv6 address too (an iperf3
 * serves one test at a time: IPv4 and IPv6 tests can run at once), and r1's and the LAN
 * host's services on every address of both families. With IPv6 it returns once r1's WANs
 * have their SLAAC addresses and RA default routes (radvd was started before).
 */
export async function startDataplaneServices(info: LabInfo, dp: LabDataplane, log: (line: string) => void): Promise<void> {
  const started: StartedServer[] = [];
  const ns = dp.serverNamespace;
  for (const port of dp.iperfPorts) {
    const logFile = join(dp.dir, `iperf3-${port}.log`);
    // --logfile names the lab's file: the marker that lets down stop exactly this process.
    const pid = spawnDetached(ns, 'iperf3', ['-s', '-p', String(port), '-B', dp.serverAddress, '--logfile', logFile], logFile);
    recordProcess(info, pid, 'dataplane', logFile);
    started.push({ ns, pid, port, address: dp.serverAddress, label: `iperf3 -s -p ${port}`, log: logFile });
  }
  const v6 = dp.ipv6;
  for (const port of v6 ? dp.iperfPorts : []) {
    const logFile = join(dp.dir, `iperf3-6-${port}.log`);
    const address = v6?.serverAddress ?? '';
    const pid = spawnDetached(ns, 'iperf3', ['-s', '-p', String(port), '-B', address, '--logfile', logFile], logFile);
    recordProcess(info, pid, 'dataplane', logFile);
    started.push({ ns, pid, port, address, label: `iperf3 -s -p ${port} -B ${address}`, log: logFile });
  }
  const vsftpdOut = join(dp.dir, 'vsftpd.out');
  const vsftpd = spawnDetached(ns, 'vsftpd', [dp.vsftpdConfig], vsftpdOut);
  recordProcess(info, vsftpd, 'dataplane', dp.vsftpdConfig);
  started.push({ ns, pid: vsftpd, port: FTP_PORT, label: 'vsftpd', log: vsftpdOut });
  started.push(startTcpServer(info, { ns, address: dp.serverAddress, port: dp.tcpPort, owner: 'dataplane', logFile: join(dp.dir, 'tcp-server.log') }));
  if (v6) started.push(startTcpServer(info, { ns, address: v6.serverAddress, port: dp.tcpPort, owner: 'dataplane', logFile: join(dp.dir, 'tcp-server-6.log') }));
  // The LAN host's service and the router's own (every address: LAN UI and WAN-side logins);
  // with IPv6 on :: (Node listens dual stack there).
  const every = v6 ? '::' : '0.0.0.0';
  started.push(startTcpServer(info, { ns: dp.clientNamespace, address: every, port: dp.lanServicePort, owner: 'dataplane', logFile: join(dp.dir, 'lan-service.log') }));
  started.push(startTcpServer(info, { ns: dp.routerNamespace, address: every, port: dp.routerServicePort, owner: 'r1', logFile: join(dp.dir, 'router-service.log') }));
  log(`data plane: started ${started.map((s) => `${s.label} (${s.pid})`).join(', ')}`);
  await waitListening(started);
  if (dp.dhcp) {
    await startDhcpUplink(info);
    log(`data plane: r1 leased ${dp.dhcp.address} on the DHCP uplink (gateway ${dp.dhcp.gateway})`);
  }
  if (v6) {
    await waitSlaac(info);
    log(`data plane: r1 took ${v6.isps.map((i) => `${i.routerAddress} on ${i.routerInterface} (default via ${i.gateway})`).join(', ')} from the ISPs' RAs`);
  }
}

/**
 * The TCP "ok" server in a namespace, recorded in the manifest. Its log file is on its
 * command line (an argument the program ignores): the marker of this lab's process.
 */
export function startTcpServer(info: LabInfo, s: { ns: string; address: string; port: number; owner: string; logFile: string }): StartedServer {
  if (!info.files.includes(s.logFile)) info.files.push(s.logFile);
  const pid = spawnDetached(s.ns, process.execPath, [programPath('tcp-server'), s.address, String(s.port), s.logFile], s.logFile);
  recordProcess(info, pid, s.owner, s.logFile);
  // ss shows a dual-stack wildcard as *: only a specific address is waited for as such.
  const specific = s.address !== '::' && s.address !== '0.0.0.0';
  return { ns: s.ns, pid, port: s.port, ...(specific ? { address: s.address } : {}), label: `tcp server ${s.address.includes(':') ? `[${s.address}]` : s.address}:${s.port}`, log: s.logFile };
}

/** The data plane's lines for `formatLabInfo`. */
export function formatDataplane(dp: LabDataplane): string[] {
  const extras = dp.isps.filter((i) => i.kind !== 'static');
  return [
    `  data plane: client ${dp.clientAddress} (netns ${dp.clientNamespace}) behind r1 lan0; server ${dp.serverAddress} (netns ${dp.serverNamespace})`,
    `    ISPs ${dp.isps.map((i) => `${i.link} ${i.rateMbit} Mbit/s`).join(', ')}; iperf3 ports ${dp.iperfPorts.join(',')}; ${dp.ftpUrl}; tcp ${dp.tcpPort}`,
    `    services: r1 every address :${dp.routerServicePort}, LAN host ${dp.clientAddress}:${dp.lanServicePort}; ISP 1 routes ${'192.0.2.0/24'} to r1`,
    ...extras.map((i) => `    ${i.link}: ${i.routerInterface} ${i.kind === 'dhcp' ? `by DHCP (${dp.dhcp?.address ?? '?'} via ${dp.dhcp?.gateway ?? '?'})` : `point-to-point ${i.routerAddress} peer ${i.subnet}`}`),
    ...(dp.ipv6 ? formatIpv6(dp.ipv6) : []),
    `    inventory (r1, weights by rate): ${dp.inventory}`,
  ];
}

function formatIpv6(v6: LabIpv6): string[] {
  return [
    `    IPv6: client ${v6.clientAddress} in ${v6.lanPrefix} (r1 lan0 ${v6.routerLanAddress}); server ${v6.serverAddress}; radvd ${v6.radvdPid ?? '-'}`,
    ...v6.isps.map((i) => `    ${i.link}: ISP ${i.k} advertises ${i.prefix} from ${i.gateway}${i.ra === 'on' ? '' : ` (RAs ${i.ra})`}${i.mtuHop ? `, MTU ${i.mtuHop} to the server` : ''}; r1 ${i.routerInterface} ${i.routerAddress || '(no address yet)'}`),
  ];
}
