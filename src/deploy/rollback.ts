// Rollback: fetch a confirmed generation's compiled state from the router and deploy it
// through the same transaction and confirmation as any deploy (it becomes a new generation).
import type { HostConfig } from '../model/config.js';
import type { DesiredState } from '../model/desired.js';
import type { Transport } from '../transport/transport.js';
import { hostReason, UnreachableError } from '../errors.js';
import type { HostEvents } from '../model/events.js';
import { generationsCommand, parseGenerations } from '../facts/generations.js';
import { sectionReader } from '../facts/gather.js';
import { StateLayout } from '../shell/layout.js';
import { lines, section, shellLib } from '../shell/lib.js';
import { sh, type Sh } from '../shell/sh.js';
import { connectHost, deployHost, type HostRun, type RunOptions } from './host.js';
import { runScript } from './remote.js';
import { storedDesiredProblems, upgradeStoredDesired } from './stored-desired.js';

function fetchScript(stateDir: string, generation: number | undefined): Sh {
  const desired = generation === undefined ? undefined : `${new StateLayout(stateDir).generation(generation)}/desired.json`;
  return lines(shellLib('none'), section('generations', generationsCommand(stateDir)), desired !== undefined && section('desired', sh`cat ${desired} 2>/dev/null || true`));
}


export async function rollbackHost(cfg: HostConfig, transport: Transport, opts: RunOptions, events: HostEvents, wanted?: number): Promise<HostRun> {
  const started = Date.now();
  const fail = (outcome: 'failed' | 'unreachable', message: string): HostRun => ({ result: { host: cfg.name, outcome, message, changes: [], durationMs: Date.now() - started } });
  const state = cfg.settings.stateDir;
  let desired: DesiredState;
  let generation: number;
  const session = await connectHost(transport, cfg, opts).catch((e: unknown) => e as Error);
  if (session instanceof Error) return fail(session instanceof UnreachableError ? 'unreachable' : 'failed', hostReason(session));
  try {
    events.phase(cfg.name, 'gathering');
    const listing = await runScript(session, cfg.connection, fetchScript(state, undefined), opts.commandTimeoutMs);
    const gens = parseGenerations(sectionReader(listing.stdout, 'rollback').get('generations'));
    const confirmed = gens.list.filter((g) => g.confirmed).map((g) => g.n);
    if (wanted === undefined) {
      const earlier = confirmed.filter((n) => gens.current !== null && n < gens.current);
      if (earlier.length === 0) return fail('failed', `nothing was changed: no confirmed generation before the current one (${gens.current ?? 'none'}) in ${state}`);
      generation = earlier[earlier.length - 1];
    } else {
      if (!confirmed.includes(wanted)) return fail('failed', `nothing was changed: no confirmed generation ${wanted} in ${state} (confirmed: ${confirmed.join(', ') || 'none'})`);
      generation = wanted;
    }
    const fetched = await runScript(session, cfg.connection, fetchScript(state, generation), opts.commandTimeoutMs);
    const json = sectionReader(fetched.stdout, 'rollback').get('desired').trim();
    let parsed: unknown;
    try {
      parsed = upgradeStoredDesired(JSON.parse(json));
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined) return fail('failed', `nothing was changed: generation ${generation}'s desired.json is missing or unreadable`);
    const problems = storedDesiredProblems(parsed, cfg);
    if (problems.length > 0) return fail('failed', `nothing was changed: generation ${generation}'s desired.json does not check out (${problems.join('; ')})`);
    desired = parsed as DesiredState;
  } catch (e) {
    return fail(e instanceof UnreachableError ? 'unreachable' : 'failed', hostReason(e));
  } finally {
    await session.close().catch(() => undefined);
  }
  const run = await deployHost(cfg, desired, transport, { ...opts, command: `rollback to generation ${generation}` }, events);
  if (run.result.message) run.result.message = `rollback to generation ${generation}: ${run.result.message}`;
  run.result.durationMs = Date.now() - started;
  return run;
}
