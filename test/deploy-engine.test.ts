// The per-host engine over a fake transport, with the real gather parser and planner in the
// loop: outcomes, round trips and connections for every path of the transaction.
import { describe, expect, it } from 'vitest';
import { deployHost, type RunOptions } from '../src/deploy/host.js';
import { FakeTransport } from '../src/transport/fake-transport.js';
import type { HostConfig } from '../src/model/config.js';
import type { HostFacts } from '../src/model/facts.js';
import { UnreachableError } from '../src/errors.js';
import { convergedFacts, pristineFacts, twoLinkDesired } from './helpers/desired.js';
import { gatherOutput } from './helpers/gather-output.js';

const cfg = { name: 'r1', connection: { host: '198.18.0.11', become: false }, settings: twoLinkDesired().settings } as unknown as HostConfig;
const opts: RunOptions = { check: false, acceptNewHostKeys: false, connectTimeoutMs: 1000, commandTimeoutMs: 1000, confirmTimeoutS: 1 };
const events = { phase: () => undefined };

type Kind = 'gather' | 'transaction' | 'disarm' | 'restore-now' | 'status';
function kind(stdin: string): Kind {
  if (stdin.includes('ml-deadman')) return 'transaction';
  if (stdin.includes('ML_ACTION=disarm')) return 'disarm';
  if (stdin.includes('ML_ACTION=restore')) return 'restore-now';
  if (stdin.includes('ML_ACTION=status')) return 'status';
  return 'gather';
}

/** What the router's scripts print: reply fields and sections (src/shell/reply.ts). */
const field = (key: string, value = 'yes'): string => `@@ML-R ${key} ${value}\n`;
const section = (name: string, body: string, rc = 0): string => `@@ML ${name}\n${body}\n@@ML-rc ${rc}\n`;
const settled = (txn: 'restored' | 'restore-failed', why: string, detail = ''): string => field('txn', txn) + field('why', why) + section('restore-detail', detail);

interface RouterOptions {
  transaction?: string | (() => never);
  after?: HostFacts;
  status?: string;
}

/** A router whose facts flip from `before` to `after` once a transaction has run. */
function router(before: HostFacts, o: RouterOptions = {}): { t: FakeTransport; kinds: Kind[] } {
  let applied = false;
  const kinds: Kind[] = [];
  const t = new FakeTransport((_host, _cmd, stdin) => {
    const k = kind(stdin ?? '');
    kinds.push(k);
    const ok = (stdout: string) => ({ stdout, stderr: '', code: 0 });
    switch (k) {
      case 'gather':
        return ok(gatherOutput(applied ? (o.after ?? convergedFacts()) : before));
      case 'transaction':
        applied = true;
        if (typeof o.transaction === 'function') o.transaction();
        return ok(typeof o.transaction === 'string' ? o.transaction : field('generation', '7') + field('applied'));
      case 'disarm':
        return ok(field('txn', 'confirmed') + field('generation', '7'));
      case 'restore-now':
        applied = false;
        return ok(settled('restored', 'live state differed after apply'));
      case 'status':
        return ok(o.status ?? '');
    }
  });
  return { t, kinds };
}

describe('deployHost over a fake transport', () => {
  it('no-op: unchanged, one connection and one exec, nothing applied', async () => {
    const { t, kinds } = router(convergedFacts());
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('unchanged');
    expect(run.result.message).toMatch(/^all \d+ owned objects match/);
    expect([t.connectionCount('r1'), t.execCount('r1')]).toEqual([1, 1]);
    expect(kinds).toEqual(['gather']);
    expect(t.openSessionCount).toBe(0);
  });

  it('change: gather and transaction, then gather and disarm on a NEW connection (4 round trips)', async () => {
    const { t, kinds } = router(pristineFacts());
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result).toMatchObject({ outcome: 'changed', generation: 7 });
    expect(kinds).toEqual(['gather', 'transaction', 'gather', 'disarm']);
    expect(t.execsFor('r1').map((e) => e.connection)).toEqual([1, 1, 2, 2]);
    const txn = t.execsFor('r1')[1].stdin!;
    expect(txn).toContain('ml_restore /var/lib/multilink/iptables.restore');
    expect(txn).toContain('sleep "$1"');
    expect(txn).toContain('\nML_CONFIRM_S=1\n');
    expect(txn).toContain('ml-deadman "$ML_CONFIRM_S"');
    expect(t.openSessionCount).toBe(0);
  });

  it('--check: reports would_change and runs nothing but the gather', async () => {
    const { t, kinds } = router(pristineFacts());
    const run = await deployHost(cfg, twoLinkDesired(), t, { ...opts, check: true }, events);
    expect(run.result.outcome).toBe('would_change');
    expect(kinds).toEqual(['gather']);
  });

  it('a failing step: rolled_back, with its command, exit code and stderr', async () => {
    const out = field('generation', '7') + section('step-failed ip route replace default via 100.64.1.1 dev wan1 table 101', 'Error: Nexthop has invalid gateway.', 2) + settled('restored', 'a step failed');
    const { t, kinds } = router(pristineFacts(), { transaction: out });
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result).toMatchObject({ outcome: 'rolled_back', command: 'ip route replace default via 100.64.1.1 dev wan1 table 101', exitCode: 2, stderr: 'Error: Nexthop has invalid gateway.' });
    expect(run.result.message).toMatch(/restored and verified/);
    expect(kinds).toEqual(['gather', 'transaction']);
  });

  it('a failing step whose restore fails too: failed, loudly', async () => {
    const out = field('generation', '7') + section('step-failed x', 'boom', 1) + settled('restore-failed', 'a step failed', '@@ML step-failed ip rule add ...\nRTNETLINK answers: File exists\n@@ML-rc 2');
    const { t } = router(pristineFacts(), { transaction: out });
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('failed');
    expect(run.result.message).toMatch(/AND THE RESTORE FAILED/);
  });

  it('a live state that differs after apply is restored at once: rolled_back', async () => {
    const { t, kinds } = router(pristineFacts(), { after: pristineFacts() });
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('rolled_back');
    expect(run.result.message).toMatch(/live state differed .* restored and verified/);
    expect(kinds).toEqual(['gather', 'transaction', 'gather', 'restore-now']);
  });

  it('a held lock: failed, nothing changed', async () => {
    const { t } = router(pristineFacts(), { transaction: field('locked', 'alice@ctl pid 42 since 2026-11-23T10:00:00Z') });
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('failed');
    expect(run.result.message).toBe('nothing was changed: another deploy holds the lock on this router (alice@ctl pid 42 since 2026-11-23T10:00:00Z)');
  });

  it('a stale plan is refused', async () => {
    const { t } = router(pristineFacts(), { transaction: field('stale-plan') });
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.message).toMatch(/stale plan/);
  });

  it('connection lost during apply: reconnects and reports what the router did alone', async () => {
    const { t, kinds } = router(pristineFacts(), {
      transaction: () => {
        throw new UnreachableError('r1', 'connection lost');
      },
      status: settled('restored', 'no confirmation within 1 s'),
    });
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('rolled_back');
    expect(run.result.message).toMatch(/contact lost during apply .* restored \(no confirmation within 1 s\)/);
    expect(kinds).toEqual(['gather', 'transaction', 'status']);
  });

  it('lost contact, then the router says its restore FAILED: failed, loudly', async () => {
    const { t } = router(pristineFacts(), {
      transaction: () => {
        throw new UnreachableError('r1', 'connection lost');
      },
      status: settled('restore-failed', 'no confirmation within 1 s', 'the owned state matches neither the prior nor the compiled state'),
    });
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('failed');
    expect(run.result.message).toMatch(/AND THE RESTORE FAILED \(no confirmation within 1 s\): the owned state matches neither/);
  });

  it('lost contact, then a later deploy owns the router: not reported as ours', async () => {
    const { t } = router(pristineFacts(), {
      transaction: () => {
        throw new UnreachableError('r1', 'connection lost');
      },
      status: field('txn', 'not-mine'),
    });
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('failed');
    expect(run.result.message).toMatch(/another deploy has since started on this router/);
  });

  it('a clash refuses the plan and changes nothing', async () => {
    const facts = pristineFacts();
    facts.ipRules.push({ priority: 1001, text: 'from all lookup 77', table: '77' });
    const { t, kinds } = router(facts);
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('failed');
    expect(run.result.message).toMatch(/^nothing was changed: .*priority 1001 is not multilink's/);
    expect(kinds).toEqual(['gather']);
  });

  it('unreachable host', async () => {
    const { t } = router(pristineFacts());
    t.setUnreachable('r1', 'connection refused');
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('unreachable');
    expect(run.result.message).toContain('connection refused');
  });
});
