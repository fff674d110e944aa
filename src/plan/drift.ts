// Drift: the plan read as a list of differences between a host and its compiled state.
// Pure. What deploy would change is drift; so is a foreign ip rule in multilink's
// priorities, tables or mark bits (deploy refuses to touch it, but it changes where
// marked traffic goes). Any other refusal (a missing interface, a foreign rule writing our
// mark bits, a foreign route in one of our tables) means the host could not be checked.
import { Diagnostics, formatDiagnostic, type Diagnostic } from '../diagnostics.js';
import type { DesiredState } from '../model/desired.js';
import type { Difference, DriftStatus } from '../model/drift.js';
import type { HostFacts, LiveRule } from '../model/facts.js';
import type { Change, HostPlan } from '../model/plan.js';
import { ruleShowText } from '../render/ip.js';
import { planIpRules } from './ip-rules.js';
import { planHost } from './plan.js';

export interface DriftVerdict {
  status: Exclude<DriftStatus, 'unreachable'>;
  differences: Difference[];
  message?: string;
  plan: HostPlan;
}

function fromChange(c: Change): Difference {
  return {
    kind: c.kind,
    op: c.op,
    object: c.object,
    ...(c.expected !== undefined ? { expected: c.expected } : {}),
    ...(c.actual !== undefined ? { actual: c.actual } : {}),
  };
}

/** The live rule a clash diagnostic is about: its text is quoted in the summary, next to its priority. */
function clashedRule(d: Diagnostic, facts: HostFacts): LiveRule | undefined {
  return facts.ipRules.find(
    (l) => d.summary.includes(`"${l.text}"`) && (d.summary.includes(`priority ${l.priority} `) || d.summary.includes(`ip rule ${l.priority} `)),
  );
}

function ruleClash(d: Diagnostic, desired: DesiredState, facts: HostFacts): Difference {
  const detail = d.detail ? `${d.summary} (${d.detail})` : d.summary;
  const live = clashedRule(d, facts);
  if (!live) return { kind: 'rule', op: 'clash', object: 'ip rules', detail };
  const wanted = desired.rules.find((r) => r.priority === live.priority);
  return {
    kind: 'rule',
    op: 'clash',
    object: `rule ${live.priority}`,
    ...(wanted ? { expected: ruleShowText(wanted) } : {}),
    actual: live.text,
    detail,
  };
}

export function classifyDrift(desired: DesiredState, facts: HostFacts): DriftVerdict {
  const plan = planHost(desired, facts);
  const differences = plan.changes.map(fromChange);
  if (plan.action === 'noop') return { status: 'in_sync', differences, message: plan.reason, plan };
  if (plan.action === 'change') return { status: 'drift', differences, message: `${differences.length} difference${differences.length === 1 ? '' : 's'}`, plan };

  // Refused: tell the ip rule clashes (the same checks, run on their own) from the rest.
  const ruleDiags = new Diagnostics();
  planIpRules(desired, facts, ruleDiags);
  const ruleSummaries = new Set(ruleDiags.items.map((d) => d.summary));
  const errors = plan.diagnostics.filter((d) => d.severity === 'error');
  const clashes = errors.filter((d) => ruleSummaries.has(d.summary));
  const others = errors.filter((d) => !ruleSummaries.has(d.summary));
  const all = [...differences, ...clashes.map((d) => ruleClash(d, desired, facts))];
  if (others.length > 0) {
    return { status: 'error', differences: all, message: `cannot be compared: ${others.map(formatDiagnostic).join('; ')}`, plan };
  }
  return { status: 'drift', differences: all, message: `${all.length} difference${all.length === 1 ? '' : 's'} (${clashes.length} foreign ip rule${clashes.length === 1 ? '' : 's'} deploy will not touch)`, plan };
}

export function driftExitCode(statuses: DriftStatus[]): 0 | 1 | 2 {
  if (statuses.some((s) => s === 'unreachable' || s === 'error')) return 1;
  if (statuses.some((s) => s === 'drift')) return 2;
  return 0;
}
