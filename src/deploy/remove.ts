// One host's `remove`: a look first (one gather, no lock), so a host with nothing of
// multilink's is left exactly as it is (taking the lock would make a state folder); then the
// same transaction as a deploy towards nothing (plan/remove.ts), whose confirmation deletes the
// boot hook and the state and run folders (src/remote/txn-purge.sh).
import type { HostRef } from '../model/config.js';
import type { HostEvents } from '../model/events.js';
import type { HostFacts } from '../model/facts.js';
import type { HostPlan } from '../model/plan.js';
import type { Transport } from '../transport/transport.js';
import { planRemove, removalDesired, removalRequest } from '../plan/remove.js';
import { checkHost, deployHost, type Done, type HostRun, type Planning, type RunOptions } from './host.js';

export function removePlanning(ref: HostRef): Planning {
  return {
    req: removalRequest(ref.settings),
    plan: (facts: HostFacts) => planRemove(ref.name, ref.settings, facts),
    verify: (facts: HostFacts) => planRemove(ref.name, ref.settings, facts, { purge: false }),
  };
}

export async function removeHost(ref: HostRef, transport: Transport, opts: RunOptions, events: HostEvents): Promise<HostRun> {
  const started = Date.now();
  const desired = removalDesired(ref.name, ref.settings);
  const planning = removePlanning(ref);
  let plan: HostPlan | undefined;
  const done: Done = (r) => ({ result: { host: ref.name, durationMs: Date.now() - started, ...r }, plan });
  const look = await checkHost(ref, desired, transport, { ...opts, check: true }, events, done, (p) => (plan = p), planning);
  // Said as deploy says it: an unreachable host's reason first, a failure's after.
  if (!opts.check && look.result.outcome === 'failed') look.result.message = `nothing was changed: ${look.result.message ?? ''}`;
  if (!opts.check && look.result.outcome === 'unreachable') look.result.message = `${look.result.message ?? ''}; nothing was changed`;
  if (opts.check || look.result.outcome !== 'would_change') return look;
  const run = await deployHost(ref, desired, transport, { ...opts, check: false, command: 'remove' }, events, planning);
  run.result.durationMs = Date.now() - started;
  return run;
}
