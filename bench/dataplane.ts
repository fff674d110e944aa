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
import { renderDataplanePlaybook, weightsForRates, type BalanceMethod, type TrafficKind } from '../src/lab/lab-playbooks.js';
import { batches } from './lib/batch.js';
import { failoverFigures, firstOnLink, reusedPorts, streamSurvived } from './lib/failover.js';
import { iperfSummaryFromJson, sharesPercent } from '../src/lab/dataplane-measure.js';

/** bench/.build/bench/dataplane.js → the repository root. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'dist', 'bin.js');

interface Args {
  rates: number[];
  connections: number;
  seconds: number;
  parallel: number;
  concurrency: number;
  parts: string;
  /** Part e: downloads per batch, workers, size of each. */
  batch: { count: number; workers: number; sizeBytes: number };
  /** The playbook's `traffic` (issue 9 re-runs it with forwarded,local and no exceptions). */
  traffic: TrafficKind[];
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { rates: [...DEFAULT_RATES], connections: 6000, seconds: 10, parallel: 32, concurrency: 50, parts: 'abcde', traffic: ['forwarded'], batch: { count: 240, workers: 16, sizeBytes: 1_000_000 } };
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
    else if (key === '--concurrency') args.concurrency = int(1, 500);
    else if (key === '--batch') args.batch.count = int(10, 10_000);
    else if (key === '--workers') args.batch.workers = int(1, 256);
    else if (key === '--traffic') {
      const kinds = (value ?? '').split(',');
      if (!kinds.every((k) => k === 'forwarded' || k === 'local') || new Set(kinds).size !== kinds.length) throw new Error('--traffic takes forwarded or forwarded,local');
      args.traffic = kinds as TrafficKind[];
      i++;
    } else if (key === '--parts') {
      if (!/^(?!.*(.).*\1)[abcde]+$/.test(value ?? '')) throw new Error('--parts takes letters of abcde, e.g. cd');
      args.parts = value;
      i++;
    } else throw new Error(`unknown option ${key} (--rates A,B,C --connections N --seconds S --parallel P --concurrency C --parts abcde --traffic forwarded[,local] --batch N --workers W)`);
  }
  return args;
}

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

let labDir: string | undefined;
function cleanup(): void {
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

async function startLab(rates: number[]): Promise<LabInfo> {
  const prefix = `dp${process.pid % 10000}`;
  labDir = mkdtempSync(join(tmpdir(), `multilink-bench-${prefix}-`));
  // Away from the default lab (0), the test labs (64..223) and the fleet bench (224..255).
  const subnet = await findFreeSubnet(32 + (process.pid % 32));
  if (subnet === undefined) throw new Error('no free 198.18.X.0/24 subnet for the bench lab');
  return labUp({ dir: labDir, prefix, subnet, dataplane: true, rates, log });
}

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
  writeFileSync(playbook, renderDataplanePlaybook({ method, weights, traffic, health }));
  writeFileSync(inventory, dataplaneInventoryText(lab, playbook));
  deploy(inventory);
}

const pad = (s: string, n: number): string => s.padEnd(n);
const fmt = (n: number, d = 1): string => n.toFixed(d);

async function throughput(lab: LabInfo, args: Args, out: string[]): Promise<void> {
  const dp = lab.dataplane!;
  const sumRates = dp.rates.reduce((a, b) => a + b, 0);
  const before = await wanBytes(lab);
  const t0 = Date.now();
  const omit = 2;
  const r = await inClient(
    lab,
    'iperf3',
    ['-c', dp.serverAddress, '-p', String(dp.iperfPorts[0]), '-R', '-P', String(args.parallel), '-t', String(args.seconds), '-O', String(omit), '-J'],
    { timeoutMs: (args.seconds + omit + 30) * 1000 },
  );
  const wallS = (Date.now() - t0) / 1000;
  const after = await wanBytes(lab);
  const sum = iperfSummaryFromJson(r.stdout);
  const goodput = sum.receivedBps / 1e6;
  out.push(
    `(a) throughput: iperf3 -R -P ${args.parallel} -t ${args.seconds} (first ${omit} s omitted), weights ${weightsForRates(dp.rates).join(':')} random`,
    `    aggregate payload ${fmt(goodput)} Mbit/s of ${sumRates} Mbit/s = ${fmt((100 * goodput) / sumRates)}% of the sum of link rates (target >= 95%; ` +
      `1448-byte payload in a 1514-byte frame caps payload at 95.6% of a shaped wire rate)`,
  );
  const rx = dp.isps.map((isp) => (after.get(isp.link)?.rxBytes ?? 0) - (before.get(isp.link)?.rxBytes ?? 0));
  const shares = sharesPercent(rx);
  const rateShares = sharesPercent(dp.rates);
  dp.isps.forEach((isp, i) => {
    out.push(
      `    ${pad(isp.link, 6)} ${pad(isp.routerInterface, 5)} rate ${String(isp.rateMbit).padStart(4)} Mbit/s: received ${fmt(rx[i] / 1e6)} MB, ` +
        `mean ${fmt((rx[i] * 8) / wallS / 1e6)} Mbit/s over ${fmt(wallS)} s wall, ${fmt(shares[i])}% of bytes (rate share ${fmt(rateShares[i])}%)`,
    );
  });
}

async function connectionShares(lab: LabInfo, args: Args, method: 'random' | 'nth', weights: number[], out: string[]): Promise<boolean> {
  deployMethod(lab, method, weights, args.traffic);
  const before = await balanceCounters(lab);
  const t0 = Date.now();
  const res = await openConnections(lab, { count: args.connections, concurrency: args.concurrency, perMs: 5000, totalMs: 600_000 });
  const secs = (Date.now() - t0) / 1000;
  const after = await balanceCounters(lab);
  const links = lab.dataplane!.isps.map((i) => i.link);
  const counts = links.map((l) => (after.get(l) ?? 0) - (before.get(l) ?? 0));
  const total = counts.reduce((a, b) => a + b, 0);
  const wsum = weights.reduce((a, b) => a + b, 0);
  let pass = res.ok === args.connections && total === args.connections;
  out.push(
    `(b) ${method}: ${args.connections} new connections (${res.ok} ok, ${res.failed} failed, ${res.notStarted} not started) in ${fmt(secs)} s, ${total} counted by ML_BALANCE`,
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

const HEALTH: HealthSettings = { targets: ['198.51.100.1'], intervalS: 1, downAfter: 3, upAfter: 3, quorum: 1 };
const PROBE_SOURCE = '192.0.2.20';

/** The CLI in a child process without blocking this one (the probes' timers keep running). */
async function cliAsync(args: readonly string[]): Promise<{ code: number | null; out: string; ms: number }> {
  const t0 = Date.now();
  const r = await run(process.execPath, [BIN, ...args], { allowFailure: true, timeoutMs: 180_000 });
  return { code: r.code, out: r.stdout + r.stderr, ms: Date.now() - t0 };
}

let benchTraffic: TrafficKind[] = ['forwarded'];

function healthInventory(lab: LabInfo, name: string, weights: number[]): string {
  const playbook = join(lab.dir, `bench-playbook-${name}.yaml`);
  const inventory = join(lab.dir, `bench-inventory-${name}.yaml`);
  writeFileSync(playbook, renderHealthPlaybook({ method: 'random', weights, health: HEALTH, traffic: benchTraffic }));
  writeFileSync(inventory, dataplaneInventoryText(lab, playbook));
  return inventory;
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
      `(c) failover: health target ${HEALTH.targets.join(',')}, interval ${HEALTH.intervalS} s, down_after ${HEALTH.downAfter}, up_after ${HEALTH.upAfter}, ` +
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
  const out = [`multilink data-plane benchmark, ${new Date().toISOString()}: ISP rates ${args.rates.join(', ')} Mbit/s, traffic [${args.traffic.join(', ')}], no exceptions`];
  const lab = await startLab(args.rates);
  try {
    const weights = weightsForRates(args.rates);
    deployMethod(lab, 'random', weights, args.traffic);
    const has = (p: string): boolean => args.parts.includes(p);
    if (has('a')) await throughput(lab, args, out);
    const random = has('b') ? await connectionShares(lab, args, 'random', weights, out) : true;
    const nth = has('b') ? await connectionShares(lab, args, 'nth', weights, out) : true;
    const fail = has('c') || has('d') ? await failover(lab, out) : true;
    const batch = has('e') ? await batches(lab, args.batch, (name, method, w) => deployMethod(lab, method, w, args.traffic, name, HEALTH), out) : true;
    const verdicts = [
      ...(has('b') ? [`shares: random ${random ? 'pass' : 'FAIL'}, nth ${nth ? 'pass' : 'FAIL'}`] : []),
      ...(has('c') || has('d') ? [`failover, recovery and survival: ${fail ? 'pass' : 'FAIL'}`] : []),
      ...(has('e') ? [`adaptive batches: ${batch ? 'pass' : 'FAIL'}`] : []),
    ];
    out.push(verdicts.join('; '));
    console.log(out.join('\n'));
    return random && nth && fail && batch ? 0 : 1;
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
