// HostFacts: the live state of one router, as gathered in one round trip and parsed.
import type { NetfilterTable } from './desired.js';
import type { LinkState } from './link-state.js';
import type { NftTable } from './nft.js';

export type IptablesFlavour = 'legacy' | 'nft';

export interface Counters {
  packets: number;
  bytes: number;
}

export interface LiveChain {
  name: string;
  /** Policy for built-in chains ('ACCEPT'...), '-' for user chains. */
  policy: string;
  /** Rule arguments as iptables-save prints them, without "-A NAME ". */
  rules: string[];
  /** With `iptables-save -c`: the chain's own counters (built-in chains' policy; 0 for user chains). */
  counters?: Counters;
  /** With `iptables-save -c`: each rule's counters, in the order of `rules`. */
  ruleCounters?: Counters[];
}

export interface LiveTable {
  /** Chains in the order iptables-save printed them. */
  chains: LiveChain[];
}

export interface LiveRule {
  priority: number;
  /** The rule text after "PRIO:\t", as `ip rule show` prints it. */
  text: string;
  fwmark?: number;
  mask?: number;
  /** Table number or name ('main', 'local', 'default'). */
  table?: string;
}

export interface LiveRoute {
  /** The line as `ip route show table T` prints it. */
  text: string;
  dst: string;
  via?: string;
  dev?: string;
}

export type ModuleState = 'loaded' | 'builtin' | 'missing' | 'no-module-support';

/** What multilink recorded on the router the last time it applied (its ownership record). */
export interface OwnedRecord {
  tables: number[];
  priorities: number[];
  chains: { table: NetfilterTable; name: string; family?: 6 }[];
  sysctls: Record<string, string>;
  /** Multilink's IPv6 objects too: `ip -6` rules at these priorities, routes in these tables. */
  ipv6?: true;
}

export interface Generations {
  /** Last confirmed generation, the one restored at boot; null before the first. */
  current: number | null;
  list: { n: number; confirmed: boolean }[];
}

export interface MonitorFacts {
  /** The monitor script as found on the router (null: none). */
  script: string | null;
  running: boolean;
  pid?: number;
  /** Healthy-link mask from the state file (bit k-1: link k up). */
  mask?: number;
  /** IPv6's (links with a gateway6). */
  mask6?: number;
  /** Link names the state file was written for. */
  linkNames?: string[];
  links: LinkState[];
}

export type PingKind = 'iputils' | 'busybox' | 'other' | 'missing';

/** What the router has for multilink's run-time parts (see facts/router.ts). */
export interface RouterTools {
  ping: PingKind;
  conntrack: boolean;
  /** Whether it has iptables of any kind (a stock OpenWrt image has none); absent in facts recorded before: true. */
  iptables?: boolean;
  /**
   * Whether its `ip` makes `oif` rules (iproute2, ip-full, ip-tiny; BusyBox's refuses them, and
   * -batch); absent in facts recorded before: true.
   */
  ipOif?: boolean;
  /** Filesystem type under the state folder (tmpfs, ramfs, ext4, overlay, …); '' when unknown. */
  stateFs: string;
}

/** The boot hook as found on the router (src/facts/boot-hook.ts): null is absent. */
export interface BootHookFacts {
  systemd: boolean;
  initd: boolean;
  files: Record<string, string | null>;
  /** Symbolic links, to their targets. */
  links: Record<string, string | null>;
}

/** The objects of one address family multilink plans: netfilter tables, ip rules, routes. */
export interface FamilyFacts {
  iptables: Record<NetfilterTable, LiveTable>;
  ipRules: LiveRule[];
  /** The main table's default routes by interface (see HostFacts.mainDefaults). */
  mainDefaults: Record<string, string>;
  routes: Record<number, LiveRoute[]>;
}

/** The router's nft: `missing` (no nft command), `broken` (it fails: no kernel support), or `ok`. */
export interface NftFacts {
  state: 'ok' | 'missing' | 'broken';
  /** `table inet multilink` as listed; null: there is none. */
  table: NftTable | null;
  /** What a broken nft said. */
  detail?: string;
}

export interface HostFacts {
  flavour: IptablesFlavour;
  /**
   * IPv6's, gathered when the desired state has IPv6 objects or the ownership record says
   * multilink made some (ip6tables, `ip -6 rule`, `ip -6 route`); absent otherwise.
   */
  v6?: FamilyFacts;
  iptables: Record<NetfilterTable, LiveTable>;
  ipRules: LiveRule[];
  /** The main table's default routes by interface: `via GATEWAY`, or `dev` without one (gateway: auto). */
  mainDefaults: Record<string, string>;
  /** Routes of the tables multilink owns or is about to own, keyed by table number. */
  routes: Record<number, LiveRoute[]>;
  /** Sysctl values keyed by /proc/sys path (see SysctlSpec.key); null when the key does not exist (e.g. no such interface). */
  sysctls: Record<string, string | null>;
  modules: Record<string, ModuleState>;
  owned: OwnedRecord | null;
  generations: Generations;
  monitor: MonitorFacts;
  tools: RouterTools;
  /** The nft backend's facts; absent in facts recorded before it (tests): as `missing`. */
  nft?: NftFacts;
  /** Gathered when the host has a boot hook (multilink_boot other than none). */
  bootHook?: BootHookFacts;
  /** For `remove` (GatherRequest.paths): which of multilink's folders exist. */
  paths?: PathFacts;
}

/** multilink's folders on the router, as `remove` finds them. */
export interface PathFacts {
  state: boolean;
  run: boolean;
  /** Left beside the state folder by a purge killed midway (STATE.purge-ID). */
  leftovers: string[];
}
