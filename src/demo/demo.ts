// `npm run demo`: multilink at work on this machine, in well under two minutes. Brings up the
// dual-stack data-plane lab in .lab (router r1 between a client and three ISPs shaped to 20,
// 40 and 60 Mbit/s that also advertise IPv6 by RA, or keeps the one that is up), deploys a
// balance weighted by capacity with the link monitor (IPv4 and IPv6), pushes a burst of short
// IPv4 and IPv6 connections and a few downloads from the client through the router, and ends
// on the per-link view (shares, throughput, health) refreshed live while the traffic flows. Run it again: the lab is kept and the deploy is unchanged;
// `node dist/bin.js lab down` removes everything.
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { run } from '../cli.js';
import { processOutput } from '../report/view.js';
import { DEFAULT_DIR, DEFAULT_SUBNET, formatLabInfo, labUp, readLab, type LabInfo } from '../lab/lab.js';
import { inClient, openConnections } from '../lab/dataplane-traffic.js';
import { iperfSummaryFromJson } from '../lab/dataplane-measure.js';
import { loadTargets } from '../commands/common.js';
import { statusFleet } from '../deploy/status.js';
import { Ssh2Transport } from '../transport/ssh2-transport.js';
import type { StatusReport } from '../model/status.js';
import { errorMessage } from '../errors.js';

const say = (line: string): void => void process.stdout.write(`${line}\n`);
const step = (line: string): void => say(`\n== ${line}`);
const sleep = (ms: number): Promise<void> => new Promise((ok) => setTimeout(ok, ms));

/** The live view runs this long (frames × interval) while the traffic flows. */
const FRAMES = 5;
const INTERVAL_S = 2;
const CONNECTIONS = 1200;
const CONNECTIONS6 = 600;
const DOWNLOADS = 12;

async function bringUpLab(): Promise<LabInfo> {
  const existing = readLab(DEFAULT_DIR);
  if (existing?.status === 'up' && existing.dataplane) {
    say(`the data-plane lab in ${existing.dir} is up: kept`);
    return existing;
  }
  if (existing) {
    throw new Error(`a lab of ${existing.routers.length} router(s) without data plane (${existing.status}) is in ${existing.dir}: run \`node dist/bin.js lab down\` first`);
  }
  const info = await labUp({
    dir: DEFAULT_DIR,
    subnet: DEFAULT_SUBNET,
    dataplane: true,
    ipv6: true,
    // inventory/lab.yaml describes the three-router lab (`multilink lab up`), not this one:
    // the lab's warnings that it does not match are beside the point here.
    log: (line) => {
      if (!/^warning: .*inventory\/lab\.yaml/.test(line)) say(`  ${line}`);
    },
  });
  say(formatLabInfo(info));
  return info;
}

/** The lab's playbook with the link monitor probing the server (its IPv4 and IPv6 addresses) through each link, once. */
function addHealth(playbook: string, targets: string[]): void {
  const text = readFileSync(playbook, 'utf8');
  if (/^ {2}health:/m.test(text)) return;
  const health = `  health: { targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}], interval: 1s, down_after: 3, up_after: 3, quorum: 1 }`;
  writeFileSync(playbook, text.replace(/^( {2}rp_filter: .*)$/m, `$1\n${health}`));
}

async function status(inventory: string): Promise<StatusReport> {
  const targets = loadTargets(inventory, undefined, { out: () => undefined, err: (t) => process.stderr.write(`${t}\n`) });
  return statusFleet(targets, new Ssh2Transport(), { forks: 1, acceptNewHostKeys: false, connectTimeoutMs: 15_000, commandTimeoutMs: 30_000 });
}

async function waitUntilHealthy(inventory: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const links = (await status(inventory)).hosts[0]?.links ?? [];
    if (links.length > 0 && links.every((l) => l.health === 'up' && (!l.ipv6 || l.ipv6.health === 'up'))) return;
    await sleep(500);
  }
  throw new Error('the link monitor did not report every link up within 20 s');
}

const newConnections = (r: StatusReport, family: 4 | 6 = 4): Map<string, number> =>
  new Map((r.hosts[0]?.links ?? []).flatMap((l) => (family === 4 ? [[l.link, l.newConnections ?? 0]] : l.ipv6 ? [[l.link, l.ipv6.newConnections ?? 0]] : [])));

/** Each link's share of the new connections between two readings, as `dsl 17%, …`. */
function shareText(before: Map<string, number>, after: Map<string, number>): string {
  const got = [...after].map(([link, n]): [string, number] => [link, Math.max(0, n - (before.get(link) ?? 0))]);
  const total = got.reduce((sum, [, n]) => sum + n, 0);
  return got.map(([link, n]) => `${link} ${total ? Math.round((100 * n) / total) : 0}%`).join(', ');
}

async function main(): Promise<number> {
  const started = Date.now();
  step('1. the data-plane lab: client -> r1 -> three shaped ISPs -> server');
  const lab = await bringUpLab();
  const dp = lab.dataplane!;
  const inventory = relative(process.cwd(), dp.inventory);

  const v6 = dp.ipv6;
  const targets = [dp.serverAddress, ...(v6 ? [v6.serverAddress] : [])];
  step(`2. deploy ${inventory}: weights by capacity${v6 ? ', IPv4 and IPv6 (gateway6: auto, NAT66)' : ''}, link monitor probing ${targets.join(' and ')} through each link`);
  addHealth(dp.playbook, targets);
  if ((await run(['node', 'multilink', 'deploy', inventory])) !== 0) return 1;
  await waitUntilHealthy(inventory);

  step(`3. traffic through r1: ${CONNECTIONS} short IPv4 connections${v6 ? `, ${CONNECTIONS6} IPv6 ones` : ''} and ${DOWNLOADS} downloads, watched live`);
  const first = await status(inventory);
  const before = newConnections(first);
  const before6 = newConnections(first, 6);
  const seconds = FRAMES * INTERVAL_S + 4;
  const downloads = inClient(lab, 'iperf3', ['-c', dp.serverAddress, '-p', String(dp.iperfPorts[0]), '-R', '-P', String(DOWNLOADS), '-t', String(seconds), '-J'], { timeoutMs: (seconds + 30) * 1000 });
  await sleep(1500); // past TCP slow start
  const burst = openConnections(lab, { count: CONNECTIONS, concurrency: 6, totalMs: 60_000 });
  const burst6 = v6 ? openConnections(lab, { count: CONNECTIONS6, concurrency: 4, totalMs: 60_000, host: v6.serverAddress, port: dp.tcpPort }) : undefined;
  const watched = await run(['node', 'multilink', 'status', inventory, '--watch', '--frames', String(FRAMES), '--interval', String(INTERVAL_S)], processOutput);
  const [conns, dl, conns6] = await Promise.all([burst, downloads, burst6]);
  const last = await status(inventory);

  const mbps = iperfSummaryFromJson(dl.stdout).receivedBps / 1e6;
  say('');
  const weights = last.hosts[0]?.links.map((l) => l.weight).join(':');
  say(`${conns.ok} of ${CONNECTIONS} IPv4 connections answered; new connections balanced: ${shareText(before, newConnections(last))} (weights ${weights})`);
  if (conns6) say(`${conns6.ok} of ${CONNECTIONS6} IPv6 connections answered; new connections balanced: ${shareText(before6, newConnections(last, 6))} (NAT66 per link)`);
  say(`${DOWNLOADS} downloads together: ${mbps.toFixed(1)} Mbit/s of the ISPs' ${dp.rates.reduce((a, b) => a + b, 0)} Mbit/s`);
  say(`demo done in ${((Date.now() - started) / 1000).toFixed(0)} s. Try: node dist/bin.js status ${inventory} --watch   (q quits)`);
  say(`             node dist/bin.js status ${inventory} --format openmetrics;   node dist/bin.js lab down`);
  return watched === 0 && conns.ok > 0 && (!conns6 || conns6.ok > 0) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${errorMessage(err)}\n`);
    process.exit(1);
  },
);
