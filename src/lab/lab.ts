// `multilink lab`: simulated routers on this machine. Each router is a network namespace
// with its own netfilter tables and a real OpenSSH server, reachable from the host over a
// management bridge, with three uplinks into a shared upstream namespace. Everything made is
// recorded in DIR/lab.json first, so labDown removes exactly that.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { configureDataplane, newLabDataplane, startDataplaneServices, writeDataplaneFiles } from './dataplane-setup.js';
import { checkRates, DATAPLANE_COMMANDS, DEFAULT_RATES, IPV6_COMMANDS, planDataplane, type ExtraUplink } from './dataplane-plan.js';
import { startRadvd } from './radvd.js';
import { applyBcp38 } from './isp-filter.js';
import { buildOpenwrtTree, busyboxApplets, OPENWRT_COMMANDS, openwrtTree, spawnOpenwrtSshd } from './openwrt.js';
import { LabError } from './errors.js';
import { hostSubnetUses, listHostLinks, listNamespacesSync, pickFreeSubnet, usesOf } from './host-net.js';
import { hostLinkLines, lanLines, namespaceAddLines, routerLinkLines, routerLines, switchLines, upstreamLines } from './ip-batch.js';
import { checkLabPath, knownHostsLine, renderInventory, renderSshdConfig, SHIPPED_STATE_ROOT } from './lab-files.js';
import { labFolderProblem, makeLabFolder, nameTaken, writeNewFile } from './lab-folder.js';
import { renderPlaybook } from './lab-playbooks.js';
import { manifestProblems } from './manifest-guard.js';
import { readManifest, saveManifest, type LabInfo } from './manifest.js';
import { checkShippedInventory } from './shipped-inventory.js';
import { ensureLabPackages } from './packages.js';
import { ipBatch, ipBatchOrThrow, run } from './run.js';
import { runPool } from '../util/pool.js';
import { ensurePrivsepDir, processRecord, spawnSshd, waitForSshd } from './sshd.js';
import { teardownSync } from './teardown.js';
import {
  checkPrefix,
  checkRouters,
  checkSubnet,
  DEFAULT_DIR,
  dataplaneNamespacesOf,
  DEFAULT_PREFIX,
  DEFAULT_ROUTERS,
  DEFAULT_SUBNET,
  LAB_UPLINKS,
  labNamespaces,
  checkOpenwrt,
  planTopology,
  type LabFirewall,
  type TopologyOptions,
  type TopologyPlan,
} from './topology.js';

export { LabCommandError, LabError } from './errors.js';
export { breakIsp, breakIsp6, clearMtuHop, repairIsp, repairIsp6, replaceIspRouter6, resumeIspRas, setMtuHop, stopIspRas } from './dataplane-faults.js';
export { formatLabInfo } from './lab-format.js';
export { checkShippedInventory } from './shipped-inventory.js';
export { DEFAULT_RATES } from './dataplane-plan.js';
export { findFreeSubnet } from './host-net.js';
export type { LabDataplane, LabEntry, LabInfo, LabIpv6, LabIsp6, LabProcess, LabRouter } from './manifest.js';
export { ensureLabPackages, missingLabPackages } from './packages.js';
export { DEFAULT_DIR, DEFAULT_PREFIX, DEFAULT_ROUTERS, DEFAULT_SUBNET, LAB_UPLINKS, MAX_ROUTERS } from './topology.js';

/** Steps of labUp, in order; onStep hears each one before it starts. */
export type LabStep = 'check' | 'files' | 'namespaces' | 'links' | 'addresses' | 'sshd' | 'ready';

export interface LabOptions {
  /** 1..200, default 3. */
  routers?: number;
  /** Default ./.lab relative to the current directory. */
  dir?: string;
  /** Name prefix of namespaces and the host link, default 'ml'. */
  prefix?: string;
  /** X of the management subnet 198.18.X.0/24; the first free one when undefined. */
  subnet?: number;
  log?: (line: string) => void;
  /** Progress for a UI; an error thrown here aborts labUp, which cleans up like any failure. */
  onStep?: (step: LabStep) => void | Promise<void>;
  /**
   * A client behind r1's lan0, the three uplinks as rate-limited ISPs and a server behind
   * them (iperf3, vsftpd). Built around router r1 only: routers defaults to 1 and more is refused.
   */
  dataplane?: boolean;
  /** Mbit/s of each ISP (wan1, wan2, wan3) with dataplane; default 20, 40, 60. */
  rates?: number[];
  /** The ISPs drop packets whose source is not theirs (rp_filter=1 on their side). Default true. */
  bcp38?: boolean;
  /** Routers built like OpenWrt (BusyBox userland, /var in RAM): names r1…rN. */
  openwrt?: readonly string[];
  /**
   * Routers built like a stock OpenWrt image (BusyBox for every command, `ip` included; only
   * nft and sshd in /usr/sbin: no iptables, no conntrack tool, no `timeout`).
   */
  openwrtStock?: readonly string[];
  /** With dataplane: r1's extra uplinks, `dhcp` (wan4, leased by ISP 4) and `ptp` (wan5, point-to-point). */
  uplinks?: readonly ExtraUplink[];
  /**
   * With dataplane: dual stack. Each ISP advertises its /64 by RA (radvd) and drops IPv6
   * sources outside it; r1's WANs take their addresses by SLAAC and their default routes from
   * the RAs; the LAN has a ULA /64; the server answers on IPv6 (see dataplane-plan.ts).
   */
  ipv6?: boolean;
  /** multilink_firewall of the routers in the lab's inventory (default iptables). */
  firewall?: LabFirewall;
}

const SSH_KEYGEN_PARALLEL = 8;
const IP_PARALLEL = 8;
const SSHD_WAIT_PARALLEL = 32;

/** Root is about to trust dir's files and remove what its lab.json lists: only root may be able to change it. */
function requireTrustedFolder(dir: string): void {
  const problem = labFolderProblem(dir);
  if (problem) throw new LabError(problem);
}

function requireRoot(): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new LabError('multilink lab needs root (it creates network namespaces, links and sshd servers): run it as root or with sudo');
  }
}

export function readLab(dir: string): LabInfo | undefined {
  return readManifest(resolve(dir));
}

export async function labUp(opts: LabOptions = {}): Promise<LabInfo> {
  const log = opts.log ?? (() => undefined);
  const dataplane = opts.dataplane ?? false;
  const routers = opts.routers ?? (dataplane ? 1 : DEFAULT_ROUTERS);
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  const dir = resolve(opts.dir ?? DEFAULT_DIR);
  const rates = opts.rates ?? [...DEFAULT_RATES];
  const bad =
    checkRouters(routers) ??
    checkPrefix(prefix) ??
    (opts.subnet === undefined ? undefined : checkSubnet(opts.subnet)) ??
    checkLabPath(dir) ??
    (dataplane && routers !== 1 ? `a data-plane lab has exactly one router (r1), not ${routers}: drop --routers or use --routers 1` : undefined) ??
    (!dataplane && opts.rates ? 'rates apply only to a data-plane lab (--dataplane)' : undefined) ??
    (!dataplane && opts.uplinks?.length ? 'extra uplinks (DHCP, point-to-point) belong to a data-plane lab (--dataplane)' : undefined) ??
    (!dataplane && opts.ipv6 ? 'IPv6 (ISPs with router advertisements, a server behind them) belongs to a data-plane lab (--dataplane)' : undefined) ??
    checkOpenwrt([...(opts.openwrt ?? []), ...(opts.openwrtStock ?? [])], routers) ??
    ((opts.openwrt?.length || opts.openwrtStock?.length) && /^\/(run|var|etc|usr)(\/|$)/.test(dir)
      ? `an OpenWrt-like router mounts its own /run, /var, /etc and /usr/*bin over the host's: its lab folder ${dir} must be elsewhere`
      : undefined) ??
    (dataplane ? checkRates(rates) : undefined);
  if (bad) throw new LabError(bad);
  requireRoot();
  requireTrustedFolder(dir);
  const step = async (s: LabStep): Promise<void> => {
    await opts.onStep?.(s);
  };
  const started = Date.now();

  await step('check');
  await ensureLabPackages(log, { ...(dataplane ? DATAPLANE_COMMANDS : {}), ...(opts.ipv6 ? IPV6_COMMANDS : {}), ...(opts.openwrt?.length || opts.openwrtStock?.length ? OPENWRT_COMMANDS : {}) });
  const plan = await checkHost(dir, prefix, routers, opts.subnet, dataplane, { bcp38: opts.bcp38, openwrt: opts.openwrt, openwrtStock: opts.openwrtStock, ...(opts.firewall ? { firewall: opts.firewall } : {}) });
  const info = newLabInfo(plan, dir);
  const dp = dataplane ? newLabDataplane(dir, planDataplane(prefix, plan.routers[0], rates, opts.uplinks, opts.ipv6), rates) : undefined;
  if (dp) info.dataplane = dp;

  try {
    await step('files');
    await writeFiles(info, plan, log);
    if (dp) writeDataplaneFiles(info, dp);
    await step('namespaces');
    await createNamespaces(info, plan);
    await step('links');
    await createLinks(info, plan);
    await step('addresses');
    await configureNamespaces(plan);
    if (dp) await configureDataplane(info, dp);
    await step('sshd');
    // First: r1's SLAAC runs while the sshd servers start (startDataplaneServices waits for it).
    if (dp?.ipv6) await startRadvd(info);
    await startSshds(info, log);
    if (dp) await startDataplaneServices(info, dp, log);
    info.status = 'up';
    saveManifest(info);
    await step('ready');
  } catch (err) {
    log(`lab up failed (${err instanceof Error ? err.message.split('\n')[0] : String(err)}): removing what it created`);
    try {
      teardownSync(info, log);
    } catch (cleanupErr) {
      if (err instanceof Error) err.message += `\n(cleanup failed too: ${cleanupErr instanceof Error ? cleanupErr.message : String(cleanupErr)})`;
    }
    throw err;
  }
  log(`lab ${prefix} up: ${routers} router(s)${dp ? ` with data plane${dp.ipv6 ? ' (dual stack)' : ''}` : ''} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const warning of checkShippedInventory(info)) log(`warning: ${warning}`);
  return info;
}

export async function labDown(opts: { dir?: string; log?: (line: string) => void } = {}): Promise<void> {
  labDownSync(opts);
}

/** The same teardown, synchronously: for 'exit' handlers. */
export function labDownSync(opts: { dir?: string; log?: (line: string) => void } = {}): void {
  const dir = resolve(opts.dir ?? DEFAULT_DIR);
  requireRoot();
  requireTrustedFolder(dir);
  const info = readManifest(dir);
  if (!info) {
    opts.log?.(`no lab in ${dir}: nothing to remove`);
    return;
  }
  const problems = manifestProblems(info, dir);
  if (problems.length > 0) {
    throw new LabError(`${join(dir, 'lab.json')} was not written by \`multilink lab up\`; nothing removed:\n  ${problems.slice(0, 10).join('\n  ')}`);
  }
  teardownSync(info, opts.log);
}

async function checkHost(
  dir: string,
  prefix: string,
  routers: number,
  wanted: number | undefined,
  dataplane: boolean,
  topology: TopologyOptions,
): Promise<TopologyPlan> {
  const existing = readManifest(dir);
  if (existing) {
    throw new LabError(`a lab already uses ${dir} (prefix ${existing.prefix}, ${existing.routers.length} routers, ${existing.status}): run \`multilink lab down\` first`);
  }
  const uses = await hostSubnetUses();
  const subnet = wanted ?? pickFreeSubnet(uses, DEFAULT_SUBNET);
  if (subnet === undefined) throw new LabError('every 198.18.X.0/24 subnet is in use on this host: run `multilink lab down` on an old lab');
  const plan = planTopology(prefix, routers, subnet, topology);
  if (dataplane) plan.dataplane = dataplaneNamespacesOf(prefix);
  const namespaces = listNamespacesSync();
  const takenNs = labNamespaces(plan).filter((ns) => namespaces.has(ns));
  if (takenNs.length > 0) {
    const shown = takenNs.slice(0, 5).join(', ') + (takenNs.length > 5 ? `, … (${takenNs.length})` : '');
    throw new LabError(`a lab already uses prefix ${prefix}: namespace(s) ${shown} exist — run \`multilink lab down\` (or choose another prefix)`);
  }
  if ((await listHostLinks()).has(plan.hostLink)) {
    throw new LabError(`a lab already uses prefix ${prefix}: link ${plan.hostLink} exists on this host — run \`multilink lab down\` (or choose another prefix)`);
  }
  const clash = usesOf(plan.managementCidr, uses);
  if (clash.length > 0) {
    throw new LabError(`a lab already uses ${plan.managementCidr} (${clash[0].where}) — run \`multilink lab down\` (or choose another subnet)`);
  }
  // A dangling link counts: the lab makes each of its files new, never through a link.
  const wouldOverwrite = plannedFiles(dir, plan).filter(nameTaken);
  if (wouldOverwrite.length > 0) {
    throw new LabError(`${dir} holds files of an earlier lab (${wouldOverwrite.slice(0, 3).join(', ')}): remove them or choose another folder`);
  }
  return plan;
}

function routerDir(dir: string, name: string): string {
  return join(dir, name);
}

function plannedFiles(dir: string, plan: TopologyPlan): string[] {
  const top = ['id_ed25519', 'id_ed25519.pub', 'authorized_keys', 'known_hosts', 'inventory.yaml', 'playbook.yaml'].map((f) => join(dir, f));
  const per = plan.routers.flatMap((r) =>
    ['ssh_host_ed25519_key', 'ssh_host_ed25519_key.pub', 'sshd_config', 'sshd.log', 'sshd.pid'].map((f) => join(routerDir(dir, r.name), f)),
  );
  return [...top, ...per];
}

function newLabInfo(plan: TopologyPlan, dir: string): LabInfo {
  // The namespaces of the data plane are in the plan; its run-time record comes later.
  const { routers, dataplane: _namespaces, ...topology } = plan;
  return {
    ...topology,
    version: 1,
    status: 'creating',
    dir,
    routers: routers.map((r) => {
      const rdir = routerDir(dir, r.name);
      // An OpenWrt-like router's state folder is in its own /etc (OPENWRT_STATE_DIR), seen only
      // from its mount namespace: nothing on this machine to record or remove.
      const stateDir = r.openwrt ? '' : join(rdir, 'state');
      return { ...r, dir: rdir, stateDir, sshdConfig: join(rdir, 'sshd_config'), sshdLog: join(rdir, 'sshd.log') };
    }),
    privateKey: join(dir, 'id_ed25519'),
    authorizedKeys: join(dir, 'authorized_keys'),
    knownHosts: join(dir, 'known_hosts'),
    inventory: join(dir, 'inventory.yaml'),
    playbook: join(dir, 'playbook.yaml'),
    namespaces: [],
    hostLinks: [],
    processes: [],
    files: [],
    dirs: [],
    trees: [],
    createdAt: new Date().toISOString(),
  };
}

async function sshKeygen(file: string, comment: string): Promise<string> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  return readFileSync(`${file}.pub`, 'utf8');
}

async function writeFiles(info: LabInfo, plan: TopologyPlan, log: (line: string) => void): Promise<void> {
  // A folder the lab makes is its own (0700), removed on down; parents it needed are left.
  if (makeLabFolder(info.dir)) info.dirs.push(info.dir);
  // Everything this step may write is recorded before it is written.
  info.files.push(...plannedFiles(info.dir, plan));
  for (const r of info.routers) {
    if (!existsSync(r.dir)) info.dirs.push(r.dir);
    if (r.stateDir) info.trees.push(r.stateDir);
    if (r.openwrt) info.trees.push(openwrtTree(r).root);
  }
  // The default lab is the one inventory/lab.yaml names: its routers keep their state under
  // SHIPPED_STATE_ROOT, which goes with them (a new lab's routers start with none).
  if (info.prefix === DEFAULT_PREFIX && info.subnet === DEFAULT_SUBNET) {
    if (!existsSync(SHIPPED_STATE_ROOT)) info.dirs.push(SHIPPED_STATE_ROOT);
    for (const r of info.routers) info.trees.push(join(SHIPPED_STATE_ROOT, r.name));
  }
  saveManifest(info);
  for (const r of info.routers) mkdirSync(r.dir, { recursive: true, mode: 0o755 });

  log(`generating keys for ${info.routers.length} router(s)`);
  const clientKey = await sshKeygen(info.privateKey, `multilink-lab-${info.prefix}`);
  writeNewFile(info.authorizedKeys, clientKey, 0o600);
  const hostKeys = await runPool(info.routers, SSH_KEYGEN_PARALLEL, (r) =>
    sshKeygen(join(r.dir, 'ssh_host_ed25519_key'), `${r.namespace}`),
  );
  writeNewFile(info.knownHosts, info.routers.map((r, i) => knownHostsLine(r.mgmtAddress, hostKeys[i]) + '\n').join(''));
  let applets: string[] | undefined;
  for (const r of info.routers) {
    const config = renderSshdConfig({
      router: r.name,
      namespace: r.namespace,
      address: r.mgmtAddress,
      hostKey: join(r.dir, 'ssh_host_ed25519_key'),
      pidFile: join(r.dir, 'sshd.pid'),
      authorizedKeys: info.authorizedKeys,
    });
    writeNewFile(r.sshdConfig, config);
    if (r.openwrt) buildOpenwrtTree(r, applets ??= busyboxApplets());
  }
  writeNewFile(info.playbook, renderPlaybook());
  writeNewFile(info.inventory, labInventoryText(info));
}

export function labInventoryText(info: LabInfo): string {
  return renderInventory({
    header: [
      `Inventory of the multilink lab "${info.prefix}" in ${info.dir}`,
      'Written by `multilink lab up`, removed by `multilink lab down`.',
    ],
    privateKey: info.privateKey,
    knownHosts: info.knownHosts,
    playbook: info.playbook,
    routers: info.routers,
  });
}

async function createNamespaces(info: LabInfo, plan: TopologyPlan): Promise<void> {
  const names = labNamespaces(plan);
  info.namespaces.push(...names.map((name) => ({ name, created: false })));
  saveManifest(info);
  const r = await ipBatch(namespaceAddLines(names));
  // A line that failed created nothing of ours: that name belongs to someone else now.
  const lost = names.filter((_, i) => r.failed.has(i + 1));
  info.namespaces = info.namespaces.filter((n) => !lost.includes(n.name));
  for (const n of info.namespaces) n.created = true;
  saveManifest(info);
  if (lost.length > 0) {
    throw new LabError(`namespace(s) ${lost.join(', ')} could not be created (${r.stderr.trim().split('\n')[0]}): a lab already uses them? run \`multilink lab down\``);
  }
}

async function createLinks(info: LabInfo, plan: TopologyPlan): Promise<void> {
  info.hostLinks.push({ name: plan.hostLink, created: false });
  saveManifest(info);
  const lines = hostLinkLines(plan);
  const r = await ipBatch(lines);
  if (r.failed.has(1)) {
    info.hostLinks = info.hostLinks.filter((l) => l.name !== plan.hostLink);
    saveManifest(info);
    throw new LabError(`link ${plan.hostLink} could not be created (${r.stderr.trim().split('\n')[0]}): a lab already uses it? run \`multilink lab down\``);
  }
  for (const l of info.hostLinks) l.created = true;
  saveManifest(info);
  if (r.failed.size > 0) throw new LabError(`configuring ${plan.hostLink} failed: ${r.stderr.trim()}`);
  // Two labs started at the same moment could both have found this subnet free.
  const others = usesOf(plan.managementCidr, await hostSubnetUses()).filter((u) => !u.where.includes(` on ${plan.hostLink}`) && !u.where.includes(`dev ${plan.hostLink} `));
  if (others.length > 0) throw new LabError(`${plan.managementCidr} was taken meanwhile (${others[0].where})`);
  await ipBatchOrThrow(routerLinkLines(plan));
}

async function configureNamespaces(plan: TopologyPlan): Promise<void> {
  const shared = await Promise.allSettled([
    ipBatchOrThrow(switchLines(plan), plan.switchNamespace),
    ipBatchOrThrow(upstreamLines(plan), plan.upstreamNamespace),
    ipBatchOrThrow(lanLines(plan), plan.lanNamespace),
  ]);
  for (const r of shared) if (r.status === 'rejected') throw r.reason;
  if (plan.bcp38) await applyBcp38(plan.upstreamNamespace, LAB_UPLINKS.map((u) => `isp${u.k}`));
  await runPool(plan.routers, IP_PARALLEL, (r) => ipBatchOrThrow(routerLines(r), r.namespace));
}

async function startSshds(info: LabInfo, log: (line: string) => void): Promise<void> {
  ensurePrivsepDir();
  log(`starting ${info.routers.length} sshd(s)`);
  try {
    for (const [i, r] of info.routers.entries()) {
      const pid = r.openwrt ? spawnOpenwrtSshd(r) : spawnSshd(r.namespace, r.sshdConfig, r.sshdLog);
      r.sshdPid = pid;
      info.processes.push(processRecord(pid, r.name, r.sshdConfig));
      // A crash in between leaves at most a few unrecorded: down finds them in the namespaces.
      if (i % 10 === 9) saveManifest(info);
    }
  } finally {
    saveManifest(info);
  }
  const deadline = Date.now() + 20_000 + 100 * info.routers.length;
  await runPool(info.routers, SSHD_WAIT_PARALLEL, (r) =>
    waitForSshd({ address: r.mgmtAddress, pid: r.sshdPid ?? 0, log: r.sshdLog, label: `${r.name} (${r.namespace})` }, deadline),
  );
}
