// HostPlan: plain, serialisable data with a closed set of actions (Terraform style).
import type { Diagnostic } from '../diagnostics.js';

export type ChangeKind = 'iptables' | 'rule' | 'route' | 'sysctl' | 'module' | 'file';
export type ChangeOp = 'create' | 'delete' | 'update';

export interface Change {
  kind: ChangeKind;
  op: ChangeOp;
  /** What it is about, e.g. "mangle ML_BALANCE", "rule 1000", "net.ipv4.ip_forward". */
  object: string;
  expected?: string;
  actual?: string;
}

export interface HostPlan {
  host: string;
  action: 'noop' | 'change' | 'refused';
  /** Why nothing needs doing, or why the plan is refused. */
  reason?: string;
  changes: Change[];
  /** Clashes with objects multilink does not own: any error refuses the plan. */
  diagnostics: Diagnostic[];
}
