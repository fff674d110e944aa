// `npm run demo`: multilink at work on this machine, in well under two minutes. Brings up the
// data-plane lab in .lab (router r1 between a client and three ISPs shaped to 20, 40 and
// 60 Mbit/s, or keeps the one that is up), deploys a balance weighted by capacity with the
// link monitor, pushes a burst of short connections and a few downloads from the client
// through the router, and ends on the per-link view (shares, throughput, health) refreshed
// live while the traffic flows. Run it again: the lab is kept and the deploy is unchanged;
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
    // inventory/lab.yaml describes the three-router lab (`multilink lab up`), not this one:
    // the lab's warnings that it does not match are beside the point here.
    log: (line) => {
      if (!/^warning: .*inventory\/lab\.yaml/.test(line)) say(`  ${line}`);
    },
  });
  say(formatLabInfo(info));
  return info;
}

/** The lab's playbook with the link monitor probing the server through each link, once. */
function addHealth(playbook: string, target: string): void {
  const text = readFileSync(playbook, 'utf8');
  if (/^ {2}health:/m.test(text)) return;
  const health = `  health: { targets: [${target}], interval: 1s, down_after: 3, up_after: 3, quorum: 1 }`;
  writeFileSync(playbook, text.replace(/^( {2}rp_filter: .*)$/m, `$1\n${health}`));
}

async function status(inventory: string): Promise<StatusReport> {
  const targets = loadTargets(inventory, undefined, { out: () => undefined, err: (t) => process.stderr.write(`${t}\n`) });
  return statusFleet(targets, new Ssh2Transport(), { forks: 1, acceptNewHostKeys: false, connectTimeoutMs: 15_000, commandTimeoutMs: 30_000 });
}

async function waitUntilHealthy(inventory: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const links = (await status(inventory)).hosts[0]?.links ?? [];
    if (links.length > 0 && links.every((l) => l.health === 'up')) return;
    await sleep(500);
  }
  throw new Error('the link monitor did not report every link up within 20 s');
}

const newConnections = (r: StatusReport): Map<string, number> => new Map((r.hosts[0]?.links ?? []).map((l) => [l.link, l.newConnections ?? 0]));

async function main(): Promise<number> {
  const started = Date.now();
  step('1. the data-plane lab: client -> r1 -> three shaped ISPs -> server');
  const lab = await bringUpLab();
  const dp = lab.dataplane!;
  const inventory = relative(process.cwd(), dp.inventory);

  step(`2. deploy ${inventory}: weights by capacity, link monitor probing ${dp.serverAddress} through each link`);
  addHealth(dp.playbook, dp.serverAddress);
  if ((await run(['node', 'multilink', 'deploy', inventory])) !== 0) return 1;
  await waitUntilHealthy(inventory);

  step(`3. traffic through r1: ${CONNECTIONS} short connections and ${DOWNLOADS} downloads, watched live`);
  const before = newConnections(await status(inventory));
  const seconds = FRAMES * INTERVAL_S + 4;
  const downloads = inClient(lab, 'iperf3', ['-c', dp.serverAddress, '-p', String(dp.iperfPorts[0]), '-R', '-P', String(DOWNLOADS), '-t', String(seconds), '-J'], { timeoutMs: (seconds + 30) * 1000 });
  await sleep(1500); // past TCP slow start
  const burst = openConnections(lab, { count: CONNECTIONS, concurrency: 6, totalMs: 60_000 });
  const watched = await run(['node', 'multilink', 'status', inventory, '--watch', '--frames', String(FRAMES), '--interval', String(INTERVAL_S)], processOutput);
  const [conns, dl] = await Promise.all([burst, downloads]);
  const after = newConnections(await status(inventory));

  const total = [...after].reduce((sum, [link, n]) => sum + Math.max(0, n - (before.get(link) ?? 0)), 0);
  const shares = [...after].map(([link, n]) => `${link} ${total ? Math.round((100 * Math.max(0, n - (before.get(link) ?? 0))) / total) : 0}%`).join(', ');
  const mbps = iperfSummaryFromJson(dl.stdout).receivedBps / 1e6;
  say('');
  const weights = (await status(inventory)).hosts[0]?.links.map((l) => l.weight).join(':');
  say(`${conns.ok} of ${CONNECTIONS} connections answered; new connections balanced: ${shares} (weights ${weights})`);
  say(`${DOWNLOADS} downloads together: ${mbps.toFixed(1)} Mbit/s of the ISPs' ${dp.rates.reduce((a, b) => a + b, 0)} Mbit/s`);
  say(`demo done in ${((Date.now() - started) / 1000).toFixed(0)} s. Try: node dist/bin.js status ${inventory} --watch   (q quits)`);
  say(`             node dist/bin.js status ${inventory} --format openmetrics;   node dist/bin.js lab down`);
  return watched === 0 && conns.ok > 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${errorMessage(err)}\n`);
    process.exit(1);
  },
);
