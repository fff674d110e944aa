// Drift: the plan read as a list of differences between a host and its compiled state.
// Pure. What deploy would change is drift; so is a foreign ip rule in multilink's
// priorities, tables or mark bits (deploy refuses to touch it, but it changes where
// marked traffic goes). Any other refusal (a missing interface, a foreign rule writing our
// mark bits, a foreign route in one of our tables) means the host could not be checked.
import { formatDiagnostic } from '../diagnostics.js';
import type { DesiredState } from '../model/desired.js';
import type { DriftStatus } from '../model/drift.js';
import type { HostFacts } from '../model/facts.js';
import type { Change, HostPlan } from '../model/plan.js';
import { planHost } from './plan.js';

export interface DriftVerdict {
  status: Exclude<DriftStatus, 'unreachable'>;
  differences: Change[];
  message?: string;
  plan: HostPlan;
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

export function classifyDrift(desired: DesiredState, facts: HostFacts): DriftVerdict {
  const plan = planHost(desired, facts);
  const differences = [...plan.changes, ...plan.clashes];
  if (plan.action === 'noop') return { status: 'in_sync', differences, message: plan.reason, plan };
  if (plan.action === 'change') return { status: 'drift', differences, message: plural(differences.length, 'difference'), plan };
  const others = plan.diagnostics.filter((d) => d.severity === 'error' && d.kind !== 'clash');
  if (others.length > 0) {
    return { status: 'error', differences, message: `cannot be compared: ${others.map(formatDiagnostic).join('; ')}`, plan };
  }
  return {
    status: 'drift',
    differences,
    message: `${plural(differences.length, 'difference')} (${plural(plan.clashes.length, 'foreign ip rule')} deploy will not touch)`,
    plan,
  };
}

export function driftExitCode(statuses: DriftStatus[]): 0 | 1 | 2 {
  if (statuses.some((s) => s === 'unreachable' || s === 'error')) return 1;
  if (statuses.some((s) => s === 'drift')) return 2;
  return 0;
}
