// The data plane of `multilink lab up --dataplane`, run: links, addresses, shaping and
// the server's processes (iperf3, vsftpd, a TCP "ok" server), each recorded in the lab's
// manifest before or as it is made; plus what tests and the benchmark do with it: break
// and repair an ISP inside the upstream namespace, open connections from the client,
// read the router's balance counters and interface bytes.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  breakRules,
  clientLines,
  CLIENT_ADDRESS,
  dataplaneLinkLines,
  FTP_FILE,
  FTP_FILE_BYTES,
  FTP_PORT,
  IPERF_PORTS,
  moveLanPeerLines,
  renderConnectClient,
  renderDataplanePlaybook,
  renderTcpServer,
  renderVsftpdConfig,
  SERVER_ADDRESS,
  serverLines,
  shapingLines,
  TCP_PORT,
  upstreamDataplaneLines,
  weightsForRates,
  type DataplanePlan,
} from './dataplane-plan.js';
import { balanceCountersFromSave, linkBytesFromJson, type LinkBytes } from './dataplane-measure.js';
import { LabError } from './errors.js';
import { isRunning } from './host-net.js';
import { renderInventory } from './lab-files.js';
import { saveManifest, type LabDataplane, type LabInfo } from './manifest.js';
import { ipBatchOrThrow, run, sleep, type RunOptions, type RunResult } from './run.js';

export function newLabDataplane(labDir: string, plan: DataplanePlan, rates: readonly number[]): LabDataplane {
  const dir = join(labDir, 'dataplane');
  return {
    ...plan,
    clientAddress: CLIENT_ADDRESS,
    serverAddress: SERVER_ADDRESS,
    rates: [...rates],
    iperfPorts: [...IPERF_PORTS],
    tcpPort: TCP_PORT,
    ftpUrl: `ftp://${SERVER_ADDRESS}/${FTP_FILE}`,
    ftpFileBytes: FTP_FILE_BYTES,
    dir,
    vsftpdConfig: join(dir, 'vsftpd.conf'),
    tcpServerScript: join(dir, 'tcp-server.mjs'),
    connectScript: join(dir, 'connect.mjs'),
    inventory: join(dir, 'inventory.yaml'),
    playbook: join(dir, 'playbook.yaml'),
  };
}

function ftpRoot(dp: LabDataplane): string {
  return join(dp.dir, 'ftp');
}

/** Files of the data plane; recorded in the manifest before any is written. */
export function writeDataplaneFiles(info: LabInfo, dp: LabDataplane): void {
  if (info.routers.length === 0) throw new LabError('a data-plane lab needs router r1');
  const root = ftpRoot(dp);
  const empty = join(dp.dir, 'empty');
  if (!existsSync(dp.dir)) info.dirs.push(dp.dir);
  // The FTP tree and empty dir are removed whole; logs of the servers too.
  info.trees.push(root, empty);
  const logs = ['vsftpd.log', 'vsftpd.out', 'tcp-server.log', ...dp.iperfPorts.map((p) => `iperf3-${p}.log`)].map((f) => join(dp.dir, f));
  info.files.push(dp.vsftpdConfig, dp.tcpServerScript, dp.connectScript, dp.inventory, dp.playbook, ...logs);
  saveManifest(info);

  mkdirSync(root, { recursive: true, mode: 0o755 });
  mkdirSync(empty, { recursive: true, mode: 0o755 });
  const block = Buffer.alloc(64 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = (i * 131 + 7) & 0xff;
  const chunks = Math.ceil(dp.ftpFileBytes / block.length);
  writeFileSync(join(root, FTP_FILE), Buffer.concat(Array.from({ length: chunks }, () => block)).subarray(0, dp.ftpFileBytes), { mode: 0o644 });
  writeFileSync(dp.vsftpdConfig, renderVsftpdConfig({ root, emptyDir: empty, logFile: join(dp.dir, 'vsftpd.log') }), { mode: 0o600 });
  writeFileSync(dp.tcpServerScript, renderTcpServer());
  writeFileSync(dp.connectScript, renderConnectClient());
  writeFileSync(dp.playbook, renderDataplanePlaybook({ method: 'random', weights: weightsForRates(dp.rates) }));
  writeFileSync(dp.inventory, dataplaneInventoryText(info, dp.playbook));
}

/** An inventory of r1 alone with the given playbook (the lab's keys and known_hosts). */
export function dataplaneInventoryText(info: LabInfo, playbook: string): string {
  const r = info.routers[0];
  return renderInventory({
    header: [`Inventory of the multilink data-plane lab "${info.prefix}" in ${info.dir}: router r1 only.`, 'Written by `multilink lab up --dataplane`.'],
    privateKey: info.privateKey,
    knownHosts: info.knownHosts,
    playbook,
    routers: [{ name: r.name, address: r.mgmtAddress, iptables: r.iptables, stateDir: r.stateDir }],
  });
}

export function inNamespace(ns: string, cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], options);
}

/** Links, addresses, forwarding and shaping of the data plane (after the lab's own). */
export async function configureDataplane(dp: LabDataplane): Promise<void> {
  await ipBatchOrThrow(dataplaneLinkLines(dp));
  await ipBatchOrThrow(moveLanPeerLines(dp), dp.lanNamespace);
  await Promise.all([
    ipBatchOrThrow(clientLines(dp), dp.clientNamespace),
    ipBatchOrThrow(upstreamDataplaneLines(dp), dp.upstreamNamespace),
    ipBatchOrThrow(serverLines(dp), dp.serverNamespace),
  ]);
  await inNamespace(dp.upstreamNamespace, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  await run('tc', ['-n', dp.upstreamNamespace, '-batch', '-'], { input: shapingLines(dp).join('\n') + '\n' });
}

function spawnIn(ns: string, cmd: string, args: readonly string[], logFile: string): number {
  const fd = openSync(logFile, 'a', 0o644);
  try {
    // `ip netns exec` execs the command in place: the pid is the server's own.
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { detached: true, stdio: ['ignore', fd, fd] });
    child.on('error', () => undefined);
    child.unref();
    if (child.pid === undefined) throw new LabError(`could not start ${cmd} in ${ns}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join('\n  ');
  } catch {
    return '(no log)';
  }
}

async function listeningPorts(ns: string): Promise<Set<number>> {
  const r = await inNamespace(ns, 'ss', ['-Hltn'], { allowFailure: true, timeoutMs: 10_000 });
  const ports = new Set<number>();
  // State Recv-Q Send-Q Local:Port Peer:Port
  for (const line of r.stdout.split('\n')) {
    const m = /:(\d+)$/.exec(line.trim().split(/\s+/)[3] ?? '');
    if (m) ports.add(Number(m[1]));
  }
  return ports;
}

/** iperf3 servers (one per port), vsftpd and the TCP "ok" server in the server namespace. */
export async function startDataplaneServices(info: LabInfo, dp: LabDataplane, log: (line: string) => void): Promise<void> {
  const started: Array<{ pid: number; port: number; label: string; log: string }> = [];
  const record = (pid: number, marker: string): void => {
    info.processes.push({ pid, router: 'dataplane', marker });
    saveManifest(info);
  };
  for (const port of dp.iperfPorts) {
    const logFile = join(dp.dir, `iperf3-${port}.log`);
    // --logfile names the lab's file: the marker that lets down stop exactly this process.
    const pid = spawnIn(dp.serverNamespace, 'iperf3', ['-s', '-p', String(port), '-B', dp.serverAddress, '--logfile', logFile], logFile);
    record(pid, logFile);
    started.push({ pid, port, label: `iperf3 -s -p ${port}`, log: logFile });
  }
  const vsftpdOut = join(dp.dir, 'vsftpd.out');
  const vsftpd = spawnIn(dp.serverNamespace, 'vsftpd', [dp.vsftpdConfig], vsftpdOut);
  record(vsftpd, dp.vsftpdConfig);
  started.push({ pid: vsftpd, port: FTP_PORT, label: 'vsftpd', log: vsftpdOut });
  const tcpLog = join(dp.dir, 'tcp-server.log');
  const tcp = spawnIn(dp.serverNamespace, process.execPath, [dp.tcpServerScript, dp.serverAddress, String(dp.tcpPort)], tcpLog);
  record(tcp, dp.tcpServerScript);
  started.push({ pid: tcp, port: dp.tcpPort, label: 'tcp server', log: tcpLog });
  log(`data plane: started ${started.map((s) => `${s.label} (${s.pid})`).join(', ')} in ${dp.serverNamespace}`);

  const deadline = Date.now() + 15_000;
  for (;;) {
    const ports = await listeningPorts(dp.serverNamespace);
    const waiting = started.filter((s) => !ports.has(s.port));
    if (waiting.length === 0) return;
    const dead = waiting.find((s) => !isRunning(s.pid));
    if (dead) throw new LabError(`${dead.label} in ${dp.serverNamespace} exited before listening; ${dead.log}:\n  ${tail(dead.log)}`);
    if (Date.now() > deadline) throw new LabError(`${waiting.map((s) => s.label).join(', ')} not listening in ${dp.serverNamespace} after 15 s`);
    await sleep(100);
  }
}

function dataplaneOf(lab: LabInfo): LabDataplane {
  if (!lab.dataplane) throw new LabError(`the lab in ${lab.dir} has no data plane (lab up --dataplane)`);
  return lab.dataplane;
}

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

export function inClient(lab: LabInfo, cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return inNamespace(dataplaneOf(lab).clientNamespace, cmd, args, options);
}

export interface ConnectOptions {
  count: number;
  concurrency?: number;
  /** Per connection; default 3 s. */
  perMs?: number;
  /** For all of them; default 120 s. */
  totalMs?: number;
}

export interface ConnectResult {
  ok: number;
  failed: number;
  notStarted: number;
}

/** COUNT short TCP connections from the client to the server's "ok" port. */
export async function openConnections(lab: LabInfo, opts: ConnectOptions): Promise<ConnectResult> {
  const dp = dataplaneOf(lab);
  const perMs = opts.perMs ?? 3000;
  const totalMs = opts.totalMs ?? 120_000;
  const args = [dp.connectScript, dp.serverAddress, String(dp.tcpPort), String(opts.count), String(opts.concurrency ?? 1), String(perMs), String(totalMs)];
  const r = await inClient(lab, process.execPath, args, { timeoutMs: totalMs + perMs + 10_000 });
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as ConnectResult;
}

/** r1's link names in mark order: link k (play order) sets mark k × 0x100 (default mask 0xff00). */
export function linkMarks(lab: LabInfo, markStep = 0x100): Map<number, string> {
  return new Map(dataplaneOf(lab).isps.map((isp, i) => [(i + 1) * markStep, isp.link]));
}

/** New connections each link has received, from r1's ML_BALANCE rule counters. */
export async function balanceCounters(lab: LabInfo): Promise<Map<string, number>> {
  const r = lab.routers[0];
  const save = await inNamespace(r.namespace, `iptables-${r.iptables}-save`, ['-c', '-t', 'mangle'], { timeoutMs: 15_000 });
  const byMark = balanceCountersFromSave(save.stdout);
  return new Map([...linkMarks(lab)].map(([mark, link]) => [link, byMark.get(mark) ?? 0]));
}

/** Bytes through r1's wan interfaces, per link name. */
export async function wanBytes(lab: LabInfo): Promise<Map<string, LinkBytes>> {
  const r = lab.routers[0];
  const res = await run('ip', ['-n', r.namespace, '-j', '-s', 'link', 'show'], { timeoutMs: 10_000 });
  const byIf = linkBytesFromJson(res.stdout);
  return new Map(dataplaneOf(lab).isps.map((isp) => [isp.link, byIf.get(isp.routerInterface) ?? { rxBytes: 0, txBytes: 0 }]));
}

/** The data plane's lines for `formatLabInfo`. */
export function formatDataplane(dp: LabDataplane): string[] {
  return [
    `  data plane: client ${dp.clientAddress} (netns ${dp.clientNamespace}) behind r1 lan0; server ${dp.serverAddress} (netns ${dp.serverNamespace})`,
    `    ISPs ${dp.isps.map((i) => `${i.link} ${i.rateMbit} Mbit/s`).join(', ')}; iperf3 ports ${dp.iperfPorts.join(',')}; ${dp.ftpUrl}; tcp ${dp.tcpPort}`,
    `    inventory (r1, weights by rate): ${dp.inventory}`,
  ];
}
