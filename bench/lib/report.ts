// The printed results: one table per lab size, the ratios the spec holds multilink to, and
// the breakdown of a no-op deploy.
import { percentile, summarize } from './stats.js';
import type { ProbeRun } from './probe.js';
import type { PerChange } from './per-change.js';

export type Step = 'floor' | 'ml-first' | 'ml-noop' | 'ml-drift' | 'ml-weights' | 'ans-first' | 'ans-noop';

export interface Sample {
  wallMs: number;
  /** CPU of the controller side: the command and its reaped children. */
  cpuS?: number;
  /** CPU on the routers' side (their sshds and everything under them). */
  serverCpuS?: number;
  maxRssKb?: number;
}

export interface SizeResult {
  n: number;
  labels: Map<Step, string>;
  samples: Map<Step, Sample[]>;
  notes: string[];
  probe?: ProbeRun;
  /** multilink render of one host: node start-up, load and compile, no network. */
  renderMs: number[];
  /** Per-host durationMs of the last run of each multilink step (from --json). */
  hostMs: Map<Step, number[]>;
  /** The runs stopped early: the figures are partial. */
  failed?: boolean;
  /** Hosts that ended rolled_back in a change (first deploy, weights), all runs: spurious, must be 0. */
  rollbacks: Map<Step, number>;
  /** One change on one router, counted and measured (per-change.ts). */
  perChange?: PerChange;
}

const ORDER: Step[] = ['floor', 'ml-first', 'ml-noop', 'ml-drift', 'ml-weights', 'ans-first', 'ans-noop'];

function sec(ms: number): string {
  return (ms / 1000).toFixed(2);
}

function cell(v: number | undefined, digits = 2): string {
  return v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits);
}

function median(values: Array<number | undefined>): number | undefined {
  const nums = values.filter((v): v is number => v !== undefined);
  return summarize(nums)?.median;
}

function med(r: SizeResult, step: Step): number | undefined {
  return summarize((r.samples.get(step) ?? []).map((s) => s.wallMs))?.median;
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined ? 'n/a' : `${(a / b).toFixed(2)}x`;
}

export function formatSize(r: SizeResult): string {
  const lines: string[] = [];
  const width = Math.max(...[...r.labels.values()].map((l) => l.length), 10);
  lines.push(`N = ${r.n} routers`);
  lines.push(`  ${'step'.padEnd(width)}  median s    min s    max s  runs  ctl CPU s  rtr CPU s  peak RSS MB`);
  for (const step of ORDER) {
    const label = r.labels.get(step);
    const samples = r.samples.get(step) ?? [];
    const s = summarize(samples.map((x) => x.wallMs));
    if (!label) continue;
    if (!s) {
      lines.push(`  ${label.padEnd(width)}  (not run)`);
      continue;
    }
    const rss = samples.map((x) => x.maxRssKb).filter((v): v is number => v !== undefined);
    lines.push(
      `  ${label.padEnd(width)}  ${sec(s.median).padStart(8)} ${sec(s.min).padStart(8)} ${sec(s.max).padStart(8)}  ${String(s.n).padStart(4)}` +
        `  ${cell(median(samples.map((x) => x.cpuS))).padStart(9)}  ${cell(median(samples.map((x) => x.serverCpuS))).padStart(9)}` +
        `  ${rss.length ? (Math.max(...rss) / 1024).toFixed(0).padStart(11) : '-'.padStart(11)}`,
    );
  }
  const floorMs = med(r, 'floor');
  const noop = med(r, 'ml-noop');
  const drift = med(r, 'ml-drift');
  lines.push('  ratios (medians):');
  lines.push(`    multilink no-op deploy / floor      ${ratio(noop, floorMs)}`);
  lines.push(`    multilink drift / floor             ${r.samples.has('ml-drift') ? ratio(drift, floorMs) : 'n/a (drift not available)'}`);
  lines.push(`    multilink first deploy / floor      ${ratio(med(r, 'ml-first'), floorMs)}`);
  lines.push(`    multilink weights / floor           ${ratio(med(r, 'ml-weights'), floorMs)}`);
  lines.push(`    Ansible no-op / multilink no-op     ${ratio(med(r, 'ans-noop'), noop)}`);
  lines.push(`    Ansible no-op / multilink drift     ${r.samples.has('ml-drift') ? ratio(med(r, 'ans-noop'), drift) : 'n/a (drift not available)'}`);
  lines.push(`    Ansible first / multilink first     ${ratio(med(r, 'ans-first'), med(r, 'ml-first'))}`);
  const perRouter = (step: Step): string => {
    const cpu = median((r.samples.get(step) ?? []).map((x) => x.serverCpuS));
    return cpu === undefined ? '-' : (cpu / r.n).toFixed(3);
  };
  lines.push(`  router CPU per router (s, medians): floor ${perRouter('floor')}, first deploy ${perRouter('ml-first')}, weights ${perRouter('ml-weights')}, no-op ${perRouter('ml-noop')}, drift ${perRouter('ml-drift')}`);
  const rolled = [...r.rollbacks.values()].reduce((a, b) => a + b, 0);
  lines.push(`  spurious rollbacks (hosts rolled_back in first deploys and weight changes, all runs): ${rolled}${rolled ? ` — ${[...r.rollbacks].map(([s, n]) => `${r.labels.get(s) ?? s}: ${n}`).join(', ')}` : ''}`);
  if (r.perChange) {
    const p = r.perChange;
    lines.push(
      `  one weight change on one router, in-process (${p.runs} runs): ${p.connections} connections, ${p.executions} remote executions; router CPU ${p.routerCpuS.toFixed(3)} s vs ${p.floorCpuS.toFixed(3)} s for one \`ssh host true\` (${(p.routerCpuS / p.floorCpuS).toFixed(2)}x); outcomes ${[...new Set(p.outcomes)].join(', ')}`,
    );
  }
  const hostLines: string[] = [];
  for (const [step, ms] of r.hostMs) {
    if (ms.length === 0) continue;
    hostLines.push(`    ${(r.labels.get(step) ?? step).padEnd(width)}  p50 ${sec(percentile(ms, 50))} s  p95 ${sec(percentile(ms, 95))} s  max ${sec(Math.max(...ms))} s`);
  }
  if (hostLines.length) lines.push('  per-host time inside multilink (last run, --json durationMs):', ...hostLines);
  const render = summarize(r.renderMs);
  if (render) lines.push(`  multilink fixed cost: \`render --host r1\` (node start, load, compile; no network) median ${sec(render.median)} s`);
  if (r.probe) {
    const p = r.probe;
    lines.push(`  breakdown of a no-op deploy, multilink's transport in-process (forks 50):`);
    lines.push(`    connect+gather+close, whole fleet  ${sec(p.wallMs)} s (controller CPU for both passes ${p.cpuS.toFixed(2)} s)`);
    lines.push(`    connect+close only, whole fleet    ${sec(p.connectOnlyWallMs)} s`);
    if (p.connectMs.length) {
      lines.push(`    per host: connect p50 ${sec(percentile(p.connectMs, 50))} s max ${sec(Math.max(...p.connectMs))} s; gather exec p50 ${sec(percentile(p.gatherMs, 50))} s max ${sec(Math.max(...p.gatherMs))} s; close p50 ${sec(percentile(p.closeMs, 50))} s`);
    }
    if (p.failures.length) lines.push(`    failures: ${p.failures.slice(0, 5).join('; ')}`);
  }
  for (const n of r.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}
