// bench/dataplane part (c6), issue 18: cable's IPv6 breaks while its IPv4 works (N times). Times, as
// part c does for IPv4, until new IPv6 connections all succeed and the monitor's state file
// says `link6 cable down`; that IPv4 keeps cable meanwhile (its state, its balance chain,
// new IPv4 connections over it); and, after the repair, `link6 cable up` and the first new
// IPv6 connection over cable.
import { breakIsp6, repairIsp6 } from '../../src/lab/dataplane-faults.js';
import { SERVER_ADDRESS, SERVER_ADDRESS6 } from '../../src/lab/dataplane-plan.js';
import { addClientAddresses, connectionLinks, linkMarks, waitFor, type ProbeAttempt } from '../../src/lab/dataplane-traffic.js';
import type { HealthSettings } from '../../src/lab/lab-playbooks.js';
import type { LabInfo } from '../../src/lab/lab.js';
import { sleep } from '../../src/lab/run.js';
import { failoverFigures, firstOnLink, reusedPorts } from './failover.js';
import { addClientAddress6, balanceMarks, connectionLinks6, monitorStates, startProbeTo, type FamilyState } from './ipv6.js';

/** Both server addresses as targets: each family's health judged by its own (quorum per family). */
export const HEALTH6: HealthSettings = { targets: [SERVER_ADDRESS, SERVER_ADDRESS6], intervalS: 1, downAfter: 3, upAfter: 3, quorum: 1 };

const BREAK_MS = 8000;
const AFTER_REPAIR_MS = 7000;

export interface Failover6Options {
  weights: number[];
  /** Breaks measured one after another (the failover time depends on where in a monitor round the break falls). */
  breaks: number;
  /** Deploys a health playbook with these settings (the CLI in a child process). */
  deploy: (name: string, health: HealthSettings) => Promise<number>;
  log: (line: string) => void;
}

const fmt = (n: number, d = 1): string => n.toFixed(d);
const secs = (ms: number | undefined): string => (ms === undefined || !Number.isFinite(ms) ? 'never' : `${fmt(ms / 1000, 2)} s`);
const okFail = (pass: boolean): string => (pass ? 'ok' : 'FAIL');

/** What the state file said about the broken link while it was watched. */
interface Watch {
  /** First time `link6 LINK down` was read (epoch ms). */
  down6At?: number;
  /** Reads, and reads where IPv4's `link LINK` was not up. */
  reads: number;
  notUp4: number;
}

function watchState(state: FamilyState | undefined, link: string, w: Watch, at: number): void {
  if (!state) return;
  w.reads++;
  if (state.links[link] !== 'up') w.notUp4++;
  if (w.down6At === undefined && state.links6[link] === 'down') w.down6At = at;
}

/** The marks in each family's ML_BALANCE at one moment. */
interface Chains {
  v4: Set<number>;
  v6: Set<number>;
}

async function chains(lab: LabInfo): Promise<Chains> {
  return { v4: await balanceMarks(lab, 4), v6: await balanceMarks(lab, 6) };
}

interface BreakResult {
  failoverMs: number;
  recoveryMs: number;
  recoveryFailed: number;
  ipv4Kept: boolean;
  lines: string[];
}

/** Break n (from 1): its own client addresses, so no conntrack entry of an earlier break is taken for one of its own. */
function sources(n: number): { v6: string; v4: string } {
  return { v6: `fd00:0:0:1::${(0x1f + n).toString(16)}`, v4: `192.0.2.${20 + n}` };
}

async function oneBreak(lab: LabInfo, n: number, opts: Failover6Options): Promise<BreakResult> {
  const dp = lab.dataplane!;
  const broken = dp.isps[1];
  const mark = [...linkMarks(lab)].find(([, l]) => l === broken.link)?.[0] ?? 0;
  const markHex = `0x${mark.toString(16)}`;
  const h = HEALTH6;
  const downLimit = h.intervalS * h.downAfter + 1;
  const upLimit = h.intervalS * h.upAfter + 1;
  const src = sources(n);
  await addClientAddress6(lab, src.v6);
  await addClientAddresses(lab, [src.v4]);
  const allUp = (): boolean => {
    const s = monitorStates(lab);
    return s !== undefined && dp.isps.every((i) => s.links[i.link] === 'up' && s.links6[i.link] === 'up');
  };
  if ((await waitFor(allUp, 15_000)) === undefined) throw new Error('the link monitor did not report every link up for IPv4 and IPv6 within 15 s');

  // IPv6 probes every 50 ms as part c's; IPv4 every 100 ms, to see it keep using the link.
  const probe6 = startProbeTo(lab, { host: SERVER_ADDRESS6, source: src.v6, intervalMs: 50, perMs: 900, count: 1000, totalMs: 40_000 });
  const probe4 = startProbeTo(lab, { host: dp.serverAddress, source: src.v4, intervalMs: 100, perMs: 900, count: 500, totalMs: 40_000 });
  let attempts6: ProbeAttempt[] = [];
  let attempts4: ProbeAttempt[] = [];
  const watch: Watch = { reads: 0, notUp4: 0 };
  let chainsOut: Chains | undefined;
  let chainsBefore: Chains | undefined;
  let breakAt = 0;
  let repairAt = 0;
  let upAt: number | undefined;
  try {
    await sleep(2000);
    opts.log(`break ${n}: ${broken.link}'s IPv6 only (ISP ${broken.k})`);
    breakAt = Date.now();
    await breakIsp6(lab, broken.k);
    // Watch the state file until the repair; read both chains once the link's IPv6 is out.
    while (Date.now() < breakAt + BREAK_MS) {
      watchState(monitorStates(lab), broken.link, watch, Date.now());
      if (watch.down6At !== undefined && !chainsOut) chainsOut = await chains(lab);
      await sleep(50);
    }
    chainsBefore = await chains(lab);
    opts.log(`repairing ${broken.link}'s IPv6`);
    repairAt = Date.now();
    await repairIsp6(lab, broken.k);
    upAt = await waitFor(() => monitorStates(lab)?.links6[broken.link] === 'up', 15_000);
    await sleep(Math.max(0, repairAt + AFTER_REPAIR_MS - Date.now()));
  } finally {
    // Always collected and repaired (a failure above must not leave them running or it broken).
    attempts6 = (await probe6.stop()).attempts;
    attempts4 = (await probe4.stop()).attempts;
    await repairIsp6(lab, broken.k);
  }
  const links6 = await connectionLinks6(lab, { dport: dp.tcpPort, source: src.v6 });
  const links4 = await connectionLinks(lab, { dport: dp.tcpPort, source: src.v4 });
  const reused6 = reusedPorts(attempts6);
  const reused4 = reusedPorts(attempts4);

  const fo = failoverFigures(attempts6.filter((x) => x.start < repairAt), breakAt);
  const allOkMs = fo.allOkFrom === undefined ? undefined : fo.allOkFrom - breakAt;
  const stateDownMs = watch.down6At === undefined ? undefined : watch.down6At - breakAt;
  const failoverMs = Math.max(allOkMs ?? Infinity, stateDownMs ?? Infinity);
  const recoveryFailed = attempts6.filter((x) => x.start >= repairAt && !x.ok).length;
  const stateUpMs = upAt === undefined ? undefined : upAt - repairAt;
  const firstBack = firstOnLink(attempts6, links6, broken.link, repairAt);
  const backMs = firstBack === undefined ? undefined : firstBack - repairAt;
  const recoveryMs = Math.max(stateUpMs ?? Infinity, backMs ?? Infinity);
  const afterRepair = attempts6.filter((x) => x.start >= repairAt + upLimit * 1000 && x.ok && !reused6.has(x.port));
  const share = (100 * afterRepair.filter((x) => links6.get(x.port) === broken.link).length) / Math.max(1, afterRepair.length);
  const wsum = opts.weights.reduce((a, b) => a + b, 0);

  // IPv4 while the link's IPv6 was broken (break → repair).
  const during4 = attempts4.filter((x) => x.start >= breakAt && x.start < repairAt);
  const failed4 = during4.filter((x) => !x.ok).length;
  const known4 = during4.filter((x) => x.ok && !reused4.has(x.port) && links4.has(x.port));
  const onLink4 = known4.filter((x) => links4.get(x.port) === broken.link).length;
  const chainKept = (c: Chains | undefined): boolean => c !== undefined && c.v4.has(mark) && !c.v6.has(mark);
  const ipv4Kept = watch.notUp4 === 0 && watch.reads > 0 && failed4 === 0 && onLink4 > 0 && chainKept(chainsOut) && chainKept(chainsBefore);
  const chainText = (c: Chains | undefined): string =>
    c === undefined ? 'not read (IPv6 never out)' : `IPv4 ${c.v4.has(mark) ? 'has' : 'LACKS'} ${markHex}, IPv6 ${c.v6.has(mark) ? 'still HAS' : 'has not'} ${markHex}`;

  const failoverOk = failoverMs <= downLimit * 1000;
  const recoveryOk = recoveryMs <= upLimit * 1000 && recoveryFailed === 0;
  const lines = [
    `    break ${n}: IPv6 probe from ${src.v6} every 50 ms: ${attempts6.length} attempts, ${attempts6.filter((x) => !x.ok).length} failed ` +
      `(${reused6.size} client ports used twice, left out)`,
    `      after the break:  ${fo.failed} of ${fo.attempts} new IPv6 connections failed (until repair); every new IPv6 connection succeeds from ${secs(allOkMs)}; ` +
      `state file "link6 ${broken.link} down" at ${secs(stateDownMs)}`,
    `      failover time ${secs(failoverMs)} (later of the two) vs interval × down_after + 1 s = ${downLimit} s ${okFail(failoverOk)}`,
    `      IPv4 meanwhile: state file "link ${broken.link}" up in ${watch.reads - watch.notUp4} of ${watch.reads} reads; ML_BALANCE once IPv6 was out: ${chainText(chainsOut)}; ` +
      `before the repair: ${chainText(chainsBefore)}`,
    `      IPv4 probe from ${src.v4} every 100 ms, break to repair: ${during4.length} attempts, ${failed4} failed, ${onLink4} of ${known4.length} with a known link on ${broken.link} ` +
      `${okFail(ipv4Kept)}`,
    `      after the repair: state file "link6 ${broken.link} up" at ${secs(stateUpMs)}; first new IPv6 connection over ${broken.link} at ${secs(backMs)}; ` +
      `${recoveryFailed} failed; ${broken.link} took ${fmt(share)}% of new IPv6 connections from ${upLimit} s on (weight share ${fmt((100 * opts.weights[1]) / wsum)}%)`,
    `      recovery time ${secs(recoveryMs)} vs interval × up_after + 1 s = ${upLimit} s ${okFail(recoveryOk)}`,
  ];
  return { failoverMs, recoveryMs, recoveryFailed, ipv4Kept, lines };
}

/** (c6): deploys the health playbook, then opts.breaks breaks and repairs of cable's IPv6. */
export async function failover6(lab: LabInfo, out: string[], opts: Failover6Options): Promise<boolean> {
  const dp = lab.dataplane!;
  const broken = dp.isps[1];
  const h = HEALTH6;
  const downLimit = h.intervalS * h.downAfter + 1;
  const upLimit = h.intervalS * h.upAfter + 1;
  await opts.deploy('health6', h);
  out.push(
    `(c6) IPv6 failover: health targets ${h.targets.join(',')}, interval ${h.intervalS} s, down_after ${h.downAfter}, up_after ${h.upAfter}, quorum ${h.quorum} ` +
      `(per family); weights ${opts.weights.join(':')} random; ${broken.link}'s IPv6 broken (breakIsp6, ISP ${broken.k}; its IPv4 untouched) for ${BREAK_MS / 1000} s, ` +
      `${opts.breaks} time(s); new connections to :${dp.tcpPort} (900 ms connect timeout), each one's link from r1's conntrack mark`,
  );
  const results: BreakResult[] = [];
  for (let n = 1; n <= opts.breaks; n++) {
    const r = await oneBreak(lab, n, opts);
    results.push(r);
    out.push(...r.lines);
  }
  const list = (xs: number[]): string => xs.map((x) => (Number.isFinite(x) ? fmt(x / 1000, 2) : 'never')).join(', ');
  const worstFailover = Math.max(...results.map((r) => r.failoverMs));
  const worstRecovery = Math.max(...results.map((r) => r.recoveryMs));
  const failoverOk = worstFailover <= downLimit * 1000;
  const recoveryOk = worstRecovery <= upLimit * 1000 && results.every((r) => r.recoveryFailed === 0);
  const ipv4Kept = results.every((r) => r.ipv4Kept);
  out.push(
    `    IPv6 failover ${list(results.map((r) => r.failoverMs))} s (worst ${secs(worstFailover)}) vs ${downLimit} s ${okFail(failoverOk)}; ` +
      `recovery ${list(results.map((r) => r.recoveryMs))} s (worst ${secs(worstRecovery)}) vs ${upLimit} s ${okFail(recoveryOk)}; ` +
      `IPv4 kept ${broken.link} in every break: ${ipv4Kept ? 'yes' : 'NO'}`,
  );
  return failoverOk && recoveryOk && ipv4Kept;
}
