// Issue 23, High 2, on a lab router built like OpenWrt (BusyBox userland: its `timeout`
// exits 143): a controller frozen (SIGSTOP) after the router printed `@@ML-ready`, while a
// link dies. The monitor takes the link out once the deploy's plan deadline has passed (not
// hours later, when sshd would notice the dead peer); the lock is free by then; and the
// frozen deploy, resumed, reports that nothing was changed — the router refused its late plan.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inRouter, labSupport, sh, startTestLab, stopTestLab } from './helpers/lab.js';
import { cli, jsonHosts } from './helpers/cli.js';
import type { LabInfo } from '../src/lab/lab.js';
import { openwrtTree } from '../src/lab/openwrt.js';
import { readOnRouter, runOnRouter } from '../src/lab/router-ops.js';
import { DEFAULT_RUN_DIR, RunLayout } from '../src/shell/layout.js';
import { findCommand } from '../src/lab/packages.js';

const base = labSupport();
const support = base.ok && !findCommand('busybox') ? { ok: false, reason: 'busybox is missing' } : base;
if (!support.ok) console.warn(`skipping the plan deadline lab test: ${support.reason}`);

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));
/** The plan deadline: --command-timeout 10 makes the router wait 10 s for the plan (its minimum). */
const DEADLINE_S = 10;
const INTERVAL_S = 1;

/** The command line built as it ships (tsc, and the router-side files beside it), into `dir`. */
function buildCli(dir: string): string {
  const out = join(dir, 'cli');
  const tsc = spawnSync(join('node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json', '--outDir', out, '--sourceMap', 'false'], { encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`tsc failed: ${tsc.stdout}${tsc.stderr}`);
  const copy = (from: string): void => {
    for (const name of readdirSync(from)) {
      const p = join(from, name);
      if (statSync(p).isDirectory()) copy(p);
      else if (/\.(sh|mjs|awk)$/.test(name)) cpSync(p, join(out, relative('src', p)));
    }
  };
  copy('src');
  symlinkSync(join(process.cwd(), 'node_modules'), join(dir, 'node_modules'));
  return join(out, 'bin.js');
}

/** The environment without ANSIBLE_* and with ANSIBLE_CONFIG at an empty file of the test's: no real ~/.ansible.cfg or /etc/ansible is read. */
function hermeticEnv(bin: string): NodeJS.ProcessEnv {
  const cfg = join(bin, '..', 'ansible.cfg');
  writeFileSync(cfg, '');
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ANSIBLE_'))), ANSIBLE_CONFIG: cfg };
}

describe.skipIf(!support.ok)('a controller frozen after @@ML-ready while a link dies (OpenWrt-like router)', () => {
  let lab: LabInfo;
  let bin = '';
  let inv = '';
  let heavier = '';
  const r = () => lab.routers[0];
  const stateDir = () => join(openwrtTree(r()).etc, 'multilink');
  const up = (...args: string[]) => sh('ip', ['netns', 'exec', lab.upstreamNamespace, ...args]);
  const balance = () =>
    inRouter(lab, r().name, `iptables-${r().iptables}-save`, ['-t', 'mangle']).stdout.split('\n').filter((l) => l.startsWith('-A ML_BALANCE'));
  /** New connections may still be marked for cable (link 2). */
  const cableBalanced = () => balance().some((l) => l.includes('0x200/0xff00'));
  const epochs = (): number[] => {
    try {
      return readdirSync(join(stateDir(), 'locks')).filter((n) => /^\d+$/.test(n)).map(Number);
    } catch {
      return [];
    }
  };
  const newest = (): number => Math.max(0, ...epochs());
  /** The monitor's view (lib.sh ml_deploying), run as the router runs it (BusyBox ash). */
  const deploying = async (): Promise<string> =>
    (await runOnRouter(lab, r().name, `ML_IPTABLES=none; . ${JSON.stringify(join(process.cwd(), 'src/shell/lib.sh'))}; ML_STATE=/etc/multilink; if ml_deploying; then echo held; else echo free; fi`)).stdout.trim();

  beforeAll(async () => {
    lab = await startTestLab(1, { openwrt: ['r1'] });
    bin = buildCli(lab.dir);
    for (const a of ['198.51.100.2/32', '198.51.100.3/32']) expect(up('ip', 'addr', 'add', a, 'dev', 'lo').code).toBe(0);
    const pb = readFileSync(lab.playbook, 'utf8').replace(
      '  rp_filter: loose',
      `  rp_filter: loose\n  health: { targets: [198.51.100.2, 198.51.100.3], interval: ${INTERVAL_S}s, down_after: 3, up_after: 3, quorum: 1 }`,
    );
    writeFileSync(join(lab.dir, 'health.yaml'), pb);
    inv = join(lab.dir, 'health-inventory.yaml');
    const text = readFileSync(lab.inventory, 'utf8').split(lab.playbook).join(join(lab.dir, 'health.yaml'));
    writeFileSync(inv, text);
    // The frozen deploy's change: other weights.
    heavier = join(lab.dir, 'heavier-inventory.yaml');
    writeFileSync(heavier, text.replace(/(\br1: \{ )/, '$1multilink_weights: { dsl: 3, cable: 1 }, '));
    expect(readFileSync(heavier, 'utf8')).toContain('multilink_weights');
    const res = await cli('deploy', inv, '--json');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    // Its timeout(1) is BusyBox's (exits 143 when the time is up).
    expect((await runOnRouter(lab, r().name, 'readlink "$(command -v timeout)"')).stdout.trim()).toBe('busybox');
  }, 180_000);

  afterAll(async () => {
    if (lab) await stopTestLab(lab);
  });

  it('failover within the plan deadline + one interval; the lock free; the resumed deploy reports that nothing changed', async () => {
    await sleep(1500);
    expect(cableBalanced()).toBe(true);
    const generation = readFileSync(join(stateDir(), 'current'), 'utf8');
    const before = newest();
    let child: ChildProcess | undefined;
    let stdout = '';
    try {
      child = spawn(process.execPath, [bin, 'deploy', heavier, '--json', '--command-timeout', String(DEADLINE_S), '--confirm-timeout', '20'], { stdio: ['ignore', 'pipe', 'pipe'], env: hermeticEnv(bin) });
      child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr!.on('data', () => undefined);
      const exited = new Promise<number | null>((ok) => child!.on('exit', (code) => ok(code)));
      // Frozen the moment the router takes the lock: it gathers and prints @@ML-ready to a
      // controller that never reads it (as a laptop that went to sleep).
      const t0 = Date.now();
      while (newest() === before && Date.now() - t0 < 30_000) await sleep(1);
      expect(newest()).toBe(before + 1);
      child.kill('SIGSTOP');
      const locked = Date.now();
      const epochDir = join(stateDir(), 'locks', String(before + 1));
      const id = /^id (\S+)$/m.exec(readFileSync(join(epochDir, 'owner'), 'utf8'))![1];
      expect(up('iptables-nft', '-I', 'INPUT', '-i', 'isp2', '-j', 'DROP').code).toBe(0);
      try {
        // The monitor takes cable out (state) but holds the chain while the deploy may still plan.
        await sleep(5000);
        const state = await readOnRouter(lab, r().name, new RunLayout(DEFAULT_RUN_DIR).monitorState);
        expect(state).toMatch(/^link cable down/m);
        expect(cableBalanced(), 'the chain changed while the deploy was within its deadline').toBe(true);
        expect(existsSync(join(stateDir(), 'txn', id)), 'the controller sent its plan before it was stopped').toBe(false);
        expect(await deploying()).toBe('held');

        // Once the deadline has passed the chain is changed without the deploy.
        while (cableBalanced() && Date.now() - locked < (DEADLINE_S + 20) * 1000) await sleep(100);
        const failover = (Date.now() - locked) / 1000;
        console.log(`failover ${failover.toFixed(1)} s after the frozen deploy took the lock (plan deadline ${DEADLINE_S} s, interval ${INTERVAL_S} s)`);
        expect(failover).toBeLessThanOrEqual(DEADLINE_S + 1 + INTERVAL_S + 2.5);
        const failedOver = balance();
        // The lock is free: the monitor and the next deploy find it so (overdue), and its holder
        // gives up within the second after (the router's sleep counts whole seconds).
        expect(await deploying()).toBe('free');
        const released = Date.now();
        while (!existsSync(join(epochDir, 'released')) && Date.now() - released < 2500) await sleep(50);
        expect(existsSync(join(epochDir, 'released'))).toBe(true);
        expect(existsSync(join(stateDir(), 'txn', id))).toBe(false);

        // Resumed, the controller finds its own turn timed out, or sends its plan to a router
        // that gave up on it (which of the two comes first is the event loop's choice): either
        // way it reports that nothing was changed, and the router did not run the plan.
        child.kill('SIGCONT');
        const code = await Promise.race([exited, sleep(60_000).then(() => 'hung')]);
        expect(code).toBe(1);
        const host = jsonHosts({ code: 1, stdout, stderr: '' })[r().name];
        console.log(`the resumed deploy: ${host.outcome}: ${host.message}`);
        expect(host.outcome).toBe('failed');
        expect(host.message).toMatch(/nothing was changed/);
        expect(host.message).toMatch(new RegExp(`no plan within ${DEADLINE_S} s \\(the plan deadline\\)|\`sh -s\` timed out after ${DEADLINE_S}000 ms`));
        // Exactly what the monitor made of the prior generation: nothing of the plan.
        expect(balance()).toEqual(failedOver);
        expect(readFileSync(join(stateDir(), 'current'), 'utf8')).toBe(generation);
        expect(existsSync(join(stateDir(), 'txn', id, 'armed'))).toBe(false);

        // The change goes through now, and the monitor keeps cable out.
        const next = await cli('deploy', heavier, '--json');
        expect(jsonHosts(next)[r().name].outcome, next.stdout).toBe('changed');
        await sleep(1500);
        expect(cableBalanced()).toBe(false);
      } finally {
        up('iptables-nft', '-D', 'INPUT', '-i', 'isp2', '-j', 'DROP');
      }
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
      }
    }
  }, 150_000);
});
