// bench/dataplane: multilink's balance measured with real traffic on the data-plane lab
// (client → r1 → three shaped ISPs → server). See bench/README-dataplane.md.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { breakIsp, findFreeSubnet, labDownSync, labUp, readLab, repairIsp, type LabInfo } from '../src/lab/lab.js';
import { dataplaneInventoryText } from '../src/lab/dataplane-setup.js';
import { monitorState, renderHealthPlaybook, type HealthSettings } from '../src/lab/dataplane-health.js';
import {
  addClientAddresses,
  balanceCounters,
  connectionLinks,
  inClient,
  openConnections,
  startHold,
  startProbe,
  startStreamServer,
  STREAM_PORT,
  waitFor,
  wanBytes,
  type HeldStream,
  type HoldResult,
} from '../src/lab/dataplane-traffic.js';
import { stopLabProcess } from '../src/lab/lab-process.js';
import { run, sleep } from '../src/lab/run.js';
import { DEFAULT_RATES } from '../src/lab/dataplane-plan.js';
import { healthTargets, renderDataplanePlaybook, weightsForRates, type BalanceMethod, type TrafficKind } from '../src/lab/lab-playbooks.js';
import { batches } from './lib/batch.js';
import { failoverFigures, firstOnLink, reusedPorts, streamSurvived } from './lib/failover.js';
import { failover6 } from './lib/failover6.js';
import { balanceCountersOf, clientMss, payloadCeiling, routerMtu, SERVER_ADDRESS6, stopProbes, tcpTimestamps, type Family } from './lib/ipv6.js';
import { iperfSummaryFromJson, sharesPercent } from '../src/lab/dataplane-measure.js';

/** bench/.build/bench/dataplane.js → the repository root. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'dist', 'bin.js');

/** Parts: a–e (IPv4; e is the adaptive batches) and, with --ipv6, a6, b6, c6 (their IPv6 twins). */
type Part = 'a' | 'b' | 'c' | 'd' | 'e' | 'a6' | 'b6' | 'c6';

interface Args {
  rates: number[];
  connections: number;
  seconds: number;
  parallel: number;
  /** Part a6's parallel downloads (issue 18: 24). */
  parallel6: number;
  /** Part c6: breaks of cable's IPv6 measured one after another. */
  breaks6: number;
  concurrency: number;
  parts: Set<Part>;
  /** A dual-stack lab (`lab up --dataplane --ipv6`), every link `gateway6: auto`. */
  ipv6: boolean;
  /** Part e: downloads per batch, workers, size of each. */
  batch: { count: number; workers: number; sizeBytes: number };
  /** The playbook's `traffic` (issue 9 re-runs it with forwarded,local and no exceptions). */
  traffic: TrafficKind[];
  /** multilink_firewall of r1 (issue 19: the data plane on nft). */
  firewall: 'iptables' | 'nft';
}

const PARTS_HELP = 'letters of abcde, with --ipv6 also a6 b6 c6: e.g. cd, a6b6c6';

/** `--parts abc6`: a, b, c6 — a letter, and a 6 after a, b or c for its IPv6 twin. */
function parseParts(value: string | undefined): Set<Part> {
  const tokens = /^(?:[a-e]|[abc]6)+$/.test(value ?? '') ? ((value ?? '').match(/[a-e]6?/g) ?? []) : [];
  if (tokens.length === 0 || new Set(tokens).size !== tokens.length) throw new Error(`--parts takes ${PARTS_HELP}`);
  return new Set(tokens as Part[]);
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    rates: [...DEFAULT_RATES],
    connections: 6000,
    seconds: 10,
    parallel: 32,
    parallel6: 24,
    breaks6: 3,
    concurrency: 50,
    parts: new Set(),
    ipv6: false,
    traffic: ['forwarded'],
    firewall: 'iptables',
    batch: { count: 240, workers: 16, sizeBytes: 1_000_000 },
  };
  let parts: Set<Part> | undefined;
  let traffic: TrafficKind[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const [key, value] = [argv[i], argv[i + 1]];
    const int = (min: number, max: number): number => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${key} takes a whole number from ${min} to ${max}`);
      i++;
      return n;
    };
    if (key === '--rates') {
      args.rates = (value ?? '').split(',').map(Number);
      i++;
    } else if (key === '--connections') args.connections = int(6, 60_000);
    else if (key === '--seconds') args.seconds = int(2, 120);
    else if (key === '--parallel') args.parallel = int(1, 128);
    else if (key === '--parallel6') args.parallel6 = int(1, 128);
    else if (key === '--breaks6') args.breaks6 = int(1, 20);
    else if (key === '--concurrency') args.concurrency = int(1, 500);
    else if (key === '--batch') args.batch.count = int(10, 10_000);
    else if (key === '--workers') args.batch.workers = int(1, 256);
    else if (key === '--ipv6') args.ipv6 = true;
    else if (key === '--firewall') {
      if (value !== 'iptables' && value !== 'nft') throw new Error('--firewall takes iptables or nft');
      args.firewall = value;
      i++;
    }
    else if (key === '--traffic') {
      const kinds = (value ?? '').split(',');
      if (!kinds.every((k) => k === 'forwarded' || k === 'local') || new Set(kinds).size !== kinds.length) throw new Error('--traffic takes forwarded or forwarded,local');
      traffic = kinds as TrafficKind[];
      i++;
    } else if (key === '--parts') {
      parts = parseParts(value);
      i++;
    } else {
      throw new Error(
        `unknown option ${key} (--rates A,B,C --connections N --seconds S --parallel P --parallel6 P --breaks6 N --concurrency C --parts ${PARTS_HELP} ` +
          '--traffic forwarded[,local] --batch N --workers W --ipv6 --firewall iptables|nft)',
      );
    }
  }
  if (parts && !args.ipv6 && [...parts].some((p) => p.endsWith('6'))) throw new Error('parts a6, b6 and c6 need --ipv6 (a dual-stack lab)');
  // --ipv6: each IPv4 part that has a twin is followed by it; e (IPv4 batches, minutes long) only when asked.
  args.parts = parts ?? new Set<Part>(args.ipv6 ? ['a', 'a6', 'b', 'b6', 'c', 'c6', 'd'] : ['a', 'b', 'c', 'd', 'e']);
  // --ipv6 measures issue 18's acceptance playbook: traffic [forwarded, local].
  args.traffic = traffic ?? (args.ipv6 ? ['forwarded', 'local'] : ['forwarded']);
  return args;
}

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

let labDir: string | undefined;
function cleanup(): void {
  stopProbes();
  if (!labDir) return;
  try {
    if (readLab(labDir)) labDownSync({ dir: labDir });
  } catch (err) {
    console.error(`could not remove the bench lab in ${labDir}: ${err instanceof Error ? err.message : String(err)}`);
  }
  rmSync(labDir, { recursive: true, force: true });
  labDir = undefined;
}

function installSafetyNet(): void {
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      console.error(`\n${sig}: removing the bench lab`);
      cleanup();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

async function startLab(rates: number[], ipv6: boolean, firewall: 'iptables' | 'nft'): Promise<LabInfo> {
  const prefix = `dp${process.pid % 10000}`;
  labDir = mkdtempSync(join(tmpdir(), `multilink-bench-${prefix}-`));
  // Away from the default lab (0), the test labs (64..223) and the fleet bench (224..255).
  const subnet = await findFreeSubnet(32 + (process.pid % 32));
  if (subnet === undefined) throw new Error('no free 198.18.X.0/24 subnet for the bench lab');
  return labUp({ dir: labDir, prefix, subnet, dataplane: true, rates, ...(ipv6 ? { ipv6: true } : {}), firewall, log });
}

let benchTraffic: TrafficKind[] = ['forwarded'];
/** --ipv6: every playbook gives each link `gateway6: auto` (and health the server's IPv6 address as a target). */
let benchIpv6 = false;

/** The CLI in a child process, as an operator runs it. */
function deploy(inventory: string): void {
  const r = spawnSync(process.execPath, [BIN, 'deploy', inventory, '--json'], { encoding: 'utf8', timeout: 120_000 });
  const outcome = /"outcome":\s*"(\w+)"/.exec(r.stdout ?? '')?.[1];
  if (r.status !== 0 || !outcome || !['changed', 'unchanged'].includes(outcome)) {
    throw new Error(`multilink deploy ${inventory} failed (exit ${r.status}): ${r.stdout}${r.stderr}`);
  }
  log(`deployed ${inventory}: r1 ${outcome}`);
}

function deployMethod(lab: LabInfo, method: BalanceMethod, weights: number[], traffic: TrafficKind[], name: string = method, health?: HealthSettings): void {
  const playbook = join(lab.dir, `bench-playbook-${name}.yaml`);
  const inventory = join(lab.dir, `bench-inventory-${name}.yaml`);
  writeFileSync(playbook, renderDataplanePlaybook({ method, weights, traffic, health, ipv6: benchIpv6 }));
  writeFileSync(inventory, dataplaneInventoryText(lab, playbook));
  deploy(inventory);
}

const pad = (s: string, n: number): string => s.padEnd(n);
const fmt = (n: number, d = 1): string => n.toFixed(d);

const sleepUntil = (at: number): Promise<void> => sleep(Math.max(0, at - Date.now()));

/**
 * (a) and (a6): iperf3 -R from the client, payload as a share of the rate sum, and per link
 * the bytes r1's wans received over the run. a6 also prints the payload ceiling (the shaped
 * rate counts Ethernet frames) with the MSS the client's connections use.
 */
async function throughput(lab: LabInfo, args: Args, out: string[], family: Family): Promise<string> {
  const dp = lab.dataplane!;
  const sumRates = dp.rates.reduce((a, b) => a + b, 0);
  const server = family === 6 ? SERVER_ADDRESS6 : dp.serverAddress;
  const parallel = family === 6 ? args.parallel6 : args.parallel;
  const before = await wanBytes(lab);
  const t0 = Date.now();
  const omit = 2;
  const iperf = inClient(
    lab,
    'iperf3',
    [...(family === 6 ? ['-6'] : []), '-c', server, '-p', String(dp.iperfPorts[0]), '-R', '-P', String(parallel), '-t', String(args.seconds), '-O', String(omit), '-J'],
    { timeoutMs: (args.seconds + omit + 30) * 1000 },
  );
  const mssAt = sleepUntil(t0 + (omit + 1) * 1000).then(() => clientMss(lab, server));
  const [r, mss] = await Promise.all([iperf, mssAt]);
  const wallS = (Date.now() - t0) / 1000;
  const after = await wanBytes(lab);
  const sum = iperfSummaryFromJson(r.stdout);
  const goodput = sum.receivedBps / 1e6;
  const pct = (100 * goodput) / sumRates;
  let verdict = '';
  if (family === 4) {
    out.push(
      `(a) throughput: iperf3 -R -P ${parallel} -t ${args.seconds} (first ${omit} s omitted), weights ${weightsForRates(dp.rates).join(':')} random`,
      `    aggregate payload ${fmt(goodput)} Mbit/s of ${sumRates} Mbit/s = ${fmt(pct)}% of the sum of link rates (target >= 95%; ` +
        `1448-byte payload in a 1514-byte frame caps payload at 95.6% of a shaped wire rate)`,
    );
  } else {
    const mtu = await routerMtu(lab, dp.isps[0].routerInterface);
    const timestamps = await tcpTimestamps(dp.serverNamespace);
    const ceiling = payloadCeiling(6, mtu, timestamps);
    const seen = [...new Set(mss)].sort((x, y) => x - y);
    const ceilingPct = 100 * ceiling.ratio;
    out.push(
      `(a6) throughput over IPv6: iperf3 -6 -c ${server} -R -P ${parallel} -t ${args.seconds} (first ${omit} s omitted), weights ${weightsForRates(dp.rates).join(':')} random, every link gateway6 auto`,
      `    aggregate payload ${fmt(goodput)} Mbit/s of ${sumRates} Mbit/s = ${fmt(pct)}% of the sum of link rates; target >= 95%: ${pct >= 95 ? 'met' : 'NOT met'}`,
      `    payload ceiling: a ${ceiling.payload}-byte payload (MTU ${mtu} - 40 IPv6 - 20 TCP${timestamps ? ' - 12 timestamps' : ''}; ss in the client: mss ${seen.join('/') || 'not seen'}) ` +
        `in a ${ceiling.frame}-byte frame = ${fmt(ceilingPct, 2)}% of a shaped wire rate (IPv4: 95.64%); ` +
        `the 95% target is ${ceilingPct >= 95 ? 'below' : 'above'} it; measured = ${fmt((100 * pct) / ceilingPct)}% of the ceiling`,
    );
    verdict = `IPv6 aggregate ${fmt(pct)}% vs target 95%: ${pct >= 95 ? 'met' : 'NOT met'} (payload ceiling ${fmt(ceilingPct, 2)}%, ${fmt((100 * pct) / ceilingPct)}% of it)`;
  }
  const rx = dp.isps.map((isp) => (after.get(isp.link)?.rxBytes ?? 0) - (before.get(isp.link)?.rxBytes ?? 0));
  const shares = sharesPercent(rx);
  const rateShares = sharesPercent(dp.rates);
  dp.isps.forEach((isp, i) => {
    out.push(
      `    ${pad(isp.link, 6)} ${pad(isp.routerInterface, 5)} rate ${String(isp.rateMbit).padStart(4)} Mbit/s: received ${fmt(rx[i] / 1e6)} MB, ` +
        `mean ${fmt((rx[i] * 8) / wallS / 1e6)} Mbit/s over ${fmt(wallS)} s wall, ${fmt(shares[i])}% of bytes (rate share ${fmt(rateShares[i])}%)`,
    );
  });
  return verdict;
}

/** (b) and (b6): N new connections from the client; each link's share by r1's ML_BALANCE counters of that family. */
async function connectionShares(lab: LabInfo, args: Args, method: 'random' | 'nth', weights: number[], out: string[], family: Family): Promise<boolean> {
  const dp = lab.dataplane!;
  const host = family === 6 ? { host: SERVER_ADDRESS6, port: dp.tcpPort } : {};
  const before = await balanceCountersOf(lab, family);
  const t0 = Date.now();
  const res = await openConnections(lab, { count: args.connections, concurrency: args.concurrency, perMs: 5000, totalMs: 600_000, ...host });
  const secs = (Date.now() - t0) / 1000;
  const after = await balanceCountersOf(lab, family);
  const links = dp.isps.map((i) => i.link);
  const counts = links.map((l) => (after.get(l) ?? 0) - (before.get(l) ?? 0));
  const total = counts.reduce((a, b) => a + b, 0);
  const wsum = weights.reduce((a, b) => a + b, 0);
  let pass = res.ok === args.connections && total === args.connections;
  out.push(
    family === 4
      ? `(b) ${method}: ${args.connections} new connections (${res.ok} ok, ${res.failed} failed, ${res.notStarted} not started) in ${fmt(secs)} s, ${total} counted by ML_BALANCE`
      : `(b6) ${method}: ${args.connections} new IPv6 connections to [${SERVER_ADDRESS6}]:${dp.tcpPort} (${res.ok} ok, ${res.failed} failed, ${res.notStarted} not started) ` +
          `in ${fmt(secs)} s, ${total} counted by ip6tables ML_BALANCE`,
  );
  links.forEach((l, i) => {
    const share = (100 * counts[i]) / Math.max(1, total);
    const want = (100 * weights[i]) / wsum;
    const expected = (args.connections * weights[i]) / wsum;
    const ok = method === 'nth' ? counts[i] === expected : Math.abs(share - want) <= 2;
    pass &&= ok;
    out.push(
      `    ${pad(l, 6)} weight ${weights[i]}: ${String(counts[i]).padStart(6)} = ${fmt(share, 2).padStart(6)}% (weight share ${fmt(want, 2)}%, ` +
        `${method === 'nth' ? `exact ${expected}` : `diff ${fmt(share - want, 2)} pp, limit 2`}) ${ok ? 'ok' : 'FAIL'}`,
    );
  });
  return pass;
}

/** Deploys METHOD once and measures the shares of each family the parts ask for (IPv4 first): pass per family. */
async function sharesOf(lab: LabInfo, args: Args, method: 'random' | 'nth', weights: number[], out: string[]): Promise<Record<Family, boolean>> {
  const pass: Record<Family, boolean> = { 4: true, 6: true };
  const families = ([4, 6] as const).filter((f) => args.parts.has(f === 4 ? 'b' : 'b6'));
  if (families.length === 0) return pass;
  deployMethod(lab, method, weights, args.traffic);
  for (const family of families) pass[family] = await connectionShares(lab, args, method, weights, out, family);
  return pass;
}

const HEALTH: HealthSettings = { targets: ['198.51.100.1'], intervalS: 1, downAfter: 3, upAfter: 3, quorum: 1 };
const PROBE_SOURCE = '192.0.2.20';

/** The CLI in a child process without blocking this one (the probes' timers keep running). */
async function cliAsync(args: readonly string[]): Promise<{ code: number | null; out: string; ms: number }> {
  const t0 = Date.now();
  const r = await run(process.execPath, [BIN, ...args], { allowFailure: true, timeoutMs: 180_000 });
  return { code: r.code, out: r.stdout + r.stderr, ms: Date.now() - t0 };
}

function healthInventory(lab: LabInfo, name: string, weights: number[], health: HealthSettings = HEALTH): string {
  const playbook = join(lab.dir, `bench-playbook-${name}.yaml`);
  const inventory = join(lab.dir, `bench-inventory-${name}.yaml`);
  writeFileSync(playbook, renderHealthPlaybook({ method: 'random', weights, health, traffic: benchTraffic, ipv6: benchIpv6 }));
  writeFileSync(inventory, dataplaneInventoryText(lab, playbook));
  return inventory;
}

/** Deploys a health playbook (weights 1:2:3 random) with the CLI in a child process; its time. */
async function deployHealth(lab: LabInfo, name: string, weights: number[], health: HealthSettings): Promise<number> {
  const inv = healthInventory(lab, name, weights, health);
  const r = await cliAsync(['deploy', inv, '--json']);
  if (r.code !== 0) throw new Error(`deploy ${inv} failed: ${r.out}`);
  log(`deployed ${inv} with the link monitor (${r.ms} ms)`);
  return r.ms;
}

const secs = (ms: number | undefined): string => (ms === undefined || !Number.isFinite(ms) ? 'never' : `${fmt(ms / 1000, 2)} s`);
const okFail = (pass: boolean): string => (pass ? 'ok' : 'FAIL');

interface Window {
  name: string;
  from: number;
  to: number;
}

/** Survival of every stream that was alive on a link other than `except` through each window. */
function survival(
  holds: ReadonlyArray<{ hold: HoldResult; links: ReadonlyMap<number, string>; label: string }>,
  w: Window,
  except: string | undefined,
  out: string[],
): boolean {
  let pass = true;
  let n = 0;
  const perLink = new Map<string, number>();
  const bad: string[] = [];
  let minBytes = Infinity;
  let maxGap = 0;
  for (const { hold, links, label } of holds) {
    for (const s of hold.streams as HeldStream[]) {
      const link = links.get(s.port);
      if (!link || link === except) continue;
      // Only streams that were connected when the window opened.
      if (s.connectedAt === 0 || s.connectedAt > w.from) continue;
      n++;
      perLink.set(link, (perLink.get(link) ?? 0) + 1);
      const v = streamSurvived(hold, s, w.from, w.to);
      minBytes = Math.min(minBytes, v.bytes);
      maxGap = Math.max(maxGap, v.maxGapMs);
      if (!v.ok) {
        pass = false;
        bad.push(`${label} port ${s.port} on ${link}: ${v.reason}`);
      }
    }
  }
  pass &&= n > 0;
  out.push(
    `    ${pad(w.name, 34)} ${n} streams (${[...perLink].map(([l, c]) => `${l} ${c}`).join(', ')}) over ${fmt((w.to - w.from) / 1000)} s: ` +
      `${n - bad.length} kept flowing, longest pause ${maxGap} ms, least ${fmt(minBytes / 1e3, 0)} kB received ${okFail(pass)}`,
    ...bad.map((b) => `      lost: ${b}`),
  );
  return pass;
}

/** (c) failover and recovery times, (d) survival of established connections. */
async function failover(lab: LabInfo, out: string[]): Promise<boolean> {
  const dp = lab.dataplane!;
  const weights = weightsForRates(dp.rates);
  const broken = dp.isps[1];
  const downLimit = HEALTH.intervalS * HEALTH.downAfter + 1;
  const upLimit = HEALTH.intervalS * HEALTH.upAfter + 1;
  await addClientAddresses(lab, [PROBE_SOURCE]);
  const inv = healthInventory(lab, 'health', weights);
  const first = await cliAsync(['deploy', inv, '--json']);
  if (first.code !== 0) throw new Error(`deploy ${inv} failed: ${first.out}`);
  const allUp = () => dp.isps.every((i) => monitorState(lab)?.links[i.link] === 'up');
  if ((await waitFor(allUp, 15_000)) === undefined) throw new Error('the link monitor did not report every link up within 15 s');
  log(`deployed ${inv} with the link monitor (${first.ms} ms)`);

  const server = await startStreamServer(lab, { maxS: 300 });
  try {
    const holdA = startHold(lab, { count: 12, maxS: 150 });
    const probe = startProbe(lab, { source: PROBE_SOURCE, intervalMs: 50, perMs: 900, count: 1000, totalMs: 40_000 });
    await sleep(2000);
    const linksA = await connectionLinks(lab, { dport: STREAM_PORT });

    log(`breaking ${broken.link}'s upstream (ISP ${broken.k})`);
    const breakAt = Date.now();
    await breakIsp(lab, broken.k);
    const downAt = await waitFor(() => monitorState(lab)?.links[broken.link] === 'down', 15_000);
    await sleep(Math.max(0, breakAt + 8000 - Date.now()));
    log(`repairing ${broken.link}`);
    const repairAt = Date.now();
    await repairIsp(lab, broken.k);
    const upAt = await waitFor(() => monitorState(lab)?.links[broken.link] === 'up', 15_000);
    await sleep(Math.max(0, repairAt + 7000 - Date.now()));
    const { attempts } = await probe.stop();
    const probeLinks = await connectionLinks(lab, { dport: dp.tcpPort, source: PROBE_SOURCE });
    const reused = reusedPorts(attempts);

    // A second set of streams, opened with every link up, for the deploy and the weight change.
    const holdB = startHold(lab, { count: 12, maxS: 120 });
    await sleep(2000);
    const linksB = await connectionLinks(lab, { dport: STREAM_PORT });
    const changed = healthInventory(lab, 'health-new-weight', weights.map((w, i) => (i === 2 ? w + 1 : w)));
    log(`deploying ${changed} (lte weight ${weights[2]} → ${weights[2] + 1})`);
    const deployAt = Date.now();
    const dep = await cliAsync(['deploy', changed, '--json']);
    const deployEnd = Date.now();
    const depOutcome = /"outcome":\s*"(\w+)"/.exec(dep.out)?.[1] ?? `exit ${dep.code}`;
    await sleep(3000);
    const back = weights.map((w, i) => `${dp.isps[i].link}=${w}`);
    log(`multilink weights ${changed} ${back.join(' ')}`);
    const weightsAt = Date.now();
    const wt = await cliAsync(['weights', changed, ...back]);
    const weightsEnd = Date.now();
    await sleep(3000);
    const end = Date.now();
    const [a, b] = [await holdA.stop(), await holdB.stop()];

    const fo = failoverFigures(attempts.filter((x) => x.start < repairAt), breakAt);
    const allOkMs = fo.allOkFrom === undefined ? undefined : fo.allOkFrom - breakAt;
    const stateDownMs = downAt === undefined ? undefined : downAt - breakAt;
    const failoverMs = Math.max(allOkMs ?? Infinity, stateDownMs ?? Infinity);
    const recoveryFailed = attempts.filter((x) => x.start >= repairAt && !x.ok).length;
    const stateUpMs = upAt === undefined ? undefined : upAt - repairAt;
    const firstBack = firstOnLink(attempts, probeLinks, broken.link, repairAt);
    const backMs = firstBack === undefined ? undefined : firstBack - repairAt;
    const recoveryMs = Math.max(stateUpMs ?? Infinity, backMs ?? Infinity);
    const afterRepair = attempts.filter((x) => x.start >= repairAt + upLimit * 1000 && x.ok && !reused.has(x.port));
    const share = (100 * afterRepair.filter((x) => probeLinks.get(x.port) === broken.link).length) / Math.max(1, afterRepair.length);
    const passC = failoverMs <= downLimit * 1000 && recoveryMs <= upLimit * 1000 && recoveryFailed === 0;
    out.push(
      `(c) failover: health target ${healthTargets(HEALTH.targets, benchIpv6).join(',')}, interval ${HEALTH.intervalS} s, down_after ${HEALTH.downAfter}, up_after ${HEALTH.upAfter}, ` +
        `quorum ${HEALTH.quorum}; weights ${weights.join(':')} random; ${broken.link}'s upstream broken (ISP ${broken.k}) for 8 s`,
      `    probe: a new connection from ${PROBE_SOURCE} to :${dp.tcpPort} every 50 ms, 900 ms connect timeout: ${attempts.length} attempts, ` +
        `${attempts.filter((x) => !x.ok).length} failed; link of each by r1's conntrack mark (${reused.size} client ports used twice, left out)`,
      `    after the break:  ${fo.failed} of ${fo.attempts} new connections failed (until repair); every new connection succeeds from ${secs(allOkMs)}; ` +
        `state file "${broken.link} down" at ${secs(stateDownMs)}`,
      `    failover time ${secs(failoverMs)} (later of the two) vs interval × down_after + 1 s = ${downLimit} s ${okFail(failoverMs <= downLimit * 1000)}`,
      `    after the repair: state file "${broken.link} up" at ${secs(stateUpMs)}; first new connection over ${broken.link} at ${secs(backMs)}; ` +
        `${recoveryFailed} failed; ${broken.link} took ${fmt(share)}% of new connections from ${upLimit} s on (weight share ${fmt((100 * weights[1]) / weights.reduce((x, y) => x + y, 0))}%)`,
      `    recovery time ${secs(recoveryMs)} vs interval × up_after + 1 s = ${upLimit} s ${okFail(recoveryMs <= upLimit * 1000 && recoveryFailed === 0)}`,
    );
    const holdsA = [{ hold: a, links: linksA, label: 'set A' }];
    const onBroken = a.streams.filter((s) => linksA.get(s.port) === broken.link);
    const brokenLost = onBroken.filter((s) => !streamSurvived(a, s, breakAt, end).ok).length;
    out.push(
      `(d) survival: paced streams (8 KB / 50 ms each) from the client to :${STREAM_PORT}; each stream's link from r1's conntrack mark; ` +
        `kept = no reset/close and no pause > 1000 ms in the window`,
    );
    let passD = survival(holdsA, { name: `failover of ${broken.link} (other links)`, from: breakAt, to: repairAt + 7000 }, broken.link, out);
    out.push(`      (${onBroken.length} streams of set A were on ${broken.link}: ${brokenLost} of them ended or stalled, as its flows must move)`);
    // Set A's streams on the broken link were cut by the failover: left out of the later windows.
    const aAlive = new Map([...linksA].filter(([, l]) => l !== broken.link));
    const both = [{ hold: a, links: aAlive, label: 'set A' }, { hold: b, links: linksB, label: 'set B' }];
    out.push(`    deploy of a new lte weight: r1 ${depOutcome} in ${fmt(dep.ms / 1000)} s${dep.code === 0 ? '' : `: ${dep.out.trim().split('\n').slice(-6).join(' | ')}`}`);
    passD = survival(both, { name: 'deploy (all links)', from: deployAt - 500, to: deployEnd + 3000 }, undefined, out) && passD && dep.code === 0;
    out.push(`    multilink weights ${back.join(' ')}: exit ${wt.code} in ${fmt(wt.ms / 1000)} s${wt.code === 0 ? '' : `: ${wt.out.trim().split('\n').slice(-6).join(' | ')}`}`);
    passD = survival(both, { name: 'weight change (all links)', from: weightsAt - 500, to: weightsEnd + 3000 }, undefined, out) && passD && wt.code === 0;
    out.push(`    (set A streams on ${broken.link} are left out of the deploy and weight windows; set B, opened after the repair, covers every link)`);
    return passC && passD;
  } finally {
    await stopLabProcess(lab, server);
  }
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('bench/dataplane needs root (it builds a lab of network namespaces)');
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm run bench:dataplane does)`);
  installSafetyNet();
  benchTraffic = args.traffic;
  benchIpv6 = args.ipv6;
  const out = [
    `multilink data-plane benchmark, ${new Date().toISOString()}: ISP rates ${args.rates.join(', ')} Mbit/s, traffic [${args.traffic.join(', ')}], no exceptions` +
      (args.ipv6 ? `; dual stack (--ipv6): every link gateway6: auto; parts ${[...args.parts].join(' ')}` : '') +
      `; firewall ${args.firewall}${args.firewall === 'nft' ? ' (table inet multilink, numgen maps)' : ''}`,
  ];
  const lab = await startLab(args.rates, args.ipv6, args.firewall);
  try {
    const weights = weightsForRates(args.rates);
    deployMethod(lab, 'random', weights, args.traffic);
    const has = (p: Part): boolean => args.parts.has(p);
    const aggregates: string[] = [];
    if (has('a')) await throughput(lab, args, out, 4);
    if (has('a6')) aggregates.push(await throughput(lab, args, out, 6));
    const random = await sharesOf(lab, args, 'random', weights, out);
    const nth = await sharesOf(lab, args, 'nth', weights, out);
    const fail = has('c') || has('d') ? await failover(lab, out) : true;
    const fail6 = has('c6') ? await failover6(lab, out, { weights, breaks: args.breaks6, deploy: (name, health) => deployHealth(lab, name, weights, health), log }) : true;
    const batch = has('e') ? await batches(lab, args.batch, (name, method, w) => deployMethod(lab, method, w, args.traffic, name, HEALTH), out) : true;
    const verdicts = [
      ...(has('b') ? [`shares: random ${random[4] ? 'pass' : 'FAIL'}, nth ${nth[4] ? 'pass' : 'FAIL'}`] : []),
      ...(has('b6') ? [`IPv6 shares: random ${random[6] ? 'pass' : 'FAIL'}, nth ${nth[6] ? 'pass' : 'FAIL'}`] : []),
      ...(has('c') || has('d') ? [`failover, recovery and survival: ${fail ? 'pass' : 'FAIL'}`] : []),
      ...(has('c6') ? [`IPv6 failover and recovery, IPv4 kept on the link: ${fail6 ? 'pass' : 'FAIL'}`] : []),
      ...(has('e') ? [`adaptive batches: ${batch ? 'pass' : 'FAIL'}`] : []),
      ...aggregates,
    ];
    out.push(verdicts.join('; '));
    console.log(out.join('\n'));
    return random[4] && random[6] && nth[4] && nth[6] && fail && fail6 && batch ? 0 : 1;
  } finally {
    cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench/dataplane failed: ${err instanceof Error ? err.message : String(err)}`);
    cleanup();
    process.exit(1);
  },
);
