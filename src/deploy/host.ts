// One host's deploy, in two executions on two connections (src/apply/transaction.ts):
//   1. lock, gather, plan, and (unless nothing is to do) the transaction: files, generation,
//      dead-man timer armed, steps applied;
//   2. over a NEW connection: gather, check that the live state equals the compiled one, and
//      disarm (confirm) or restore at once.
// Whatever is lost on the way, the router decides alone under its dead-man timer, and the
// report says what it did: the controller asks it (afterLostContact) rather than guessing.
// What it plans towards is a Planning: a compiled state (deploy, weights, rollback), or
// nothing at all (remove: src/deploy/remove.ts).
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { HostRef } from '../model/config.js';
import type { DesiredState } from '../model/desired.js';
import type { HostEvents } from '../model/events.js';
import type { HostFacts } from '../model/facts.js';
import type { HostPlan } from '../model/plan.js';
import type { HostResult } from '../model/result.js';
import type { Session, Transport } from '../transport/transport.js';
import { hostReason, UnreachableError } from '../errors.js';
import { formatDiagnostic } from '../diagnostics.js';
import { gatherRequest, type GatherRequest } from '../facts/gather-request.js';
import { gatherScript, parseGather } from '../facts/gather.js';
import { planHost } from '../plan/plan.js';
import { nftChainName } from '../compile/nft-rule.js';
import { withBackend } from '../plan/backend.js';
import { scopeOf, snapshotFromDesired, snapshotFromFacts } from '../apply/snapshot.js';
import { beginScript, controlScript, decisionScript, planScript, txnPrompt } from '../apply/transaction.js';
import { parseBeginHead, parseControlReply, parseRunReply, type BeginHead, type ControlReply, type Settled } from '../remote/txn-reply.js';
import type { TxnParams } from '../remote/programs.js';
import { StateLayout } from '../shell/layout.js';
import { converseScript, runScript } from './remote.js';
import { ExecTimeoutError } from '../transport/exec-timeout-error.js';
import type { ArmGate } from './arm-gate.js';

export interface RunOptions {
  check: boolean;
  acceptNewHostKeys: boolean;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  /** Seconds the dead-man timer waits for the confirmation. */
  confirmTimeoutS: number;
  /** Recorded with the generation ("deploy", "rollback to 3"...). */
  command?: string;
  /** Weight changes: refuse a host whose live state differs in anything but the balancing chain. */
  balanceOnly?: boolean;
  /** The fleet's arming schedule (confirmations before new arms); none: arm at once. */
  gate?: ArmGate;
}

export interface HostRun {
  result: HostResult;
  plan?: HostPlan;
}

export class HostFailure extends Error {
  constructor(
    message: string,
    readonly command?: string,
    readonly exitCode?: number | null,
    readonly stderr?: string,
  ) {
    super(message);
    this.name = 'HostFailure';
  }
}

export async function connectHost(
  transport: Transport,
  cfg: HostRef,
  opts: Pick<RunOptions, 'acceptNewHostKeys' | 'connectTimeoutMs'>,
  urgent = false,
): Promise<Session> {
  return transport.connect(
    { name: cfg.name, connection: cfg.connection, knownHosts: cfg.settings.knownHosts },
    { acceptNewHostKeys: opts.acceptNewHostKeys, timeoutMs: opts.connectTimeoutMs, ...(urgent ? { urgent } : {}) },
  );
}

/** One round trip: the gather script, parsed; the raw output is kept. */
export async function gatherWithOutput(session: Session, cfg: HostRef, req: GatherRequest, timeoutMs: number): Promise<{ facts: HostFacts; stdout: string }> {
  const res = await runScript(session, cfg.connection, gatherScript(req), timeoutMs);
  if (res.code !== 0) {
    throw new HostFailure(`gathering facts failed (exit ${res.code ?? 'signal'})${res.stderr.trim() ? `: ${res.stderr.trim()}` : ''}`, 'gather script', res.code, res.stderr);
  }
  return { facts: parseGather(res.stdout, req), stdout: res.stdout };
}

export async function gatherFacts(session: Session, cfg: HostRef, desired: DesiredState, timeoutMs: number): Promise<HostFacts> {
  return (await gatherWithOutput(session, cfg, gatherRequest(desired), timeoutMs)).facts;
}

/**
 * How a transactional command plans: what it gathers, the plan it makes of that, and the plan
 * the check after the apply makes (noop: the router holds what the plan made). Deploy,
 * weights and rollback plan towards a compiled state; remove towards nothing (plan/remove.ts).
 */
export interface Planning {
  req: GatherRequest;
  plan(facts: HostFacts): HostPlan;
  verify(facts: HostFacts): HostPlan;
}

export function deployPlanning(desired: DesiredState): Planning {
  const plan = (facts: HostFacts): HostPlan => planHost(desired, facts);
  return { req: gatherRequest(desired), plan, verify: plan };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export type Done = (r: Omit<HostResult, 'host' | 'durationMs'>) => HostRun;

/** What every outcome after the plan was sent carries. */
interface TxnBase {
  changes: HostResult['changes'];
  generation?: number;
}

/** Everything one host's transaction needs besides the plan. */
interface TxnContext {
  cfg: HostRef;
  desired: DesiredState;
  transport: Transport;
  opts: RunOptions;
  events: HostEvents;
  done: Done;
  req: GatherRequest;
  planning: Planning;
  txn: TxnParams;
  /** The plan removes multilink from the router: its confirmation takes the state folder. */
  purges: boolean;
}

/** The outcome of a transaction restored by the router (timer, failed step, a later deploy). */
function fromSettled(s: Settled, why: string, rest: TxnBase, done: Done): HostRun {
  if (s.kind === 'restored') return done({ ...rest, outcome: 'rolled_back', message: `${why}; the router restored (${s.why}): the prior state is back and verified` });
  return done({ ...rest, outcome: 'failed', message: `${why}; AND THE RESTORE FAILED (${s.why}): ${s.detail}` });
}

/** A control reply read as the transaction's outcome; 'ask again' when it is not decided yet. */
function fromControl(reply: ControlReply | undefined, why: string, rest: TxnBase, done: Done, purges: boolean): HostRun | 'ask again' {
  if (!reply) return done({ ...rest, outcome: 'failed', message: `${why}; the router's answer about the transaction could not be read — run drift` });
  switch (reply.kind) {
    case 'purged':
      if (purges) return done({ ...rest, outcome: 'changed', message: `${rest.changes.length} changes applied and confirmed: nothing of multilink's is left on the router` });
      return done({ ...rest, outcome: 'failed', message: `${why}; the router's state folder is gone (a remove ran meanwhile?) — run drift` });
    case 'confirmed':
      return done({ ...rest, generation: reply.generation, outcome: 'changed', message: `${rest.changes.length} changes applied and confirmed (generation ${reply.generation})` });
    case 'ended':
      return done({ ...rest, changes: [], outcome: 'failed', message: `${why}; nothing was changed: the router ended the transaction before it was armed (${reply.why})` });
    case 'unknown':
      return done({ ...rest, outcome: 'failed', message: `${why}; the router has no record of this transaction — run drift` });
    case 'armed':
    case 'pending-other':
      return 'ask again';
    default:
      return fromSettled(reply, why, rest, done);
  }
}

/**
 * Execution 2 (or the question after lost contact) on an open session: where the transaction
 * stands; armed and applied, the live state is checked and the decision sent in the same
 * execution: disarm when it equals the compiled state, else restore now.
 */
async function control(session: Session, c: TxnContext, why: string, rest: TxnBase): Promise<HostRun | 'ask again'> {
  const { cfg, events, done, req, txn, opts, planning } = c;
  let left: string | undefined;
  const res = await converseScript(session, cfg.connection, controlScript(req, txn), {
    prompt: txnPrompt(txn.id),
    timeoutMs: opts.commandTimeoutMs,
    answer: (before) => {
      const after = planning.verify(parseGather(before, req));
      if (after.action === 'noop') {
        events.phase(cfg.name, 'confirming');
        return decisionScript(txn.id, 'disarm').text;
      }
      events.phase(cfg.name, 'restoring');
      left = after.changes.map((ch) => `${ch.kind} ${ch.object}`).join(', ') || after.reason || 'refused';
      return decisionScript(txn.id, 'restore').text;
    },
  });
  const reply = parseControlReply(res.stdout);
  // Killed before it could say (its channel closed without a status): ask again.
  if (reply === undefined && res.code !== 0) return 'ask again';
  if (left !== undefined && reply?.kind === 'restored') {
    return done({ ...rest, outcome: 'rolled_back', message: `live state differed from the compiled state after apply (${left}); the prior state was restored and verified` });
  }
  return fromControl(reply, left !== undefined ? `live state differed from the compiled state after apply (${left})` : why, rest, done, c.purges);
}

/** Lost contact (or no decision yet) once the plan may have reached the router: ask it until it has decided. */
async function afterLostContact(c: TxnContext, sentAt: number, why: string, base: TxnBase): Promise<HostRun> {
  const { cfg, transport, opts, events, done } = c;
  // The router decides alone within its dead-man timer; a restore then takes a while.
  const deadline = sentAt + opts.confirmTimeoutS * 1000 + 20_000;
  let waiting = false;
  while (Date.now() < deadline) {
    let session: Session | undefined;
    let answer: HostRun | 'ask again';
    try {
      session = await connectHost(transport, cfg, opts, true);
      answer = await control(session, c, why, base);
    } catch (e) {
      if (!(e instanceof UnreachableError) && !(e instanceof ExecTimeoutError)) throw e;
      answer = 'ask again';
    } finally {
      await session?.close().catch(() => undefined);
    }
    if (answer !== 'ask again') return answer;
    if (!waiting) events.phase(cfg.name, 'waiting for the dead-man timer');
    waiting = true;
    await sleep(2000);
  }
  return done({
    ...base,
    outcome: 'failed',
    message: `${why}; the router had not decided ${Math.round((Date.now() - sentAt) / 1000)} s after the plan was sent (unreachable, or still armed): its dead-man timer was due to restore the prior state after ${opts.confirmTimeoutS} s — CHECK IT`,
  });
}

function transactionMeta(cfg: HostRef, plan: HostPlan, opts: RunOptions): Record<string, string | number> {
  return { host: cfg.name, by: `${userInfo().username}@${hostname()}`, at: new Date().toISOString(), command: opts.command ?? 'deploy', changes: plan.changes.length };
}

/** What a refused, no-op or --check plan ends as (undefined: the plan is to be applied). */
function withoutTransaction(cfg: HostRef, desired: DesiredState, plan: HostPlan, opts: RunOptions, done: Done): HostRun | undefined {
  if (plan.action === 'refused') {
    return done({ outcome: 'failed', message: `nothing was changed: ${plan.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic).join('; ')}`, changes: [] });
  }
  if (plan.action === 'noop') return done({ outcome: 'unchanged', message: plan.reason, changes: [] });
  if (opts.balanceOnly) {
    // The monitor's script carries the precompiled chains, so it changes with the weights;
    // the restarted monitor keeps its saved link states and loads the chain for them.
    const balance = `${desired.balanceChain.table} ${desired.balanceChain.name}`;
    // The nft backend's balancing chains, IPv4's and IPv6's (table inet multilink).
    const nftBalance = [4, 6].map((f) => `chain ${nftChainName(desired.balanceChain.name, f === 6 ? 6 : 4)}`);
    const monitorScript = new StateLayout(desired.settings.stateDir).monitorScript;
    const isBalance = (c: HostPlan['changes'][number]): boolean =>
      (c.kind === 'iptables' && (c.object === balance || c.object === `ip6 ${balance}`)) || (c.kind === 'nft' && c.op === 'update' && nftBalance.includes(c.object));
    const other = plan.changes.filter((c) => !isBalance(c) && !(c.kind === 'file' && c.object === monitorScript));
    if (other.length > 0) {
      return done({ outcome: 'failed', message: `nothing was changed: besides its balancing chain this host differs from its compiled state (${other.map((c) => `${c.kind} ${c.object}`).join(', ')}); run deploy`, changes: other });
    }
  }
  if (opts.check) return done({ outcome: 'would_change', message: `${plan.changes.length} changes needed`, changes: plan.changes });
  return undefined;
}

/** What this run found and did first: earlier transactions whose processes had died. */
function recoveredNote(head: BeginHead | undefined): string {
  if (!head || head.recovered.length === 0) return '';
  const each = head.recovered.map((r) => {
    const [first, ...rest] = r.text.split('\n');
    const loud = first.startsWith('restore-failed') ? ` — ITS RESTORE FAILED: ${rest.join(' ')}` : '';
    return `${r.id} ${first.replace(/^restored /, 'restored and verified: ')}${loud}`;
  });
  return ` (first, an earlier transaction whose processes had died was brought to its end: ${each.join('; ')})`;
}

function holderText(): string {
  return `${userInfo().username}@${hostname()} pid ${process.pid} since ${new Date().toISOString()}`;
}

/** --check: one gather, no lock, nothing changed. */
export async function checkHost(
  cfg: HostRef,
  desired: DesiredState,
  transport: Transport,
  opts: RunOptions,
  events: HostEvents,
  done: Done,
  setPlan: (p: HostPlan) => void,
  planning: Planning = deployPlanning(desired),
): Promise<HostRun> {
  let session: Session | undefined;
  try {
    events.phase(cfg.name, 'connecting');
    session = await connectHost(transport, cfg, opts);
    events.phase(cfg.name, 'gathering');
    const { facts } = await gatherWithOutput(session, cfg, planning.req, opts.commandTimeoutMs);
    events.phase(cfg.name, 'planning');
    const plan = planning.plan(facts);
    setPlan(plan);
    return withoutTransaction(cfg, desired, plan, opts, done)!;
  } catch (e) {
    if (e instanceof UnreachableError) return done({ outcome: 'unreachable', message: e.reason, changes: [] });
    const err = e as HostFailure;
    return done({ outcome: 'failed', message: hostReason(e), changes: [], command: err.command, exitCode: err.exitCode, stderr: err.stderr });
  } finally {
    await session?.close().catch(() => undefined);
  }
}

export async function deployHost(
  cfg: HostRef,
  desired: DesiredState,
  transport: Transport,
  opts: RunOptions,
  events: HostEvents,
  planning: Planning = deployPlanning(desired),
): Promise<HostRun> {
  const started = Date.now();
  let plan: HostPlan | undefined;
  const done: Done = (r) => ({ result: { host: cfg.name, durationMs: Date.now() - started, ...r }, plan });
  if (opts.check) return checkHost(cfg, desired, transport, opts, events, done, (p) => (plan = p), planning);

  const req = planning.req;
  // The plan deadline: the router waits this long after taking the lock for the plan; then its
  // monitor and other deploys stop waiting for this one, and a later plan is refused.
  const waitS = Math.max(10, Math.ceil(opts.commandTimeoutMs / 1000));
  const txn: TxnParams = {
    stateDir: desired.settings.stateDir,
    id: randomBytes(8).toString('hex'),
    holder: holderText(),
    // Only where /proc cannot tell whether the holder lives.
    leaseS: waitS + opts.confirmTimeoutS + Math.ceil((3 * opts.commandTimeoutMs) / 1000) + 30,
    waitS,
  };
  const compiled = desired;
  const c: TxnContext = { cfg, desired, transport, opts, events, done, req, planning, txn, purges: false };
  let head: BeginHead | undefined;
  const note = (run: HostRun): HostRun => {
    const extra = recoveredNote(head);
    if (extra) run.result.message = `${run.result.message ?? ''}${extra}`;
    return run;
  };
  let session: Session | undefined;
  let early: HostRun | undefined;
  let sentAt: number | undefined;
  let deferred = false;
  try {
    // While confirmations of armed routers run late, new hosts wait (fleet-wide).
      await opts.gate?.beforeStart();
    events.phase(cfg.name, 'connecting');
    session = await connectHost(transport, cfg, opts);
    // Execution 1: lock and gather; the plan goes back in the same execution. Again (on the
    // same connection) when the fleet could not take one more armed router in time.
    let res;
    for (let attempt = 1; ; attempt++) {
      events.phase(cfg.name, 'gathering');
      deferred = false;
      res = await converseScript(session, cfg.connection, beginScript(req, txn), {
        prompt: txnPrompt(txn.id),
        timeoutMs: opts.commandTimeoutMs,
        answer: async (before) => {
          head = parseBeginHead(before);
          const facts = parseGather(before, req);
          events.phase(cfg.name, 'planning');
          plan = planning.plan(facts);
          early = withoutTransaction(cfg, compiled, plan, opts, done);
          if (early) return '';
          const ops = plan.ops!;
          c.purges = ops.purge !== undefined;
          // The generation records the backend the plan chose (multilink_firewall auto).
          const desired = withBackend(compiled, plan.firewall ?? 'iptables', plan);
          c.desired = desired;
          const ipv6 = facts.v6 !== undefined;
          const scope = scopeOf({
            priorities: [...desired.rules.map((r) => r.priority), ...(facts.owned?.priorities ?? [])],
            tables: [...desired.routes.map((r) => r.table), ...(facts.owned?.tables ?? [])],
            ...(ipv6 ? { ipv6: true as const } : {}),
          });
          const sysctlKeys = [...new Set([...desired.sysctls.map((s) => s.key), ...Object.keys(facts.owned?.sysctls ?? {})])];
          const script = planScript({
            id: txn.id,
            priorGather: before,
            req,
            ops,
            desired,
            ownedBefore: facts.owned,
            prior: snapshotFromFacts(facts, scope, sysctlKeys),
            target: snapshotFromDesired(desired, ops.owned),
            scope,
            meta: transactionMeta(cfg, plan, opts),
            confirmTimeoutS: opts.confirmTimeoutS,
          });
          // No more routers armed than the fleet confirms in time (arm-gate.ts).
          if (opts.gate && !(await opts.gate.beforeArm(cfg.name, (waitS * 1000) / 2))) {
            deferred = true;
            return '';
          }
          events.phase(cfg.name, 'applying');
          return script.text;
        },
        onSent: () => {
          sentAt = Date.now();
        },
      });
      if (!deferred) break;
      if (attempt >= 5) return note(done({ outcome: 'failed', message: `nothing was changed: the fleet's confirmations ran late, and this router was not armed in ${attempt} tries`, changes: [] }));
      await opts.gate?.beforeStart();
    }
    if (early) return note(early);
    if (!res.prompted) {
      head = parseBeginHead(res.before);
      if (head.locked !== undefined) return note(done({ outcome: 'failed', message: `nothing was changed: another deploy holds the lock on this router (${head.locked})`, changes: [] }));
      const err = res.stderr.trim();
      return note(done({ outcome: 'failed', message: `nothing was changed: the transaction could not start (exit ${res.code ?? 'signal'})${err ? `: ${err}` : ''}`, changes: [], command: 'transaction', exitCode: res.code, stderr: res.stderr }));
    }
    if (sentAt === undefined) {
      // The router's execution ended while the plan was being made (or while this controller
      // was frozen, past the router's plan deadline): it never had it.
      const ended = parseRunReply(res.after);
      const why = ended.kind === 'ended' ? `: it ended the transaction (${ended.why})` : '';
      return note(done({ outcome: 'failed', message: `nothing was changed: the router's execution ended (exit ${res.code ?? 'signal'}) before the plan was sent${why}`, changes: [] }));
    }
    const changes = plan!.changes;
    const reply = parseRunReply(res.after);
    if (reply.kind === 'ended') {
      return note(done({ outcome: 'failed', message: `nothing was changed: the router ended the transaction before it was armed (${reply.why})`, changes: [] }));
    }
    const base: TxnBase = { changes, ...(reply.generation !== undefined ? { generation: reply.generation } : {}) };
    if (reply.failure) {
      const f = reply.failure;
      const detail = { command: f.command, exitCode: f.exitCode, stderr: f.stderr };
      const what = `\`${f.command}\` exited ${f.exitCode}: ${f.stderr}`;
      if (reply.restore?.kind === 'restored') return note(done({ ...base, ...detail, outcome: 'rolled_back', message: `${what}; the prior state was restored and verified` }));
      if (reply.restore) {
        const run = fromSettled(reply.restore, what, base, done);
        return note({ ...run, result: { ...run.result, ...detail } });
      }
      // The dead-man timer took the transaction first: ask the router what it did.
      await session.close().catch(() => undefined);
      session = undefined;
      const run = await afterLostContact(c, sentAt!, what, base);
      return note({ ...run, result: { ...run.result, ...detail } });
    }
    await session.close().catch(() => undefined);
    session = undefined;
    if (!reply.applied) return note(await afterLostContact(c, sentAt!, `the transaction ended without a result (exit ${res.code ?? 'signal'})`, base));

    // Execution 2, over a NEW connection: a rule set that cut the SSH path cannot be confirmed.
    let connected = false;
    let run: HostRun | 'ask again';
    let why = '';
    try {
      session = await connectHost(transport, cfg, opts, true);
      connected = true;
      run = await control(session, c, 'the confirmation came too late', base);
    } catch (e) {
      if (!(e instanceof UnreachableError) && !(e instanceof ExecTimeoutError)) throw e;
      run = 'ask again';
      why = connected ? `contact lost while confirming (${hostReason(e)})` : `could not reconnect to confirm (${hostReason(e)})`;
    } finally {
      await session?.close().catch(() => undefined);
      session = undefined;
    }
    if (run === 'ask again') run = await afterLostContact(c, sentAt!, why || 'the confirmation did not land', base);
    return note(run);
  } catch (e) {
    if (sentAt !== undefined && (e instanceof UnreachableError || e instanceof ExecTimeoutError)) {
      // The plan may have reached the router: it may be armed. Never report "nothing changed".
      await session?.close().catch(() => undefined);
      session = undefined;
      const run = await afterLostContact(c, sentAt, `contact lost after the plan was sent (${hostReason(e)})`, { changes: plan?.changes ?? [] });
      return note(run);
    }
    if (sentAt !== undefined) {
      const msg = hostReason(e);
      return note(done({ outcome: 'failed', message: `${msg}; the plan had been sent: unless it is confirmed, the router's dead-man timer restores the prior state after ${opts.confirmTimeoutS} s — run drift`, changes: plan?.changes ?? [] }));
    }
    // Before the plan was sent nothing that multilink owns was changed.
    if (e instanceof UnreachableError) return note(done({ outcome: 'unreachable', message: `${e.reason}; nothing was changed`, changes: [] }));
    const err = e as HostFailure;
    return note(done({ outcome: 'failed', message: `nothing was changed: ${hostReason(e)}`, changes: [], command: err.command, exitCode: err.exitCode, stderr: err.stderr }));
  } finally {
    opts.gate?.settled(cfg.name);
    await session?.close().catch(() => undefined);
  }
}
