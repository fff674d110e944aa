import { describe, expect, it } from 'vitest';
import { deployHost, type RunOptions } from '../src/deploy/host.js';
import { FakeTransport } from '../src/transport/fake-transport.js';
import type { HostConfig } from '../src/model/config.js';
import type { HostFacts } from '../src/model/facts.js';
import { DONE, FAIL, FAIL_RC, FAIL_STDERR } from '../src/apply/script.js';
import { convergedFacts, pristineFacts, twoLinkDesired } from './helpers/desired.js';
import { gatherOutput } from './helpers/gather-output.js';

const cfg = { name: 'r1', connection: { host: '198.18.0.11', become: false }, settings: twoLinkDesired().settings } as unknown as HostConfig;
const opts: RunOptions = { check: false, acceptNewHostKeys: false, connectTimeoutMs: 1000, commandTimeoutMs: 1000 };
const events = { phase: () => undefined };

/** A router whose state flips from `before` to `after` once an apply script has run. */
function router(before: HostFacts, after: HostFacts, applyOutput = `${DONE}\n`): FakeTransport {
  let applied = false;
  return new FakeTransport((_host, _cmd, stdin) => {
    if (stdin?.includes("echo '@@ML flavour'")) return { stdout: gatherOutput(applied ? after : before), stderr: '', code: 0 };
    applied = true;
    return { stdout: applyOutput, stderr: '', code: applyOutput.includes(FAIL) ? 3 : 0 };
  });
}

describe('deployHost over a fake transport', () => {
  it('no-op: unchanged, one connection and one exec, nothing applied', async () => {
    const t = router(convergedFacts(), convergedFacts());
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('unchanged');
    expect(t.connectionCount('r1')).toBe(1);
    expect(t.execCount('r1')).toBe(1);
    expect(t.openSessionCount).toBe(0);
  });

  it('change: gather, apply, then confirm over a NEW connection (3 round trips, 2 connections)', async () => {
    const t = router(pristineFacts(), convergedFacts());
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('changed');
    expect(t.execCount('r1')).toBe(3);
    expect(t.connectionCount('r1')).toBe(2);
    expect(t.execsFor('r1').map((e) => e.connection)).toEqual([1, 1, 2]);
    expect(t.execsFor('r1')[1].stdin).toContain('--noflush -w');
    expect(t.openSessionCount).toBe(0);
  });

  it('--check: reports would_change and runs nothing but the gather', async () => {
    const t = router(pristineFacts(), convergedFacts());
    const run = await deployHost(cfg, twoLinkDesired(), t, { ...opts, check: true }, events);
    expect(run.result.outcome).toBe('would_change');
    expect(t.execCount('r1')).toBe(1);
  });

  it('a failing step is reported with its command, exit code and stderr', async () => {
    const out = `${FAIL} ip route replace default via 100.64.1.1 dev wan1 table 101\n${FAIL_RC} 2\n${FAIL_STDERR}\nError: Nexthop has invalid gateway.\n`;
    const t = router(pristineFacts(), pristineFacts(), out);
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result).toMatchObject({ outcome: 'failed', command: 'ip route replace default via 100.64.1.1 dev wan1 table 101', exitCode: 2, stderr: 'Error: Nexthop has invalid gateway.' });
  });

  it('a live state that still differs after apply fails the host', async () => {
    const t = router(pristineFacts(), pristineFacts());
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('failed');
    expect(run.result.message).toMatch(/differs from the compiled state after apply/);
  });

  it('a clash refuses the plan and changes nothing', async () => {
    const facts = pristineFacts();
    facts.ipRules.push({ priority: 1001, text: 'from all lookup 77', table: '77' });
    const t = router(facts, facts);
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('failed');
    expect(run.result.message).toMatch(/^nothing was changed: .*priority 1001 is not multilink's/);
    expect(t.execCount('r1')).toBe(1);
  });

  it('unreachable host', async () => {
    const t = router(pristineFacts(), pristineFacts());
    t.setUnreachable('r1', 'connection refused');
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('unreachable');
    expect(run.result.message).toContain('connection refused');
  });
});
