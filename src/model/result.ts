// HostResult: how each host ended, as SPEC names the outcomes.
import type { Change } from './plan.js';

export type HostOutcome = 'unchanged' | 'changed' | 'rolled_back' | 'failed' | 'unreachable' | 'skipped' | 'would_change';

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
