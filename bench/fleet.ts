// bench/fleet: multilink against the floor (one plain OpenSSH connection per router) and
// against Ansible doing the same job, on labs of N simulated routers. See bench/README.md.
import { cpus, homedir, loadavg, userInfo } from 'node:os';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabInfo } from '../src/lab/lab.js';
import { renderSshdConfig } from '../src/lab/lab-files.js';
import { ansibleDir, ansibleInventory, iptablesTemplate } from './ansible/inventory.js';
import { parseArgs, type FleetArgs } from './lib/args.js';
import { ansibleAvailable, ansiblePlaybook, ansibleVersion, expectRecap } from './lib/ansible.js';
import { floor } from './lib/floor.js';
import { onCleanup, startLab, stopLab } from './lib/lab-session.js';
import { copyInventory, nftInventory, detectCli, inventoryWithWeights, unexpectedOutcomes, multilink, type MultilinkCli, type MultilinkRun } from './lib/multilink.js';
import { gatherScripts, probe } from './lib/probe.js';
import { GNU_TIME, must, removeScratch, timed, type Timed } from './lib/proc.js';
import { parseRender, type RenderedHost } from './lib/render-parse.js';
import { formatSize, type Sample, type SizeResult, type Step } from './lib/report.js';
import { fingerprints, resetRouters } from './lib/router-state.js';
import { serverCpuS } from './lib/server-cpu.js';
import { perChange } from './lib/per-change.js';
import { summarize } from './lib/stats.js';

/** bench/.build/bench/fleet.js → the repository root. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BENCH = join(ROOT, 'bench');
/** The weight change: cable from 2 to 3 (dsl 1, lte 1 tier 2 unchanged). */
const NEW_WEIGHTS = { cable: 3 };

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

async function header(cli: MultilinkCli): Promise<string[]> {
  const ssh = await timed('ssh', ['-V'], { timeoutMs: 10_000, gnuTime: false });
  const sshd = renderSshdConfig({ router: 'r', namespace: 'n', address: '198.18.0.1', hostKey: '/k', pidFile: '/p', authorizedKeys: '/a' });
  const maxStartups = /^MaxStartups (\S+)$/m.exec(sshd)?.[1] ?? 'default (10:30:100)';
  return [
    `multilink fleet benchmark, ${new Date().toISOString()}`,
    `host: ${cpus().length} CPU(s) (${cpus()[0]?.model ?? '?'}), load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    `node ${process.version}; ${ssh.stderr.trim()}; ${ansibleAvailable() ? await ansibleVersion() : 'Ansible not installed'}`,
    `multilink CLI: drift ${cli.drift ? 'available' : 'not available'}, weights ${cli.weights ? 'available' : 'not available (emulated: deploy of an inventory with multilink_weights changed)'}`,
    `lab sshd: one per router, MaxStartups ${maxStartups} (src/lab/lab-files.ts); no step opens more than one connection at a time to a router`,
    'wall clock from spawn to exit of the command, as a user sees it; CPU from GNU time (controller) and the lab sshds\' reaped children (routers);',
    'peak RSS is GNU time\'s %M: the largest single process of the command (Ansible\'s forked workers are not summed)',
    ...(await loginShellNote()),
  ];
}

/**
 * The lab routers are this machine's root account: sshd runs root's login shell for every
 * exec, and bash started by sshd reads ~/.bashrc even when not interactive. What that costs
 * here is paid once per SSH exec by every tool (Ansible: once per task and host).
 */
async function loginShellNote(): Promise<string[]> {
  const shell = userInfo().shell ?? '';
  const rc = join(homedir(), '.bashrc');
  if (!shell.endsWith('/bash') || !existsSync(rc)) return [];
  const ms: number[] = [];
  for (let i = 0; i < 5; i++) ms.push((await timed(shell, ['-c', `. ${rc} >/dev/null 2>&1; true`], { timeoutMs: 30_000, gnuTime: false })).wallMs);
  const m = summarize(ms)?.median ?? 0;
  return [`router login shell ${shell} reads ${rc} on every SSH exec: ${(m / 1000).toFixed(3)} s each here (median of 5), paid by floor, multilink and Ansible alike`];
}

type Measured = Pick<Timed, 'wallMs' | 'cpuS' | 'maxRssKb'>;

function sample(t: Measured, serverCpu: number): Sample {
  return { wallMs: t.wallMs, cpuS: t.cpuS, serverCpuS: serverCpu, maxRssKb: t.maxRssKb };
}

class SizeRun {
  readonly result: SizeResult;
  constructor(
    readonly lab: LabInfo,
    readonly args: FleetArgs,
    readonly cli: MultilinkCli,
  ) {
    this.result = { n: lab.routers.length, labels: new Map(), samples: new Map(), notes: [], renderMs: [], hostMs: new Map(), rollbacks: new Map() };
  }

  get timeoutMs(): number {
    return this.args.timeoutS * 1000;
  }

  label(step: Step, text: string): void {
    this.result.labels.set(step, text);
  }

  record(step: Step, s: Sample): void {
    const list = this.result.samples.get(step) ?? [];
    list.push(s);
    this.result.samples.set(step, list);
  }

  /** Times one command; the routers' CPU is the lab sshds' growth over it. */
  async measure<T extends Measured>(step: Step, fn: () => Promise<T>): Promise<T> {
    const cpu0 = serverCpuS(this.lab);
    const r = await fn();
    this.record(step, sample(r, serverCpuS(this.lab) - cpu0));
    log(`N=${this.result.n} ${step}: ${(r.wallMs / 1000).toFixed(2)} s`);
    return r;
  }

  /** A multilink step; hosts ending otherwise than wanted are reported, and the run goes on. */
  async ml(step: Step, args: string[], wanted: readonly string[], run: number): Promise<MultilinkRun> {
    const r = await this.measure(step, () => multilink(this.cli, args, this.timeoutMs));
    const problem = unexpectedOutcomes(r, this.result.n, wanted);
    if (problem) {
      this.result.notes.push(`run ${run}, ${this.result.labels.get(step) ?? step}: ${problem}`);
      log(`N=${this.result.n} ${step}: ${problem}`);
    }
    this.result.hostMs.set(step, r.hosts.map((h) => h.durationMs));
    const rolled = r.hosts.filter((h) => h.outcome === 'rolled_back').length;
    if (rolled > 0 || !this.result.rollbacks.has(step)) this.result.rollbacks.set(step, (this.result.rollbacks.get(step) ?? 0) + rolled);
    return r;
  }
}

/** Ansible costs ~1 s of CPU per task and host here: fewer runs on big labs unless asked. */
function ansibleRuns(args: FleetArgs, n: number): number {
  if (!args.ansible) return 0;
  return Math.min(args.runs, args.ansibleRuns ?? (n <= 10 ? 3 : 1));
}

interface RunContext {
  inv: string;
  job: RenderedHost;
  pristine: string[];
  ansibleInv: string;
  weightsInv: string;
  work: string;
}

/** One run: multilink's steps, Ansible's (on its first runs), the floor. */
async function oneRun(s: SizeRun, run: number, c: RunContext): Promise<void> {
  log(`N=${s.result.n}: run ${run}/${s.args.runs}`);
  // Run 1 starts on the routers as the lab made them; later runs on routers reset to that.
  if (run > 1) await resetRouters(s.lab, c.job, c.pristine);
  await s.ml('ml-first', ['deploy', c.inv, '--json'], ['changed'], run);
  const afterMultilink = run === 1 ? await fingerprints(s.lab, c.job) : undefined;
  await s.ml('ml-noop', ['deploy', c.inv, '--json'], ['unchanged'], run);
  if (s.cli.drift) {
    const d = await s.measure('ml-drift', () => multilink(s.cli, ['drift', c.inv, '--json'], s.timeoutMs));
    if (d.code !== 0) s.result.notes.push(`run ${run}, multilink drift exited ${d.code} on a fleet deployed just before: ${d.stderr.trim().slice(0, 500)}`);
    s.result.hostMs.set('ml-drift', d.hosts.map((h) => h.durationMs).filter((x) => typeof x === 'number'));
  }
  if (s.cli.weights) {
    copyInventory(c.inv, c.weightsInv);
    await s.ml('ml-weights', ['weights', c.weightsInv, `cable=${NEW_WEIGHTS.cable}`, '--json'], ['changed'], run);
  } else {
    inventoryWithWeights(c.inv, c.weightsInv, NEW_WEIGHTS);
    await s.ml('ml-weights', ['deploy', c.weightsInv, '--json'], ['changed'], run);
  }

  if (run <= ansibleRuns(s.args, s.result.n)) {
    await resetRouters(s.lab, c.job, c.pristine);
    const first = await s.measure('ans-first', () => ansiblePlaybook(BENCH, c.ansibleInv, c.work, s.timeoutMs));
    expectRecap('Ansible first run', first, s.lab.routers.map((r) => r.name), 'some');
    if (afterMultilink && s.args.firewall !== 'nft') checkSameJob(s.lab, c.job, afterMultilink, await fingerprints(s.lab, c.job));
    const noop = await s.measure('ans-noop', () => ansiblePlaybook(BENCH, c.ansibleInv, c.work, s.timeoutMs));
    expectRecap('Ansible no-op run', noop, s.lab.routers.map((r) => r.name), 'none');
  }

  const f = await s.measure('floor', () => floor(s.lab, s.timeoutMs));
  if (f.failures.length > 0) throw new Error(`floor: ${f.failures.slice(0, 5).join('; ')}`);
}

async function runSize(n: number, args: FleetArgs, cli: MultilinkCli): Promise<SizeResult> {
  log(`N=${n}: bringing up a lab`);
  const lab = await startLab(n, (l) => log(`  lab: ${l}`));
  const work = mkdtempSync(join(tmpdir(), 'multilink-bench-work-'));
  onCleanup(() => rmSync(work, { recursive: true, force: true }));
  try {
    // The job as the iptables backend renders it (the Ansible job templates its payload);
    // with --firewall nft multilink's runs use the same inventory on the nft backend.
    const rendered = await must(process.execPath, [cli.bin, 'render', lab.inventory, '--host', 'r1']);
    const inv = args.firewall === 'nft' ? nftInventory(lab.inventory, join(work, 'nft.yaml')) : lab.inventory;
    const job = parseRender(rendered);
    if (lab.routers.length > 1) {
      const other = parseRender(await must(process.execPath, [cli.bin, 'render', lab.inventory, '--host', lab.routers[1].name]));
      if (other.payload !== job.payload) throw new Error('the lab routers have different payloads: this benchmark templates one');
    }
    const s = new SizeRun(lab, args, cli);
    if (args.firewall === 'nft') s.result.notes.push('multilink on the nft backend (table inet multilink); Ansible\'s job stays iptables, so their end states are not compared');
    s.label('floor', `floor: ${n}x \`ssh host true\` at once`);
    s.label('ml-first', 'multilink deploy, first (fresh routers)');
    s.label('ml-noop', 'multilink deploy, no-op');
    s.label('ml-drift', cli.drift ? 'multilink drift' : 'multilink drift: not available');
    s.label('ml-weights', cli.weights ? 'multilink weights cable=3' : 'weight change via deploy (cable=3)');
    if (ansibleRuns(args, n) > 0) {
      s.label('ans-first', 'Ansible playbook, first (fresh routers)');
      s.label('ans-noop', 'Ansible playbook, no-op');
    }
    if (!cli.drift) s.result.notes.push('drift: not available (no `drift` command in `multilink --help`)');
    if (!cli.weights) s.result.notes.push('no `weights` command: "weight change via deploy" deploys the lab inventory with multilink_weights {cable: 3}');

    const pristine = await fingerprints(lab, job);
    const ansibleInv = join(work, 'ansible-inventory.yaml');
    const template = join(work, 'ml-iptables.rules.j2');
    writeFileSync(template, iptablesTemplate(job.payload));
    writeFileSync(ansibleInv, ansibleInventory(lab, job, template));
    const weightsInv = join(work, 'weights.yaml');

    try {
      for (let run = 1; run <= args.runs; run++) await oneRun(s, run, { inv, job, pristine, ansibleInv, weightsInv, work });
    } catch (err) {
      // Keep what was measured; say why the rest is missing.
      s.result.notes.push(`STOPPED: ${err instanceof Error ? err.message : String(err)}`);
      log(`N=${n} stopped: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      s.result.failed = true;
    }

    // The extras below never cost the figures measured above.
    const extra = async (what: string, fn: () => Promise<void>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        s.result.notes.push(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);
        log(`N=${n} ${what} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
    };
    if (!s.result.failed) {
      log(`N=${n}: one change on one router, counted`);
      await extra('one change on one router', async () => {
        s.result.perChange = await perChange(lab, [inv, weightsInv], 5, s.timeoutMs);
      });
    }
    for (let i = 0; i < 3; i++) {
      const r = await timed(process.execPath, [cli.bin, 'render', inv, '--host', 'r1'], { timeoutMs: 60_000, gnuTime: false });
      s.result.renderMs.push(r.wallMs);
    }
    if (args.probe) {
      log(`N=${n}: breakdown probe`);
      await extra('the breakdown probe', async () => {
        s.result.probe = await probe(inv, 50, 30_000);
        const scripts = await gatherScripts(inv);
        const local: number[] = [];
        for (const r of lab.routers.slice(0, 4)) {
          const t = await timed('ip', ['netns', 'exec', r.namespace, 'sh', '-s'], { input: scripts.get(r.name), timeoutMs: 30_000, gnuTime: false });
          local.push(t.wallMs);
        }
        const m = summarize(local);
        if (m) s.result.notes.push(`the gather script run in a router's namespace without SSH takes ${(m.median / 1000).toFixed(3)} s (median of ${m.n})`);
      });
    }
    const throttled = lab.routers.filter((r) => existsSync(r.sshdLog) && /MaxStartups|drop(ping)? connection/i.test(readFileSync(r.sshdLog, 'utf8')));
    s.result.notes.push(
      throttled.length > 0
        ? `sshd throttled or dropped connections on ${throttled.map((r) => r.name).join(', ')} (MaxStartups): figures are suspect`
        : 'no sshd log mentions MaxStartups throttling or dropped connections',
    );
    return s.result;
  } finally {
    log(`N=${n}: removing the lab`);
    stopLab(lab);
    rmSync(work, { recursive: true, force: true });
  }
}

/** The Ansible job must leave each router exactly as multilink does (and write multilink's payload). */
function checkSameJob(lab: LabInfo, job: RenderedHost, afterMultilink: readonly string[], afterAnsible: readonly string[]): void {
  const off = lab.routers.filter((_, i) => afterMultilink[i] !== afterAnsible[i]).map((r) => r.name);
  if (off.length > 0) throw new Error(`the Ansible job left router(s) ${off.slice(0, 5).join(', ')} different from multilink's state: not the same job`);
  for (const r of lab.routers) {
    const written = readFileSync(join(ansibleDir(r.stateDir), 'iptables.rules'), 'utf8');
    if (written !== job.payload) throw new Error(`Ansible's template on ${r.name} differs from multilink's payload:\n${written}\n---\n${job.payload}`);
  }
}

async function main(): Promise<number> {
  let args: FleetArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    return 2;
  }
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    console.error('bench/fleet needs root (it builds labs of network namespaces)');
    return 1;
  }
  if (!existsSync(join(ROOT, 'dist', 'bin.js'))) {
    console.error('dist/bin.js is missing: run `npm run build` first (or `npm run bench:fleet`)');
    return 1;
  }
  if (!existsSync(GNU_TIME)) log(`${GNU_TIME} missing (apt-get install time): no peak memory or CPU figures`);
  if (args.ansible && args.ansibleRuns !== 0 && !ansibleAvailable()) {
    console.error('ansible-playbook is missing: apt-get install ansible (Debian), or pass --no-ansible');
    return 1;
  }
  onCleanup(removeScratch);
  const cli = await detectCli(ROOT);
  const lines = await header(cli);
  lines.push(
    `sizes ${args.sizes.join(', ')}; ${args.runs} run(s) each (Ansible: ${args.sizes.map((n) => ansibleRuns(args, n)).join(', ')}); figures are the median with min and max`,
    '',
  );
  const started = Date.now();
  let failed = false;
  for (const n of args.sizes) {
    try {
      const result = await runSize(n, args, cli);
      if (result.failed) failed = true;
      lines.push(formatSize(result), '');
    } catch (err) {
      failed = true;
      lines.push(`N = ${n} routers: FAILED: ${err instanceof Error ? err.message : String(err)}`, '');
      log(`N=${n} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    }
  }
  lines.push(`total ${((Date.now() - started) / 1000).toFixed(0)} s; load average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const text = `${lines.join('\n')}\n`;
  process.stdout.write(text);
  const out = args.out ?? join(BENCH, 'results', `fleet-${new Date().toISOString().slice(0, 10)}.txt`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, text);
  log(`results written to ${out}`);
  removeScratch();
  return failed ? 1 : 0;
}

process.exitCode = await main();
