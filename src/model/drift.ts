// DriftReport: what `multilink drift` found per host, as plain serialisable data.
import type { Change } from './plan.js';
import type { LinkState } from './link-state.js';
import type { Shard } from '../util/shard.js';

export type DriftStatus = 'in_sync' | 'drift' | 'unreachable' | 'error';
export const DRIFT_STATUSES: readonly DriftStatus[] = ['in_sync', 'drift', 'unreachable', 'error'];

export interface HostDrift {
  host: string;
  status: DriftStatus;
  /** What deploy would change, and clashes with objects multilink does not own. */
  differences: Change[];
  /** Why in sync, or why the host could not be checked. */
  message?: string;
  /** Link state from a health monitor, when there is one: reported, never counted as drift. */
  links?: LinkState[];
}

export interface DriftReport {
  command: 'drift';
  hosts: HostDrift[];
  summary: Record<DriftStatus, number>;
  /** With --shard: which share of the targeted hosts this is. */
  shard?: Shard;
}
