// HostPlan: plain, serialisable data with a closed set of actions (Terraform style).
// `ops` is exactly what apply will run; nothing is regenerated at apply time.
import type { Diagnostic } from '../diagnostics.js';
import type { NetfilterTable, RouteSpec, RuleSpec, SysctlSpec } from './desired.js';
import type { IptablesFlavour, OwnedRecord } from './facts.js';

export type ChangeKind = 'iptables' | 'rule' | 'route' | 'sysctl' | 'module' | 'file';
export type ChangeOp = 'create' | 'delete' | 'update';

export interface Change {
  kind: ChangeKind;
  op: ChangeOp;
  /** What it is about, e.g. "mangle ML_BALANCE", "rule 1000", "net/ipv4/ip_forward". */
  object: string;
  expected?: string;
  actual?: string;
}

export interface MonitorOps {
  /** A new monitor script to write. */
  script?: string;
  /** Stop the running monitor first. */
  stop: boolean;
  start: boolean;
  /** Remove the monitor folder (no health in the play any more). */
  remove: boolean;
  /** Forget the saved link states (the set of links changed). */
  resetState: boolean;
}

export interface PlanOps {
  flavour: IptablesFlavour;
  modules: string[];
  sysctls: SysctlSpec[];
  /** Priorities multilink owns whose rules are removed (all rules at that priority). */
  rulesDelete: number[];
  rulesAdd: RuleSpec[];
  /** Owned tables no longer used: emptied. */
  routesFlush: number[];
  /** `ip route replace`d first, so a table never goes empty under traffic... */
  routesReplace: RouteSpec[];
  /** ...then routes that should not be there are deleted by their exact text. */
  routesDelete: { table: number; text: string }[];
  /** iptables-restore --noflush payload per table that changes. */
  iptables: Partial<Record<NetfilterTable, string>>;
  /** The ownership record as it must be after the apply. */
  owned: OwnedRecord;
  monitor?: MonitorOps;
}

export interface HostPlan {
  host: string;
  action: 'noop' | 'change' | 'refused';
  /** Why nothing needs doing, or why the plan is refused. */
  reason?: string;
  changes: Change[];
  /** Clashes with objects multilink does not own: any error refuses the plan. */
  diagnostics: Diagnostic[];
  ops?: PlanOps;
  /** Links the monitor has taken out or put back: state, not drift. */
  links?: { name: string; up: boolean; since?: string }[];
}
