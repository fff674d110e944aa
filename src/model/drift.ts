// DriftReport: what `multilink drift` found per host, as plain serialisable data.
import type { ChangeKind, ChangeOp } from './plan.js';
import type { LinkState } from './link-state.js';
import type { Shard } from '../util/shard.js';

export type DriftStatus = 'in_sync' | 'drift' | 'unreachable' | 'error';
export const DRIFT_STATUSES: readonly DriftStatus[] = ['in_sync', 'drift', 'unreachable', 'error'];

export interface Difference {
  kind: ChangeKind;
  /**
   * What deploy would do about it, or `clash`: an object multilink does not own stands in
   * its way (e.g. a foreign ip rule in one of its tables); deploy refuses to touch those.
   */
  op: ChangeOp | 'clash';
  /** E.g. "mangle ML_BALANCE", "rule 1000", "net/ipv4/conf/wan1/rp_filter". */
  object: string;
  /** Compiled state; absent when the object should not exist. */
  expected?: string;
  /** Live state; absent when the object is missing. */
  actual?: string;
  /** Why, for a clash. */
  detail?: string;
}

export interface HostDrift {
  host: string;
  status: DriftStatus;
  differences: Difference[];
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
