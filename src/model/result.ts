// HostResult: how each host ended, as SPEC names the outcomes.
import type { Change } from './plan.js';

export type HostOutcome = 'unchanged' | 'changed' | 'rolled_back' | 'failed' | 'unreachable' | 'skipped' | 'would_change';
/** Every outcome, for reading reports back (the Record makes the compiler check it is complete). */
export const HOST_OUTCOMES = Object.keys({
  unchanged: 0,
  changed: 0,
  rolled_back: 0,
  failed: 0,
  unreachable: 0,
  skipped: 0,
  would_change: 0,
} satisfies Record<HostOutcome, 0>) as readonly HostOutcome[];

export interface HostResult {
  host: string;
  outcome: HostOutcome;
  message?: string;
  changes: Change[];
  /** Failed remote command, when there was one. */
  command?: string;
  exitCode?: number | null;
  stderr?: string;
  durationMs: number;
  /** The generation recorded on the router by this run, when one was. */
  generation?: number;
}
