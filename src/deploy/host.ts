// One host's deploy: connect, gather, plan, then (unless --check) run the transaction:
// apply detached on the router under a dead-man timer, confirm over a NEW connection that
// the host is reachable and its live state equals the compiled one, then keep.
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { HostConfig } from '../model/config.js';
import type { DesiredState } from '../model/desired.js';
import type { HostFacts } from '../model/facts.js';
import type { HostPlan } from '../model/plan.js';
import type { HostResult } from '../model/result.js';
import type { Session, Transport } from '../transport/transport.js';
import { UnreachableError } from '../errors.js';
import { formatDiagnostic } from '../diagnostics.js';
import { gatherScript, parseGather, type GatherRequest } from '../facts/gather.js';
import { gatherRequest, planHost } from '../plan/plan.js';
import { DONE, parseApplyFailure } from '../apply/script.js';
import { scopeOf, snapshotFromDesired, snapshotFromFacts } from '../apply/snapshot.js';
import {
  CONFIRMED,
  disarmScript,
  GENERATION,
  LOCKED,
  NOT_MINE,
  RESTORE_FAILED,
  RESTORED,
  restoreNowScript,
  STALE_LOCK,
  STALE_PLAN,
  transactionScript,
  TOO_LATE,
  transactionStatusScript,
  waitAppliedScript,
} from '../apply/transaction.js';
import { runScript } from './remote.js';
import { ExecTimeoutError } from '../transport/exec-timeout-error.js';
import { bootSteps } from '../apply/boot.js';

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

export type HostPhase = 'connecting' | 'gathering' | 'planning' | 'applying' | 'confirming' | 'restoring' | 'waiting for the dead-man timer';

export interface HostEvents {
  phase(host: string, phase: HostPhase): void;
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

function markerLine(stdout: string, marker: string): string | undefined {
  const line = stdout.split('\n').find((l) => l === marker || l.startsWith(`${marker} `));
  return line === undefined ? undefined : line.slice(marker.length).trim();
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Done = (r: Omit<HostResult, 'host' | 'durationMs'>) => HostRun;

/** What every outcome after the transaction started carries. */
interface TxnBase {
  changes: HostResult['changes'];
  generation?: number;
}

/**
 * Reads what a router says about a transaction that is no longer armed: restored (verified),
 * a failed restore (loud), or taken over by a later deploy.
 */
function settled(text: string, why: string, rest: TxnBase, done: Done): HostRun {
  const body = text.replace(new RegExp(`^${TOO_LATE}\\s*`), '').trim();
  if (body.startsWith(NOT_MINE)) return done({ ...rest, outcome: 'failed', message: `${why}; another deploy has since started on this router: its state is not known here — run drift` });
  if (body.startsWith('restored')) return done({ ...rest, outcome: 'rolled_back', message: `${why}; the router ${body.split('\n')[0]}` });
  if (body.startsWith('RESTORE FAILED')) return done({ ...rest, outcome: 'failed', message: `${why}; AND THE RESTORE FAILED: ${body}` });
  return done({ ...rest, outcome: 'failed', message: `${why}; transaction state on the router: ${body || 'unknown'} — run drift` });
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
      const status = (await runScript(session, cfg.connection, waitAppliedScript(state) + transactionStatusScript(state, id), opts.commandTimeoutMs)).stdout.trim();
      // The apply finished while we were away; confirm as usual on this new connection.
      if (status === 'armed') return await confirm(session, cfg, desired, opts, events, done, base, id);
      if (status === 'confirmed') return done({ ...base, outcome: 'changed', message: 'confirmed' });
      return settled(status, why, base, done);
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
    const res = await runScript(session, cfg.connection, disarmScript(state, id, bootSteps(cfg.settings.boot, state)), opts.commandTimeoutMs);
    const confirmed = markerLine(res.stdout, CONFIRMED);
    if (confirmed !== undefined) {
      const generation = Number(confirmed);
      return done({ ...rest, generation, outcome: 'changed', message: `${rest.changes.length} changes applied and confirmed (generation ${generation})` });
    }
    return settled(res.stdout, 'the confirmation came too late', rest, done);
  }
  events.phase(cfg.name, 'restoring');
  const left = after.changes.map((c) => `${c.kind} ${c.object}`).join(', ') || after.reason;
  const why = `live state differed from the compiled state after apply (${left})`;
  const res = await runScript(session, cfg.connection, restoreNowScript(state, id, 'live state differed after apply'), opts.commandTimeoutMs);
  if (markerLine(res.stdout, RESTORED) !== undefined) return done({ ...rest, outcome: 'rolled_back', message: `${why}; the prior state was restored and verified` });
  if (markerLine(res.stdout, RESTORE_FAILED) !== undefined) return done({ ...rest, outcome: 'failed', message: `${why} AND THE RESTORE FAILED: ${res.stdout.trim()}` });
  return settled(res.stdout, why, rest, done);
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
      return done({ outcome: 'failed', message: `nothing was changed: ${plan.diagnostics.map(formatDiagnostic).join('; ')}`, changes: [] });
    }
    if (plan.action === 'noop') return done({ outcome: 'unchanged', message: plan.reason, changes: [] });
    if (opts.balanceOnly) {
      // The monitor's script carries the precompiled chains, so it changes with the weights;
      // the restarted monitor keeps its saved link states and loads the chain for them.
      const balance = `${desired.balanceChain.table} ${desired.balanceChain.name}`;
      const monitorScript = `${desired.settings.stateDir}/monitor/monitor.sh`;
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
      stateDir: desired.settings.stateDir,
      req,
      priorGather,
      ops,
      ownedBefore: facts.owned,
      prior: snapshotFromFacts(facts, scope, sysctlKeys),
      target: snapshotFromDesired(desired, ops.owned, ops.flavour),
      scope,
      desiredJson: JSON.stringify(desired),
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
    const locked = markerLine(out, LOCKED);
    if (locked !== undefined) return done({ outcome: 'failed', message: `nothing was changed: another deploy holds the lock on this router (${locked || 'holder unknown'})`, changes: [] });
    if (markerLine(out, STALE_PLAN) !== undefined) return done({ outcome: 'failed', message: 'nothing was changed: the router changed between gather and apply (stale plan); run again', changes: [] });
    const stale = markerLine(out, STALE_LOCK);
    const generation = Number(markerLine(out, GENERATION));
    const base: TxnBase = { changes: plan.changes, generation: Number.isFinite(generation) ? generation : undefined };
    const failure = parseApplyFailure(out);
    if (failure) {
      const detail = { command: failure.command, exitCode: failure.exitCode, stderr: failure.stderr };
      const what = `\`${failure.command}\` exited ${failure.exitCode}: ${failure.stderr}`;
      if (markerLine(out, RESTORED) !== undefined) return done({ ...base, ...detail, outcome: 'rolled_back', message: `${what}; the prior state was restored and verified` });
      return done({ ...base, ...detail, outcome: 'failed', message: `${what}; AND THE RESTORE FAILED: ${out.slice(out.indexOf(RESTORE_FAILED)).trim()}` });
    }
    if (!out.includes(DONE)) throw new HostFailure(`the transaction ended without a result: ${out.trim().slice(-500)}`, 'transaction');
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
