// One host's deploy: connect, gather, plan, then (unless --check) run the transaction:
// apply detached on the router under a dead-man timer, confirm over a NEW connection that
// the host is reachable and its live state equals the compiled one, then keep.
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { HostConfig } from '../model/config.js';
import type { DesiredState } from '../model/desired.js';
import type { HostEvents } from '../model/events.js';
import type { HostFacts } from '../model/facts.js';
import type { HostPlan } from '../model/plan.js';
import type { HostResult } from '../model/result.js';
import type { Session, Transport } from '../transport/transport.js';
import { UnreachableError } from '../errors.js';
import { formatDiagnostic } from '../diagnostics.js';
import { gatherRequest, type GatherRequest } from '../facts/gather-request.js';
import { gatherScript, parseGather } from '../facts/gather.js';
import { planHost } from '../plan/plan.js';
import { scopeOf, snapshotFromDesired, snapshotFromFacts } from '../apply/snapshot.js';
import { controlScript, transactionScript } from '../apply/transaction.js';
import { parseControlReply, parseStartReply, type ControlReply, type Settled } from '../remote/txn-reply.js';
import { StateLayout } from '../shell/layout.js';
import { runScript } from './remote.js';
import { ExecTimeoutError } from '../transport/exec-timeout-error.js';

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

export async function connectHost(transport: Transport, cfg: HostConfig, opts: Pick<RunOptions, 'acceptNewHostKeys' | 'connectTimeoutMs'>): Promise<Session> {
  return transport.connect(
    { name: cfg.name, connection: cfg.connection, knownHosts: cfg.settings.knownHosts },
    { acceptNewHostKeys: opts.acceptNewHostKeys, timeoutMs: opts.connectTimeoutMs },
  );
}

/** One round trip: the gather script, parsed; the raw output is kept to detect a stale plan. */
export async function gatherWithOutput(session: Session, cfg: HostConfig, req: GatherRequest, timeoutMs: number): Promise<{ facts: HostFacts; stdout: string }> {
  const res = await runScript(session, cfg.connection, gatherScript(req), timeoutMs);
  if (res.code !== 0) {
    throw new HostFailure(`gathering facts failed (exit ${res.code ?? 'signal'})${res.stderr.trim() ? `: ${res.stderr.trim()}` : ''}`, 'gather script', res.code, res.stderr);
  }
  return { facts: parseGather(res.stdout, req), stdout: res.stdout };
}

export async function gatherFacts(session: Session, cfg: HostConfig, desired: DesiredState, timeoutMs: number): Promise<HostFacts> {
  return (await gatherWithOutput(session, cfg, gatherRequest(desired), timeoutMs)).facts;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Done = (r: Omit<HostResult, 'host' | 'durationMs'>) => HostRun;

/** What every outcome after the transaction started carries. */
interface TxnBase {
  changes: HostResult['changes'];
  generation?: number;
}

/** The outcome of a transaction that is no longer armed, from the restore's verdict. */
function fromSettled(s: Settled, why: string, rest: TxnBase, done: Done): HostRun {
  switch (s.kind) {
    case 'restored':
      return done({ ...rest, outcome: 'rolled_back', message: `${why}; the router restored (${s.why}): the prior state is back and verified` });
    case 'restore-failed':
      return done({ ...rest, outcome: 'failed', message: `${why}; AND THE RESTORE FAILED (${s.why}): ${s.detail}` });
    case 'unsettled':
      return done({ ...rest, outcome: 'failed', message: `${why}; the transaction on the router ended without a verdict — run drift` });
  }
}

/** A control reply that is not a confirmation, read as the transaction's outcome. */
function fromControl(reply: ControlReply | undefined, why: string, rest: TxnBase, done: Done): HostRun {
  if (!reply) return done({ ...rest, outcome: 'failed', message: `${why}; the router's answer about the transaction could not be read — run drift` });
  switch (reply.kind) {
    case 'confirmed':
      return done({ ...rest, generation: reply.generation, outcome: 'changed', message: `${rest.changes.length} changes applied and confirmed (generation ${reply.generation})` });
    case 'armed':
      return done({ ...rest, outcome: 'failed', message: `${why}; the transaction is still armed: its dead-man timer will restore the prior state` });
    case 'not-mine':
      return done({ ...rest, outcome: 'failed', message: `${why}; another deploy has since started on this router: its state is not known here — run drift` });
    case 'no-generation':
      return done({ ...rest, outcome: 'failed', message: `${why}; the router recorded no generation for this transaction — run drift` });
    default:
      return fromSettled(reply, why, rest, done);
  }
}

/** Lost contact after the apply started: the router decides alone. Find out what it did. */
async function afterLostContact(cfg: HostConfig, desired: DesiredState, transport: Transport, opts: RunOptions, events: HostEvents, done: Done, armedAt: number, why: string, base: TxnBase, id: string): Promise<HostRun> {
  const state = desired.settings.stateDir;
  // First try at once: the connection may have been lost while the host itself is fine.
  const deadline = armedAt + opts.confirmTimeoutS * 1000 + 20_000;
  let tried = 0;
  while (Date.now() < deadline) {
    let session: Session | undefined;
    try {
      session = await connectHost(transport, cfg, opts);
      const reply = parseControlReply((await runScript(session, cfg.connection, controlScript({ stateDir: state, id, action: 'status' }), opts.commandTimeoutMs)).stdout);
      // The apply finished while we were away; confirm as usual on this new connection.
      if (reply?.kind === 'armed') return await confirm(session, cfg, desired, opts, events, done, base, id);
      return fromControl(reply, why, base, done);
    } catch (e) {
      if (!(e instanceof UnreachableError) && !(e instanceof ExecTimeoutError)) throw e;
      if (tried++ === 0) events.phase(cfg.name, 'waiting for the dead-man timer');
      await sleep(2000);
    } finally {
      await session?.close().catch(() => undefined);
    }
  }
  return done({
    ...base,
    outcome: 'failed',
    message: `${why}; the host is still unreachable ${Math.round((Date.now() - armedAt) / 1000)} s after the apply started: its dead-man timer was due to restore the prior state after ${opts.confirmTimeoutS} s — CHECK IT`,
  });
}

/** Round trips 3 and 4: gather on a new connection; disarm if it matches, else restore now. */
async function confirm(session: Session, cfg: HostConfig, desired: DesiredState, opts: RunOptions, events: HostEvents, done: Done, rest: TxnBase, id: string): Promise<HostRun> {
  events.phase(cfg.name, 'confirming');
  const state = desired.settings.stateDir;
  const after = planHost(desired, await gatherFacts(session, cfg, desired, opts.commandTimeoutMs));
  if (after.action === 'noop') {
    const res = await runScript(session, cfg.connection, controlScript({ stateDir: state, id, action: 'disarm' }, cfg.settings.boot), opts.commandTimeoutMs);
    return fromControl(parseControlReply(res.stdout), 'the confirmation came too late', rest, done);
  }
  events.phase(cfg.name, 'restoring');
  const left = after.changes.map((c) => `${c.kind} ${c.object}`).join(', ') || after.reason;
  const why = `live state differed from the compiled state after apply (${left})`;
  const res = await runScript(session, cfg.connection, controlScript({ stateDir: state, id, action: 'restore', why: 'live state differed after apply' }), opts.commandTimeoutMs);
  const reply = parseControlReply(res.stdout);
  if (reply?.kind === 'restored') return done({ ...rest, outcome: 'rolled_back', message: `${why}; the prior state was restored and verified` });
  return fromControl(reply, why, rest, done);
}

function transactionMeta(cfg: HostConfig, plan: HostPlan, opts: RunOptions): Record<string, string | number> {
  return { host: cfg.name, by: `${userInfo().username}@${hostname()}`, at: new Date().toISOString(), command: opts.command ?? 'deploy', changes: plan.changes.length };
}

export async function deployHost(cfg: HostConfig, desired: DesiredState, transport: Transport, opts: RunOptions, events: HostEvents): Promise<HostRun> {
  const started = Date.now();
  let plan: HostPlan | undefined;
  const done: Done = (r) => ({ result: { host: cfg.name, durationMs: Date.now() - started, ...r }, plan });
  let session: Session | undefined;
  try {
    events.phase(cfg.name, 'connecting');
    session = await connectHost(transport, cfg, opts);
    events.phase(cfg.name, 'gathering');
    const req = gatherRequest(desired);
    const { facts, stdout: priorGather } = await gatherWithOutput(session, cfg, req, opts.commandTimeoutMs);
    events.phase(cfg.name, 'planning');
    plan = planHost(desired, facts);
    if (plan.action === 'refused') {
      return done({ outcome: 'failed', message: `nothing was changed: ${plan.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic).join('; ')}`, changes: [] });
    }
    if (plan.action === 'noop') return done({ outcome: 'unchanged', message: plan.reason, changes: [] });
    if (opts.balanceOnly) {
      // The monitor's script carries the precompiled chains, so it changes with the weights;
      // the restarted monitor keeps its saved link states and loads the chain for them.
      const balance = `${desired.balanceChain.table} ${desired.balanceChain.name}`;
      const monitorScript = new StateLayout(desired.settings.stateDir).monitorScript;
      const other = plan.changes.filter((c) => !(c.kind === 'iptables' && c.object === balance) && !(c.kind === 'file' && c.object === monitorScript));
      if (other.length > 0) {
        return done({ outcome: 'failed', message: `nothing was changed: besides its balancing chain this host differs from its compiled state (${other.map((c) => `${c.kind} ${c.object}`).join(', ')}); run deploy`, changes: other });
      }
    }
    if (opts.check) return done({ outcome: 'would_change', message: `${plan.changes.length} changes needed`, changes: plan.changes });

    events.phase(cfg.name, 'applying');
    const ops = plan.ops!;
    const id = randomBytes(8).toString('hex');
    const scope = scopeOf({ priorities: [...desired.rules.map((r) => r.priority), ...(facts.owned?.priorities ?? [])], tables: [...desired.routes.map((r) => r.table), ...(facts.owned?.tables ?? [])] });
    const sysctlKeys = [...new Set([...desired.sysctls.map((s) => s.key), ...Object.keys(facts.owned?.sysctls ?? {})])];
    const script = transactionScript({
      req,
      priorGather,
      ops,
      desired,
      ownedBefore: facts.owned,
      prior: snapshotFromFacts(facts, scope, sysctlKeys),
      target: snapshotFromDesired(desired, ops.owned),
      scope,
      meta: transactionMeta(cfg, plan, opts),
      confirmTimeoutS: opts.confirmTimeoutS,
      id,
      leaseS: opts.confirmTimeoutS + Math.ceil((3 * opts.commandTimeoutMs) / 1000) + 30,
      holder: `${userInfo().username}@${hostname()} pid ${process.pid} since ${new Date().toISOString()}`,
    });
    const armedAt = Date.now();
    let out: string;
    try {
      out = (await runScript(session, cfg.connection, script, opts.commandTimeoutMs)).stdout;
    } catch (e) {
      // Once the script may have started, the router may be armed: never report "nothing changed".
      await session.close().catch(() => undefined);
      session = undefined;
      return await afterLostContact(cfg, desired, transport, opts, events, done, armedAt, `contact lost during apply (${(e as Error).message})`, { changes: plan.changes }, id);
    }
    const reply = parseStartReply(out);
    if (reply.kind === 'locked') return done({ outcome: 'failed', message: `nothing was changed: another deploy holds the lock on this router (${reply.holder || 'holder unknown'})`, changes: [] });
    if (reply.kind === 'stale-plan') return done({ outcome: 'failed', message: 'nothing was changed: the router changed between gather and apply (stale plan); run again', changes: [] });
    const stale = reply.tookOver;
    const base: TxnBase = { changes: plan.changes, ...(reply.generation !== undefined ? { generation: reply.generation } : {}) };
    if (reply.failure) {
      const f = reply.failure;
      const detail = { command: f.command, exitCode: f.exitCode, stderr: f.stderr };
      const what = `\`${f.command}\` exited ${f.exitCode}: ${f.stderr}`;
      if (reply.restore?.kind === 'restored') return done({ ...base, ...detail, outcome: 'rolled_back', message: `${what}; the prior state was restored and verified` });
      if (reply.restore) {
        const run = fromSettled(reply.restore, what, base, done);
        return { ...run, result: { ...run.result, ...detail } };
      }
      // The dead-man timer took the transaction first: ask the router what it did.
      await session.close().catch(() => undefined);
      session = undefined;
      return await afterLostContact(cfg, desired, transport, opts, events, done, armedAt, what, base, id);
    }
    if (!reply.applied) throw new HostFailure(`the transaction ended without a result: ${out.trim().slice(-500)}`, 'transaction');
    await session.close();
    session = undefined;

    // Confirm over a NEW connection: a rule set that cut the SSH path cannot be confirmed.
    let run: HostRun;
    let connected = false;
    try {
      session = await connectHost(transport, cfg, opts);
      connected = true;
      run = await confirm(session, cfg, desired, opts, events, done, base, id);
    } catch (e) {
      await session?.close().catch(() => undefined);
      session = undefined;
      const why = connected ? `contact lost while confirming (${(e as Error).message})` : `could not reconnect to confirm (${(e as Error).message})`;
      return await afterLostContact(cfg, desired, transport, opts, events, done, armedAt, why, base, id);
    }
    if (stale !== undefined && run.result.message) run.result.message += ` (took over a stale lock of ${stale})`;
    return run;
  } catch (e) {
    if (e instanceof UnreachableError) return done({ outcome: 'unreachable', message: e.message, changes: [] });
    const err = e as HostFailure;
    return done({ outcome: 'failed', message: err.message, changes: [], command: err.command, exitCode: err.exitCode, stderr: err.stderr });
  } finally {
    await session?.close().catch(() => undefined);
  }
}
