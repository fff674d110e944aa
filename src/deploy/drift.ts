// `drift` per host: connect, gather in one round trip (the gather deploy uses), plan, and
// read the plan as differences. Nothing that changes anything ever runs.
import type { HostConfig } from '../model/config.js';
import type { DesiredState } from '../model/desired.js';
import { DRIFT_STATUSES, type DriftReport, type DriftStatus, type HostDrift } from '../model/drift.js';
import type { Session, Transport } from '../transport/transport.js';
import { hostReason, UnreachableError } from '../errors.js';
import { classifyDrift } from '../plan/drift.js';
import { connectHost, gatherFacts } from './host.js';
import { runPool } from '../util/pool.js';

export interface CheckOptions {
  acceptNewHostKeys: boolean;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
}

export async function driftHost(cfg: HostConfig, desired: DesiredState, transport: Transport, opts: CheckOptions): Promise<HostDrift> {
  let session: Session | undefined;
  try {
    session = await connectHost(transport, cfg, opts);
    const facts = await gatherFacts(session, cfg, desired, opts.commandTimeoutMs);
    const verdict = classifyDrift(desired, facts);
    // Links the monitor took out: reported as link state, never as drift.
    const links = verdict.plan.links;
    return {
      host: cfg.name,
      status: verdict.status,
      differences: verdict.differences,
      ...(verdict.message ? { message: verdict.message } : {}),
      ...(links ? { links } : {}),
    };
  } catch (e) {
    if (e instanceof UnreachableError) return { host: cfg.name, status: 'unreachable', differences: [], message: e.reason };
    return { host: cfg.name, status: 'error', differences: [], message: hostReason(e) };
  } finally {
    await session?.close().catch(() => undefined);
  }
}

export function countStatuses<S extends string>(statuses: readonly S[], all: readonly S[]): Record<S, number> {
  const counts = Object.fromEntries(all.map((s) => [s, 0])) as Record<S, number>;
  for (const s of statuses) counts[s] += 1;
  return counts;
}

/** Every targeted host, `forks` at a time; `onHost` hears each one as it finishes. */
export async function driftFleet(
  targets: { cfg: HostConfig; desired: DesiredState }[],
  transport: Transport,
  opts: CheckOptions & { forks: number },
  onHost: (h: HostDrift) => void = () => undefined,
): Promise<DriftReport> {
  const hosts = await runPool(targets, opts.forks, async (t) => {
    const h = await driftHost(t.cfg, t.desired, transport, opts);
    onHost(h);
    return h;
  });
  return { command: 'drift', hosts, summary: countStatuses<DriftStatus>(hosts.map((h) => h.status), DRIFT_STATUSES) };
}
