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
  CLIENT_INTERFACE,
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

// ---------------------------------------------------------------------------------------
// Failover measurements: a playbook with `health` (and tiers), extra lab addresses, a paced
// probe of new connections and long-lived streams from the client (each a child process
// bounded in count and time, stopped by its own pid), a stream server in the server
// namespace (recorded in the manifest so `down` stops it), conntrack marks per client port,
// the monitor's state file, and the pure arithmetic of failover, recovery and survival.

export interface HealthSettings {
  targets: readonly string[];
  intervalS: number;
  downAfter: number;
  upAfter: number;
  quorum: number;
}

export interface HealthPlaybookInput {
  method: 'random' | 'nth' | 'sticky';
  weights: readonly number[];
  /** Tier per link in play order; default all 1. */
  tiers?: readonly number[];
  health: HealthSettings;
}

/** The data-plane playbook plus `health`, and `tier` on links above tier 1. */
export function renderHealthPlaybook(input: HealthPlaybookInput): string {
  const h = input.health;
  const lines = renderDataplanePlaybook({ method: input.method, weights: input.weights }).split('\n');
  let link = 0;
  const out = lines.map((line) => {
    if (!line.startsWith('    - { name: ')) return line;
    const tier = input.tiers?.[link++] ?? 1;
    return tier === 1 ? line : line.replace(/ \}$/, `, tier: ${tier} }`);
  });
  const health =
    `  health: { targets: [${h.targets.join(', ')}], interval: ${h.intervalS}s, ` +
    `down_after: ${h.downAfter}, up_after: ${h.upAfter}, quorum: ${h.quorum} }`;
  const at = out.findIndex((l) => l.startsWith('  rp_filter:'));
  out.splice(at + 1, 0, health);
  return out.join('\n');
}

/** Extra addresses (in 192.0.2.0/24) on the client's interface, e.g. distinct probe sources. */
export async function addClientAddresses(lab: LabInfo, addresses: readonly string[]): Promise<void> {
  const dp = dataplaneOf(lab);
  const have = await run('ip', ['-n', dp.clientNamespace, '-o', '-4', 'addr', 'show', 'dev', CLIENT_INTERFACE], { timeoutMs: 10_000 });
  const lines = addresses.filter((a) => !have.stdout.includes(` ${a}/`)).map((a) => `addr add ${a}/24 dev ${CLIENT_INTERFACE}`);
  await ipBatchOrThrow(lines, dp.clientNamespace);
}

/** An extra address on the server's lo (in 198.51.100.0/24): a second health target. */
export async function addServerAddress(lab: LabInfo, address: string): Promise<void> {
  const dp = dataplaneOf(lab);
  const have = await run('ip', ['-n', dp.serverNamespace, '-o', '-4', 'addr', 'show', 'dev', 'lo'], { timeoutMs: 10_000 });
  if (!have.stdout.includes(` ${address}/`)) await ipBatchOrThrow([`addr add ${address}/32 dev lo`], dp.serverNamespace);
}

/** iptables in the server namespace (e.g. silence one health target). */
export async function inServerIptables(lab: LabInfo, args: readonly string[]): Promise<RunResult> {
  return inNamespace(dataplaneOf(lab).serverNamespace, 'iptables', ['-w', '5', ...args], { timeoutMs: 15_000 });
}

export interface MonitorState {
  mask: number;
  links: Record<string, 'up' | 'down'>;
}

/** r1's `STATE/monitor/state`, or undefined while there is none. */
export function monitorState(lab: LabInfo): MonitorState | undefined {
  let text: string;
  try {
    text = readFileSync(join(lab.routers[0].stateDir, 'monitor', 'state'), 'utf8');
  } catch {
    return undefined;
  }
  const mask = /^mask (\d+)$/m.exec(text);
  if (!mask) return undefined;
  const links: Record<string, 'up' | 'down'> = {};
  for (const m of text.matchAll(/^link (\S+) (up|down)\b/gm)) links[m[1]] = m[2] as 'up' | 'down';
  return { mask: Number(mask[1]), links };
}

/** Polls `cond` every `everyMs` for at most `limitMs`; the epoch ms it first held, or undefined. */
export async function waitFor(cond: () => boolean | Promise<boolean>, limitMs: number, everyMs = 50): Promise<number | undefined> {
  const end = Date.now() + limitMs;
  for (;;) {
    if (await cond()) return Date.now();
    if (Date.now() > end) return undefined;
    await sleep(everyMs);
  }
}

/** Client port → link of r1's conntrack entries from the client to the server's DPORT (by mark). */
export async function connectionLinks(lab: LabInfo, opts: { dport: number; source?: string }): Promise<Map<number, string>> {
  const r = lab.routers[0];
  const args = ['-L', '-p', 'tcp', '--dport', String(opts.dport), ...(opts.source ? ['-s', opts.source] : [])];
  const res = await inNamespace(r.namespace, 'conntrack', args, { timeoutMs: 15_000, allowFailure: true });
  return connectionLinksFromList(res.stdout, linkMarks(lab));
}

/** Pure part of connectionLinks: `conntrack -L` lines → original sport → link by mark. */
export function connectionLinksFromList(text: string, marks: ReadonlyMap<number, string>, markMask = 0xff00): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split('\n')) {
    const sport = /\bsport=(\d+)/.exec(line);
    const mark = /\bmark=(\d+)/.exec(line);
    if (!sport || !mark) continue;
    const link = marks.get(Number(mark[1]) & markMask);
    if (link) out.set(Number(sport[1]), link);
  }
  return out;
}

/** Every connection gets CHUNK bytes every INTERVAL ms until it closes; exits after MAX_S. */
export function renderStreamServer(): string {
  return [
    '// multilink data-plane lab: a paced byte stream on every connection, for survival checks',
    "import { createServer } from 'node:net';",
    'const [host, port, maxS, chunk, everyMs] = process.argv.slice(2).map((v, i) => (i === 0 ? v : Number(v)));',
    'const block = Buffer.alloc(chunk, 120);',
    'const server = createServer((s) => {',
    "  s.on('error', () => undefined);",
    '  const t = setInterval(() => { if (!s.destroyed && s.writableLength < 16 * chunk) s.write(block); }, everyMs);',
    "  s.on('close', () => clearInterval(t));",
    '});',
    'server.listen({ host, port, backlog: 256 });',
    'setTimeout(() => process.exit(0), maxS * 1000).unref();',
    "process.on('SIGTERM', () => process.exit(0));",
    '',
  ].join('\n');
}

/**
 * `probe`: a new connection to HOST:PORT from SOURCE every INTERVAL ms (not waiting for the
 * previous one), each given PER ms, at most COUNT or TOTAL ms or until SIGTERM; prints
 * {"attempts":[{start,ms,ok,port}]}. `hold`: COUNT long-lived connections, bytes counted in
 * BUCKET ms slots, until MAX_S or SIGTERM; prints {"t0","bucketMs","streams":[…]}.
 */
export function renderFailoverClient(): string {
  return [
    '// multilink data-plane lab: paced new connections (probe) and long-lived streams (hold)',
    "import { connect } from 'node:net';",
    'const [mode, host, port, ...rest] = process.argv.slice(2);',
    'let stopping = false;',
    'let finish = () => undefined;',
    "process.on('SIGTERM', () => { stopping = true; finish(); });",
    "if (mode === 'probe') {",
    '  const [source, interval, per, count, total] = [rest[0], ...rest.slice(1).map(Number)];',
    '  const attempts = [];',
    '  const pending = new Set();',
    '  const end = Date.now() + total;',
    '  const one = () => {',
    "    const a = { start: Date.now(), ms: 0, ok: false, port: 0 };",
    '    attempts.push(a);',
    '    const p = new Promise((resolve) => {',
    "      const s = connect({ host, port: Number(port), localAddress: source === '-' ? undefined : source });",
    "      let got = '';",
    '      const done = (ok) => { clearTimeout(timer); a.ms = Date.now() - a.start; a.ok = ok; s.destroy(); resolve(); };',
    '      const timer = setTimeout(() => done(false), per);',
    "      s.on('connect', () => { a.port = s.localPort; });",
    "      s.setEncoding('utf8');",
    "      s.on('data', (d) => (got += d));",
    "      s.on('end', () => done(got.startsWith('ok')));",
    "      s.on('error', () => done(false));",
    '    });',
    '    pending.add(p);',
    '    p.then(() => pending.delete(p));',
    '  };',
    '  const tick = setInterval(() => {',
    '    if (stopping || attempts.length >= count || Date.now() >= end) { clearInterval(tick); finish(); return; }',
    '    one();',
    '  }, interval);',
    '  await new Promise((resolve) => { finish = resolve; });',
    '  clearInterval(tick);',
    '  await Promise.all([...pending]);',
    '  console.log(JSON.stringify({ attempts }));',
    '} else {',
    '  const [count, maxS, bucketMs, source] = [...rest.slice(0, 3).map(Number), rest[3]];',
    '  const t0 = Date.now();',
    '  const slots = Math.ceil((maxS * 1000) / bucketMs) + 1;',
    '  const streams = Array.from({ length: count }, () => {',
    "    const st = { port: 0, connectedAt: 0, bytes: 0, buckets: new Array(slots).fill(0), error: '', errorAt: 0, endedAt: 0 };",
    "    const s = connect({ host, port: Number(port), localAddress: source === '-' || !source ? undefined : source });",
    "    s.on('connect', () => { st.port = s.localPort; st.connectedAt = Date.now(); });",
    "    s.on('data', (d) => { st.bytes += d.length; const i = Math.floor((Date.now() - t0) / bucketMs); if (i < slots) st.buckets[i] += d.length; });",
    "    s.on('error', (e) => { if (!stopping) { st.error = e.code ?? e.message; st.errorAt = Date.now(); } });",
    "    s.on('end', () => { if (!stopping) st.endedAt = Date.now(); });",
    '    st.socket = s;',
    '    return st;',
    '  });',
    '  await new Promise((resolve) => { finish = resolve; setTimeout(resolve, maxS * 1000); });',
    '  stopping = true;',
    '  for (const st of streams) { st.socket.destroy(); delete st.socket; }',
    '  console.log(JSON.stringify({ t0, bucketMs, streams }));',
    '}',
    'process.exit(0);',
    '',
  ].join('\n');
}

/** Writes a helper script into the data plane's folder once, recorded in the manifest first. */
function labScript(lab: LabInfo, name: string, text: string): string {
  const file = join(dataplaneOf(lab).dir, name);
  if (!lab.files.includes(file)) {
    lab.files.push(file);
    saveManifest(lab);
  }
  writeFileSync(file, text);
  return file;
}

export interface Background<T> {
  pid: number;
  /** SIGTERM to this process (by its pid), then its result. */
  stop(): Promise<T>;
  done: Promise<T>;
}

/** node SCRIPT ARGS in the client namespace, in the background; SIGKILL after limitMs. */
function clientProcess<T>(lab: LabInfo, script: string, args: readonly string[], limitMs: number): Background<T> {
  const child = spawn('ip', ['netns', 'exec', dataplaneOf(lab).clientNamespace, process.execPath, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new LabError(`could not start ${script} in the client namespace`);
  const pid = child.pid;
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const done = new Promise<T>((resolve, reject) => {
    child.on('error', (err) => reject(new LabError(`${script}: ${err.message}`)));
    child.on('close', (code) => {
      clearTimeout(killer);
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) reject(new LabError(`${script} ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
      else resolve(JSON.parse(last) as T);
    });
  });
  return {
    pid,
    done,
    stop: () => {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already finished
      }
      return done;
    },
  };
}

export interface ProbeAttempt {
  /** Epoch ms the connection was started. */
  start: number;
  ms: number;
  ok: boolean;
  /** Client port (0 when it never connected). */
  port: number;
}

export interface ProbeOptions {
  /** Source address on the client (see addClientAddresses); default its own. */
  source?: string;
  intervalMs?: number;
  /** Per connection; default 900 ms (below the 1 s SYN retransmission). */
  perMs?: number;
  count: number;
  totalMs: number;
}

/** Paced new connections to the server's "ok" port, in the background. */
export function startProbe(lab: LabInfo, opts: ProbeOptions): Background<{ attempts: ProbeAttempt[] }> {
  const dp = dataplaneOf(lab);
  const script = labScript(lab, 'failover-client.mjs', renderFailoverClient());
  const perMs = opts.perMs ?? 900;
  const args = ['probe', dp.serverAddress, String(dp.tcpPort), opts.source ?? '-', String(opts.intervalMs ?? 50), String(perMs), String(opts.count), String(opts.totalMs)];
  return clientProcess(lab, script, args, opts.totalMs + perMs + 10_000);
}

/** COUNT connections from SOURCE one after another (each given perMs): e.g. for sticky. */
export async function probeSequence(lab: LabInfo, source: string, count: number, perMs = 3000): Promise<ProbeAttempt[]> {
  return (await startProbe(lab, { source, count, intervalMs: 20, perMs, totalMs: count * 20 + 1000 }).done).attempts;
}

export interface HeldStream {
  port: number;
  connectedAt: number;
  bytes: number;
  /** Bytes received per bucketMs slot from t0. */
  buckets: number[];
  /** Error code of a reset or failure before the end ('' for none), and when. */
  error: string;
  errorAt: number;
  /** The server closed it before the end (0 for never). */
  endedAt: number;
}

export interface HoldResult {
  t0: number;
  bucketMs: number;
  streams: HeldStream[];
}

export const STREAM_PORT = 9000;

/** The stream server in the server namespace (recorded in the manifest); its pid. */
export async function startStreamServer(lab: LabInfo, opts: { maxS: number; chunk?: number; everyMs?: number; port?: number }): Promise<number> {
  const dp = dataplaneOf(lab);
  const port = opts.port ?? STREAM_PORT;
  const script = labScript(lab, 'stream-server.mjs', renderStreamServer());
  const logFile = join(dp.dir, 'stream-server.log');
  if (!lab.files.includes(logFile)) lab.files.push(logFile);
  const args = [script, dp.serverAddress, String(port), String(opts.maxS), String(opts.chunk ?? 8192), String(opts.everyMs ?? 50)];
  const pid = spawnIn(dp.serverNamespace, process.execPath, args, logFile);
  lab.processes.push({ pid, router: 'dataplane', marker: script });
  saveManifest(lab);
  const up = await waitFor(async () => (await listeningPorts(dp.serverNamespace)).has(port) || !isRunning(pid), 10_000, 100);
  if (up === undefined || !isRunning(pid)) throw new LabError(`stream server not listening on ${port}: ${tail(logFile)}`);
  return pid;
}

/** Stops a process this module started in the lab, by its pid, and forgets it. */
export async function stopLabProcess(lab: LabInfo, pid: number): Promise<void> {
  const entry = lab.processes.find((p) => p.pid === pid);
  if (!entry) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
  await waitFor(() => !isRunning(pid), 3000, 50);
  lab.processes = lab.processes.filter((p) => p !== entry);
  saveManifest(lab);
}

/** COUNT long-lived streams from the client to the stream server, in the background. */
export function startHold(lab: LabInfo, opts: { count: number; maxS: number; bucketMs?: number; port?: number; source?: string }): Background<HoldResult> {
  const dp = dataplaneOf(lab);
  const script = labScript(lab, 'failover-client.mjs', renderFailoverClient());
  const args = ['hold', dp.serverAddress, String(opts.port ?? STREAM_PORT), String(opts.count), String(opts.maxS), String(opts.bucketMs ?? 100), opts.source ?? '-'];
  return clientProcess(lab, script, args, opts.maxS * 1000 + 15_000);
}

export interface FailoverFigures {
  attempts: number;
  failed: number;
  /** Start (epoch ms) of the last failed attempt started at or after `from`, if any. */
  lastFailedStart?: number;
  /** Start of the first attempt after which every attempt succeeded (undefined: none). */
  allOkFrom?: number;
}

/** From the probe's attempts: when new connections stopped failing after `from`. */
export function failoverFigures(attempts: readonly ProbeAttempt[], from: number): FailoverFigures {
  const after = attempts.filter((a) => a.start >= from).sort((a, b) => a.start - b.start);
  const failed = after.filter((a) => !a.ok);
  const lastFailedStart = failed.length ? failed[failed.length - 1].start : undefined;
  const next = lastFailedStart === undefined ? after[0] : after.find((a) => a.start > lastFailedStart);
  return { attempts: after.length, failed: failed.length, lastFailedStart, allOkFrom: next?.start };
}

/** Client ports used by more than one attempt: conntrack shows only the latest, so their link is unknown. */
export function reusedPorts(attempts: readonly ProbeAttempt[]): Set<number> {
  const seen = new Set<number>();
  const twice = new Set<number>();
  for (const a of attempts) if (a.port !== 0) (seen.has(a.port) ? twice : seen).add(a.port);
  return twice;
}

/** Start of the first successful attempt at or after `from` that r1 sent over `link` (reused ports left out). */
export function firstOnLink(attempts: readonly ProbeAttempt[], links: ReadonlyMap<number, string>, link: string, from: number): number | undefined {
  const reused = reusedPorts(attempts);
  return attempts
    .filter((a) => a.ok && a.start >= from && !reused.has(a.port) && links.get(a.port) === link)
    .map((a) => a.start)
    .sort((a, b) => a - b)[0];
}

export interface StreamVerdict {
  port: number;
  ok: boolean;
  /** Longest run without data inside the window, ms. */
  maxGapMs: number;
  bytes: number;
  reason?: string;
}

/** Did a stream live through [from, to] (epoch ms) without a reset or a gap longer than maxGapMs? */
export function streamSurvived(hold: HoldResult, s: HeldStream, from: number, to: number, maxGapMs = 1000): StreamVerdict {
  const first = Math.max(0, Math.floor((from - hold.t0) / hold.bucketMs));
  const last = Math.min(s.buckets.length - 1, Math.floor((to - hold.t0) / hold.bucketMs));
  let gap = 0;
  let maxGap = 0;
  let bytes = 0;
  for (let i = first; i <= last; i++) {
    bytes += s.buckets[i];
    gap = s.buckets[i] > 0 ? 0 : gap + hold.bucketMs;
    maxGap = Math.max(maxGap, gap);
  }
  const verdict = { port: s.port, maxGapMs: maxGap, bytes };
  if (s.port === 0) return { ...verdict, ok: false, reason: 'never connected' };
  if (s.error && s.errorAt <= to) return { ...verdict, ok: false, reason: `${s.error} at +${((s.errorAt - from) / 1000).toFixed(1)} s` };
  if (s.endedAt && s.endedAt <= to) return { ...verdict, ok: false, reason: `closed by the server at +${((s.endedAt - from) / 1000).toFixed(1)} s` };
  if (maxGap > maxGapMs) return { ...verdict, ok: false, reason: `no data for ${maxGap} ms` };
  return { ...verdict, ok: true };
}
