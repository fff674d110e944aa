// The fleet's arming schedule (issue 10 §3): no router is armed while another one's
// confirmation runs late, and a fleet whose routers and controller share too little CPU gets
// every confirmation in before its dead-man timer, where arming at will rolls healthy routers back.
import { describe, expect, it } from 'vitest';
import { ArmGate } from '../src/deploy/arm-gate.js';
import { deployHost, type RunOptions } from '../src/deploy/host.js';
import { runFleet } from '../src/deploy/fleet.js';
import { FakeTransport } from '../src/transport/fake-transport.js';
import type { HostConfig } from '../src/model/config.js';
import type { FleetEvents } from '../src/model/events.js';
import type { Transport } from '../src/transport/transport.js';
import { convergedFacts, pristineFacts, twoLinkDesired } from './helpers/desired.js';
import { gatherOutput } from './helpers/gather-output.js';

describe('ArmGate', () => {
  it('starts with a small window of armed routers and grows it by one per quick confirmation, up to the forks', async () => {
    let t = 0;
    const gate = new ArmGate({ confirmTimeoutMs: 60_000, maxWindow: 10, initialWindow: 2, now: () => t });
    expect(await gate.beforeArm('r1', 0)).toBe(true);
    expect(await gate.beforeArm('r2', 0)).toBe(true);
    expect(await gate.beforeArm('r3', 0)).toBe(false);
    t = 1_000;
    gate.settled('r1');
    expect(gate.window).toBe(3);
    for (let i = 0; i < 20; i++) {
      expect(await gate.beforeArm(`q${i}`, 0)).toBe(true);
      gate.settled(`q${i}`);
    }
    expect(gate.window).toBe(10);
  });

  it('halves the window when a confirmation came late; while one runs late, neither starts nor arms go', async () => {
    let t = 0;
    const gate = new ArmGate({ confirmTimeoutMs: 60_000, maxWindow: 50, initialWindow: 40, now: () => t });
    expect(await gate.beforeArm('r1', 0)).toBe(true);
    expect(await gate.beforeArm('r2', 0)).toBe(true);
    t = 20_000;
    expect(gate.late()).toMatch(/confirmation of r1 is late/);
    expect(await gate.beforeArm('r3', 0)).toBe(false);
    let started = false;
    const waiting = gate.beforeStart().then(() => (started = true));
    await new Promise((ok) => setTimeout(ok, 20));
    expect(started).toBe(false);
    gate.settled('r1');
    expect(gate.window).toBe(20);
    gate.settled('r2');
    await waiting;
    expect(started).toBe(true);
    expect(gate.held).toBeGreaterThan(0);
  });

  it('a plan waits for room at most its bound (the router waits for it with its lock taken)', async () => {
    const gate = new ArmGate({ confirmTimeoutMs: 60_000, maxWindow: 1 });
    expect(await gate.beforeArm('r1', 100)).toBe(true);
    const t0 = Date.now();
    expect(await gate.beforeArm('r2', 100)).toBe(false);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(80);
    setTimeout(() => gate.settled('r1'), 30);
    expect(await gate.beforeArm('r2', 1000)).toBe(true);
  });
});

/**
 * A fleet whose routers' work all queues for the same two CPUs, first come first served, as a
 * lab's routers and its controller do on this machine: connects, gathers and applies of new
 * hosts queue ahead of the confirmations of armed ones. Each router restores itself when its
 * confirmation starts later than the dead-man timer after it was armed.
 * Time is the model's own: `now` advances only as the simulated CPUs finish work, so the
 * controller's real CPU (and whatever else loads the machine running the test) costs nothing in
 * it — measured by the wall clock, a loaded machine made healthy routers late (1 run in 5).
 */
function contendedFleet(n: number, cost: { connect: number; gather: number; apply: number; disarm: number }, confirmTimeoutMs: number) {
  const cores = 2;
  let busy = 0;
  let vnow = 0;
  const queue: (() => void)[] = [];
  const cpu = (ms: number): Promise<void> =>
    new Promise((done) => {
      const run = (): void => {
        busy++;
        const end = vnow + ms;
        setTimeout(() => {
          busy--;
          vnow = Math.max(vnow, end);
          done();
          queue.shift()?.();
        }, ms);
      };
      if (busy < cores) run();
      else queue.push(run);
    });
  const now = (): number => vnow;
  const armedAt = new Map<string, number>();
  const restoredBy = new Set<string>();
  const late = (host: string): boolean => {
    if (now() - armedAt.get(host)! > confirmTimeoutMs) restoredBy.add(host);
    return restoredBy.has(host);
  };
  const settledText = '@@ML-R txn restored\n@@ML-R why no confirmation in time\n@@ML restore-detail\n\n@@ML-rc 0\n';
  const fake = new FakeTransport(async (host, _cmd, stdin = '') => {
    const id = /ML_TXN_ID=([0-9a-f]+)/.exec(stdin)?.[1];
    const prompt = (): string => `@@ML-ready ${id ?? ''}\n`;
    if (stdin.includes('# The first execution of a change')) {
      await cpu(cost.gather);
      return { stdout: gatherOutput(pristineFacts()) + prompt(), stderr: '', code: 0 };
    }
    if (stdin.includes('ml_txn_run()')) {
      armedAt.set(host, now());
      await cpu(cost.apply);
      return { stdout: '@@ML-R generation 2\n@@ML-R applied yes\n', stderr: '', code: 0 };
    }
    if (stdin.includes('# The second execution of a change')) {
      await cpu(cost.gather);
      if (late(host)) return { stdout: settledText, stderr: '', code: 0 };
      return { stdout: gatherOutput(convergedFacts()) + prompt(), stderr: '', code: 0 };
    }
    await cpu(cost.disarm);
    if (late(host)) return { stdout: settledText, stderr: '', code: 0 };
    return { stdout: '@@ML-R txn confirmed\n@@ML-R generation 2\n', stderr: '', code: 0 };
  });
  const transport: Transport = {
    async connect(target, options) {
      await cpu(cost.connect);
      return fake.connect(target, options);
    },
  };
  const desired = twoLinkDesired();
  const hosts = Array.from({ length: n }, (_, i) => ({ name: `r${i + 1}`, connection: { host: `198.18.0.${i + 1}`, become: false }, settings: desired.settings }) as unknown as HostConfig);
  return { transport, hosts, desired, restoredBy, now };
}

async function deployFleet(withGate: boolean) {
  const confirmTimeoutMs = 1000;
  const f = contendedFleet(100, { connect: 12, gather: 15, apply: 15, disarm: 5 }, confirmTimeoutMs);
  const gate = withGate ? new ArmGate({ confirmTimeoutMs, maxWindow: 50, now: f.now }) : undefined;
  const opts: RunOptions = { check: false, acceptNewHostKeys: false, connectTimeoutMs: 60_000, commandTimeoutMs: 60_000, confirmTimeoutS: confirmTimeoutMs / 1000, ...(gate ? { gate } : {}) };
  const view: FleetEvents = { start: () => undefined, phase: () => undefined, done: () => undefined, finish: async () => undefined };
  const results = await runFleet(f.hosts, { forks: 50 }, view, (cfg) => deployHost(cfg, f.desired, f.transport, opts, view));
  return { outcomes: results.map((r) => r.outcome), restored: f.restoredBy.size, held: gate?.held ?? 0 };
}

describe('a contended fleet of 100 routers, forks 50', () => {
  it('arming at will: healthy routers are rolled back because their confirmations queued behind new hosts', async () => {
    const { outcomes, restored } = await deployFleet(false);
    expect(restored).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o === 'rolled_back').length).toBe(restored);
  }, 60_000);

  it('with the arming gate: every router confirmed in time, none rolled back', async () => {
    const { outcomes, restored, held } = await deployFleet(true);
    expect(restored).toBe(0);
    expect(outcomes.every((o) => o === 'changed')).toBe(true);
    expect(held).toBeGreaterThan(0);
  }, 60_000);
});
