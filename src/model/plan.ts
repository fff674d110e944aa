// HostPlan: plain, serialisable data with a closed set of actions (Terraform style).
// `ops` is exactly what apply will do; src/render turns it into the text the router runs.
import type { Diagnostic } from '../diagnostics.js';
import type { NetfilterTable, RouteSpec, RuleSpec, SysctlSpec } from './desired.js';
import type { IptablesFlavour, OwnedRecord } from './facts.js';
import type { LinkState } from './link-state.js';
import type { FirewallBackend, NftChain, NftObject, NftTable } from './nft.js';

export type ChangeKind = 'iptables' | 'nft' | 'rule' | 'route' | 'sysctl' | 'module' | 'file';
/**
 * What deploy does about an object, or `clash`: an object multilink does not own stands in
 * its way (e.g. a foreign ip rule at one of its priorities); deploy refuses to touch those.
 */
export type ChangeOp = 'create' | 'delete' | 'update' | 'clash';

/** One difference between a router and its compiled state (a plan's change, a drift finding). */
export interface Change {
  kind: ChangeKind;
  op: ChangeOp;
  /** What it is about, e.g. "mangle ML_BALANCE", "rule 1000", "net/ipv4/ip_forward". */
  object: string;
  /** Compiled state; absent when the object should not exist. */
  expected?: string;
  /** Live state; absent when the object is missing. */
  actual?: string;
  /** Why, for a clash. */
  detail?: string;
}

/** One jump rule in a built-in chain (or any non-ML_ chain). */
export interface JumpOp {
  chain: string;
  rule: string;
}

/**
 * The changes to one netfilter table, in the order the one --noflush transaction makes them:
 * declare (creates or empties) → unhook stale jumps → refill → drop stale chains → hook new
 * jumps at the top of their chains.
 */
export interface TableOps {
  table: NetfilterTable;
  /** 6: ip6tables. */
  family?: 6;
  declare: string[];
  unhook: JumpOp[];
  fill: { name: string; rules: string[] }[];
  drop: string[];
  /** In the order they must stand at the top of their chains. */
  hook: JumpOp[];
}

/**
 * The changes to `table inet multilink`, one `nft -f` transaction in this order: the table
 * added (a no-op when it exists) → base chains whose hook changed deleted → chains declared →
 * changed chains flushed and refilled → stale chains deleted. Chains not named keep their
 * rules and counters, the sets their entries. `replace` instead makes the whole table anew
 * (first deploy, a set's definition changed); `dropTable` removes it (back to iptables).
 */
export interface NftOps {
  replace?: NftTable;
  dropTable?: boolean;
  objectsAdd: NftObject[];
  objectsDelete: NftObject[];
  rehook: string[];
  declare: NftChain[];
  flush: string[];
  fill: NftChain[];
  drop: string[];
}

export interface MonitorOps {
  /** Write the monitor script rendered from the desired state. */
  write: boolean;
  /** Stop the running monitor first. */
  stop: boolean;
  start: boolean;
  /** Remove the monitor folder (no health in the play any more). */
  remove: boolean;
  /** Forget the saved link states (the set of links changed). */
  resetState: boolean;
}

/**
 * What `multilink remove` deletes once its transaction is confirmed: files, which no snapshot
 * restores, so they go only when the router has kept the removal (src/remote/txn-purge.sh).
 * The boot hook's files first, then the run folder, then the state folder (by one rename,
 * when nothing but multilink's files is in it).
 */
export interface PurgeOps {
  /** The boot hook's files and links (src/render/boot.ts) found on the router. */
  bootFiles: string[];
  /** The init.d script is among them: the rc links that point at it go too. */
  initd: boolean;
  runDir: string;
  stateDir: string;
  /** What an earlier purge killed midway left beside the state folder (STATE.purge-ID). */
  leftovers: string[];
}

export interface PlanOps {
  flavour: IptablesFlavour;
  modules: string[];
  sysctls: SysctlSpec[];
  /** Multilink's own rules to delete, each by its full selector (priority and `ip rule show` text). */
  rulesDelete: { priority: number; text: string; family?: 6 }[];
  rulesAdd: RuleSpec[];
  /** Owned tables no longer used: emptied. */
  routesFlush: number[];
  /** The same for IPv6 (`ip -6 route flush table T`). */
  routesFlush6?: number[];
  /** `ip route replace`d first, so a table never goes empty under traffic... */
  routesReplace: RouteSpec[];
  /** ...then routes that should not be there are deleted by their exact text. */
  routesDelete: { table: number; text: string; family?: 6 }[];
  /** Tables whose ML_ chains or jumps change. */
  iptables: TableOps[];
  /** The nft backend's table, when it changes. */
  nft?: NftOps;
  /** The ownership record as it must be after the apply. */
  owned: OwnedRecord;
  monitor?: MonitorOps;
  /** Install the boot hook (missing or changed). */
  bootHook?: boolean;
  /** `remove`: the files that go once the removal is confirmed. */
  purge?: PurgeOps;
}

export interface HostPlan {
  host: string;
  action: 'noop' | 'change' | 'refused';
  /** Why nothing needs doing, or why the plan is refused. */
  reason?: string;
  changes: Change[];
  /** Foreign ip rules in multilink's priorities, tables or mark bits (op `clash`): deploy refuses. */
  clashes: Change[];
  /** Problems found while planning: any error refuses the plan. Clashes have one each (kind `clash`). */
  diagnostics: Diagnostic[];
  ops?: PlanOps;
  /** Links the monitor has taken out or put back: state, not drift. */
  links?: LinkState[];
  /** The netfilter backend the plan is for (plan/backend.ts), and why. */
  firewall?: FirewallBackend;
  firewallWhy?: string;
  /** The router's ip makes no oif rules: the probes leave by marks (DesiredState.probeMarks). */
  probeMarks?: true;
  /** No conntrack tool: the table ends a failed link's connections (DesiredState.resetDown). */
  resetDown?: true;
}
