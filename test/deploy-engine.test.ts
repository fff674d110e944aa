// The per-host engine over a fake transport, with the real gather parser and planner in the
// loop: outcomes, executions and connections for every path of the transaction.
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

type Kind = 'gather' | 'begin' | 'plan' | 'control' | 'disarm' | 'restore-now';
function kind(stdin: string): Kind {
  if (stdin.includes('# The first execution of a change')) return 'begin';
  if (stdin.includes('# The second execution of a change')) return 'control';
  if (stdin.includes('\nml_decision=disarm\n')) return 'disarm';
  if (stdin.includes('\nml_decision=restore\n')) return 'restore-now';
  if (stdin.includes('ml_txn_run()')) return 'plan';
  return 'gather';
}
const idOf = (stdin: string): string => /ML_TXN_ID=([0-9a-f]+)/.exec(stdin)![1];

/** What the router's scripts print: reply fields and sections (src/shell/reply.ts). */
const field = (key: string, value = 'yes'): string => `@@ML-R ${key} ${value}\n`;
const section = (name: string, body: string, rc = 0): string => `@@ML ${name}\n${body}\n@@ML-rc ${rc}\n`;
const settled = (txn: 'restored' | 'restore-failed', why: string, detail = ''): string => field('txn', txn) + field('why', why) + section('restore-detail', detail);

interface RouterOptions {
  /** What the plan prints, or a throw (the connection is lost after the plan was sent). */
  run?: string | (() => never);
  after?: HostFacts;
  /** Before the prompt of execution 1 (a refusal ends it there). */
  head?: string;
  /** The control execution without a prompt (the transaction already ended). */
  control?: string;
  begin?: () => void;
}

/** A router whose facts flip from `before` to `after` once a plan has run. */
function router(before: HostFacts, o: RouterOptions = {}): { t: FakeTransport; kinds: Kind[] } {
  let applied = false;
  let id = '';
  const kinds: Kind[] = [];
  const t = new FakeTransport((_host, _cmd, stdin) => {
    const k = kind(stdin ?? '');
    kinds.push(k);
    const ok = (stdout: string) => ({ stdout, stderr: '', code: 0 });
    const prompt = () => `@@ML-ready ${id}\n`;
    switch (k) {
      case 'gather':
        return ok(gatherOutput(before));
      case 'begin':
        id = idOf(stdin!);
        o.begin?.();
        if (o.head?.includes('locked')) return { stdout: o.head, stderr: '', code: 4 };
        return ok((o.head ?? '') + gatherOutput(before) + prompt());
      case 'plan':
        applied = true;
        if (typeof o.run === 'function') o.run();
        return ok(typeof o.run === 'string' ? o.run : field('generation', '7') + field('applied'));
      case 'control':
        expect(idOf(stdin!)).toBe(id);
        if (o.control !== undefined) return ok(o.control);
        return ok(gatherOutput(applied ? (o.after ?? convergedFacts()) : before) + prompt());
      case 'disarm':
        return ok(field('txn', 'confirmed') + field('generation', '7'));
      case 'restore-now':
        applied = false;
        return ok(settled('restored', 'live state differed after apply'));
    }
  });
  return { t, kinds };
}

describe('deployHost over a fake transport', () => {
  it('no-op: unchanged, one connection and one execution, nothing sent after the gather', async () => {
    const { t, kinds } = router(convergedFacts());
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('unchanged');
    expect(run.result.message).toMatch(/^all \d+ owned objects match/);
    expect([t.connectionCount('r1'), t.execCount('r1')]).toEqual([1, 1]);
    expect(kinds).toEqual(['begin']);
    expect(t.execsFor('r1')[0].answer).toBe('');
    expect(t.openSessionCount).toBe(0);
  });

  it('change: two executions on two connections; the plan answers the gather, the decision the check', async () => {
    const { t, kinds } = router(pristineFacts());
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result).toMatchObject({ outcome: 'changed', generation: 7 });
    expect(kinds).toEqual(['begin', 'plan', 'control', 'disarm']);
    const execs = t.execsFor('r1');
    expect(execs.map((e) => e.connection)).toEqual([1, 2]);
    const plan = execs[0].answer!;
    expect(plan).toContain('ml_restore /var/lib/multilink/iptables.restore');
    expect(plan).toContain('\nML_CONFIRM_S=1\n');
    expect(plan.trimEnd().split('\n').pop()).toBe(`# ml-end ${idOf(execs[0].stdin!)}`);
    expect(execs[1].answer).toContain('ml_decision=disarm');
    expect(t.openSessionCount).toBe(0);
  });

  it('--check: reports would_change after one plain gather, no lock taken', async () => {
    const { t, kinds } = router(pristineFacts());
    const run = await deployHost(cfg, twoLinkDesired(), t, { ...opts, check: true }, events);
    expect(run.result.outcome).toBe('would_change');
    expect(kinds).toEqual(['gather']);
  });

  it('a failing step: rolled_back, with its command, exit code and stderr', async () => {
    const out = field('generation', '7') + section('step-failed ip route replace default via 100.64.1.1 dev wan1 table 101', 'Error: Nexthop has invalid gateway.', 2) + settled('restored', 'a step failed');
    const { t, kinds } = router(pristineFacts(), { run: out });
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result).toMatchObject({ outcome: 'rolled_back', command: 'ip route replace default via 100.64.1.1 dev wan1 table 101', exitCode: 2, stderr: 'Error: Nexthop has invalid gateway.' });
    expect(run.result.message).toMatch(/restored and verified/);
    expect(kinds).toEqual(['begin', 'plan']);
  });

  it('a failing step whose restore fails too: failed, loudly', async () => {
    const out = field('generation', '7') + section('step-failed x', 'boom', 1) + settled('restore-failed', 'a step failed', '@@ML step-failed ip rule add ...\nRTNETLINK answers: File exists\n@@ML-rc 2');
    const { t } = router(pristineFacts(), { run: out });
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('failed');
    expect(run.result.message).toMatch(/AND THE RESTORE FAILED/);
  });

  it('a live state that differs after apply is restored at once, in the same execution as the check: rolled_back', async () => {
    const { t, kinds } = router(pristineFacts(), { after: pristineFacts() });
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('rolled_back');
    expect(run.result.message).toMatch(/live state differed .* restored and verified/);
    expect(kinds).toEqual(['begin', 'plan', 'control', 'restore-now']);
    expect(t.execCount('r1')).toBe(2);
  });

  it('a held lock: failed, nothing changed, nothing sent', async () => {
    const { t, kinds } = router(pristineFacts(), { head: field('locked', 'alice@ctl pid 42 since 2026-11-23T10:00:00Z') });
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('failed');
    expect(run.result.message).toBe('nothing was changed: another deploy holds the lock on this router (alice@ctl pid 42 since 2026-11-23T10:00:00Z)');
    expect(kinds).toEqual(['begin']);
  });

  it('an earlier transaction whose processes died is reported as brought to its end', async () => {
    const head = section('recovered 00ff00ff00ff00ff', 'restored its processes died');
    const { t } = router(pristineFacts(), { head });
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('changed');
    expect(run.result.message).toMatch(/an earlier transaction whose processes had died was brought to its end: 00ff00ff00ff00ff restored and verified: its processes died/);
  });

  it('a plan that arrived incomplete is refused by the router: nothing was changed', async () => {
    const { t } = router(pristineFacts(), { run: field('ended', 'incomplete') });
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result).toMatchObject({ outcome: 'failed', changes: [] });
    expect(run.result.message).toMatch(/^nothing was changed: .*incomplete/);
  });

  it('connection lost before the plan was sent: nothing was changed, and the router is not asked', async () => {
    const { t, kinds } = router(pristineFacts(), {
      begin: () => {
        throw new UnreachableError('r1', 'connection lost');
      },
    });
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('unreachable');
    expect(run.result.message).toMatch(/connection lost; nothing was changed/);
    expect(kinds).toEqual(['begin']);
  });

  it('connection lost after the plan was sent: asks the router over a new connection and reports what it did alone', async () => {
    const { t, kinds } = router(pristineFacts(), {
      run: () => {
        throw new UnreachableError('r1', 'connection lost');
      },
      control: settled('restored', 'no confirmation within 1 s'),
    });
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('rolled_back');
    expect(run.result.message).toMatch(/contact lost after the plan was sent .* restored \(no confirmation within 1 s\)/);
    expect(kinds).toEqual(['begin', 'plan', 'control']);
  });

  it('connection lost after the plan was sent, the router armed and applied it: confirmed over the new connection', async () => {
    const { t, kinds } = router(pristineFacts(), {
      run: () => {
        throw new UnreachableError('r1', 'connection lost');
      },
    });
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('changed');
    expect(kinds).toEqual(['begin', 'plan', 'control', 'disarm']);
  });

  it('lost contact, then the router says its restore FAILED: failed, loudly', async () => {
    const { t } = router(pristineFacts(), {
      run: () => {
        throw new UnreachableError('r1', 'connection lost');
      },
      control: settled('restore-failed', 'no confirmation within 1 s', 'the owned state matches neither the prior nor the compiled state'),
    });
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('failed');
    expect(run.result.message).toMatch(/AND THE RESTORE FAILED \(no confirmation within 1 s\): the owned state matches neither/);
  });

  it('lost contact, and the router ended the transaction before arming it: nothing was changed', async () => {
    const { t } = router(pristineFacts(), {
      run: () => {
        throw new UnreachableError('r1', 'connection lost');
      },
      control: field('txn', 'ended') + field('why', 'incomplete'),
    });
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result).toMatchObject({ outcome: 'failed', changes: [] });
    expect(run.result.message).toMatch(/nothing was changed: the router ended the transaction before it was armed \(incomplete\)/);
  });

  it('a clash refuses the plan and changes nothing', async () => {
    const facts = pristineFacts();
    facts.ipRules.push({ priority: 1001, text: 'from all lookup 77', table: '77' });
    const { t, kinds } = router(facts);
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('failed');
    expect(run.result.message).toMatch(/^nothing was changed: .*priority 1001 is not multilink's/);
    expect(kinds).toEqual(['begin']);
  });

  it('unreachable host', async () => {
    const { t } = router(pristineFacts());
    t.setUnreachable('r1', 'connection refused');
    const run = await deployHost(cfg, twoLinkDesired(), t, opts, events);
    expect(run.result.outcome).toBe('unreachable');
    // What was seen, once: the entry names the host already (not "r1: unreachable - r1: …").
    expect(run.result.message).toBe('connection refused; nothing was changed');
  });
});
