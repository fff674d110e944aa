// One host's deploy: connect, gather, plan, and (unless --check) apply then confirm over a
// new connection that the live state equals the compiled one.
import type { HostConfig } from '../model/config.js';
import type { DesiredState } from '../model/desired.js';
import type { HostFacts } from '../model/facts.js';
import type { HostPlan } from '../model/plan.js';
import type { HostResult } from '../model/result.js';
import type { Session, Transport } from '../transport/transport.js';
import { UnreachableError } from '../errors.js';
import { formatDiagnostic } from '../diagnostics.js';
import { gatherScript, parseGather } from '../facts/gather.js';
import { gatherRequest, planHost } from '../plan/plan.js';
import { applyScript, DONE, parseApplyFailure } from '../apply/script.js';
import { runScript } from './remote.js';

export interface RunOptions {
  check: boolean;
  acceptNewHostKeys: boolean;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
}

export type HostPhase = 'connecting' | 'gathering' | 'planning' | 'applying' | 'confirming';

export interface HostEvents {
  phase(host: string, phase: HostPhase): void;
}

export interface HostRun {
  result: HostResult;
  plan?: HostPlan;
}

async function connect(transport: Transport, cfg: HostConfig, opts: RunOptions): Promise<Session> {
  return transport.connect(
    { name: cfg.name, connection: cfg.connection, knownHosts: cfg.settings.knownHosts },
    { acceptNewHostKeys: opts.acceptNewHostKeys, timeoutMs: opts.connectTimeoutMs },
  );
}

/** One round trip: the gather script, parsed. */
export async function gatherFacts(session: Session, cfg: HostConfig, desired: DesiredState, timeoutMs: number): Promise<HostFacts> {
  const req = gatherRequest(desired);
  const res = await runScript(session, cfg.connection, gatherScript(req), timeoutMs);
  if (res.code !== 0) {
    throw new HostFailure(`gathering facts failed (exit ${res.code ?? 'signal'})${res.stderr.trim() ? `: ${res.stderr.trim()}` : ''}`, 'gather script', res.code, res.stderr);
  }
  return parseGather(res.stdout, req);
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

export async function deployHost(
  cfg: HostConfig,
  desired: DesiredState,
  transport: Transport,
  opts: RunOptions,
  events: HostEvents,
): Promise<HostRun> {
  const started = Date.now();
  const done = (r: Omit<HostResult, 'host' | 'durationMs'>, plan?: HostPlan): HostRun => ({
    result: { host: cfg.name, durationMs: Date.now() - started, ...r },
    plan,
  });
  let session: Session | undefined;
  let plan: HostPlan | undefined;
  try {
    events.phase(cfg.name, 'connecting');
    session = await connect(transport, cfg, opts);
    events.phase(cfg.name, 'gathering');
    const facts = await gatherFacts(session, cfg, desired, opts.commandTimeoutMs);
    events.phase(cfg.name, 'planning');
    plan = planHost(desired, facts);
    if (plan.action === 'refused') {
      return done({ outcome: 'failed', message: `nothing was changed: ${plan.diagnostics.map(formatDiagnostic).join('; ')}`, changes: [] }, plan);
    }
    if (plan.action === 'noop') return done({ outcome: 'unchanged', message: plan.reason, changes: [] }, plan);
    if (opts.check) return done({ outcome: 'would_change', message: `${plan.changes.length} changes needed`, changes: plan.changes }, plan);

    events.phase(cfg.name, 'applying');
    const script = applyScript({ ops: plan.ops!, stateDir: desired.settings.stateDir, ownedBefore: facts.owned });
    const res = await runScript(session, cfg.connection, script, opts.commandTimeoutMs);
    const failure = parseApplyFailure(res.stdout);
    if (failure) {
      return done(
        { outcome: 'failed', message: `\`${failure.command}\` exited ${failure.exitCode}: ${failure.stderr}`, changes: plan.changes, command: failure.command, exitCode: failure.exitCode, stderr: failure.stderr },
        plan,
      );
    }
    if (res.code !== 0 || !res.stdout.includes(DONE)) {
      throw new HostFailure(`apply script ended with exit ${res.code ?? 'signal'} before finishing`, 'apply script', res.code, res.stderr);
    }
    await session.close();
    session = undefined;

    // Confirm over a NEW connection: the host is still reachable and matches the compiled state.
    events.phase(cfg.name, 'confirming');
    session = await connect(transport, cfg, opts);
    const after = planHost(desired, await gatherFacts(session, cfg, desired, opts.commandTimeoutMs));
    if (after.action !== 'noop') {
      const left = after.changes.map((c) => `${c.kind} ${c.object}`).join(', ');
      return done({ outcome: 'failed', message: `live state differs from the compiled state after apply: ${left || after.reason}`, changes: plan.changes }, plan);
    }
    return done({ outcome: 'changed', message: `${plan.changes.length} changes applied`, changes: plan.changes }, plan);
  } catch (e) {
    if (e instanceof UnreachableError) return done({ outcome: 'unreachable', message: e.message, changes: [] }, plan);
    const err = e as HostFailure;
    return done({ outcome: 'failed', message: err.message, changes: [], command: err.command, exitCode: err.exitCode, stderr: err.stderr }, plan);
  } finally {
    await session?.close().catch(() => undefined);
  }
}
