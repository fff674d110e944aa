// DesiredState: everything multilink owns on one router, as compile computes it.
// Rules are kept in the exact text iptables-save prints, so comparing desired with
// live state is a string comparison and a fresh deploy never looks like drift.
import type { BalanceMethod, HostSettings, TrafficKind } from './config.js';

export type NetfilterTable = 'mangle' | 'nat' | 'raw';

/**
 * The address family an object lives in: iptables or ip6tables, `ip -4` or `ip -6`. Objects
 * carry `family: 6` for IPv6; absent is IPv4 (what every generation before dual stack holds).
 */
export type Family = 4 | 6;
export const FAMILIES: readonly Family[] = [4, 6];
export function familyOf(o: { family?: 6 }): Family {
  return o.family ?? 4;
}
/** `{ family: 6 }` for IPv6 and nothing for IPv4, to spread into an object. */
export function familyField(family: Family): { family?: 6 } {
  return family === 6 ? { family: 6 } : {};
}
export const NETFILTER_TABLES: readonly NetfilterTable[] = ['mangle', 'nat', 'raw'];

export interface ChainSpec {
  table: NetfilterTable;
  family?: 6;
  /** Always starts with ML_. */
  name: string;
  /** Rule arguments as iptables-save prints them, without the leading "-A NAME ". */
  rules: string[];
}

/** One rule in a built-in chain that jumps to an ML_ chain. */
export interface JumpSpec {
  table: NetfilterTable;
  family?: 6;
  chain: 'PREROUTING' | 'OUTPUT' | 'POSTROUTING' | 'FORWARD' | 'INPUT';
  /** As iptables-save prints it, without "-A CHAIN ", e.g. "-i lan0 -j ML_MARK". */
  rule: string;
}

/** An `ip rule` multilink owns (`ip -6 rule` with family 6). */
export type RuleSpec = { family?: 6 } & (
  /** Connections marked for a link use its table. */
  | { kind: 'fwmark'; priority: number; fwmark: number; mask: number; table: number }
  /**
   * `lookup main suppress_prefixlength 0`, just before the link rules: every route of the main
   * table more specific than a default (connected LANs, VPN and static routes) wins over the
   * link tables, for marked traffic too.
   */
  | { kind: 'main'; priority: number }
  /** Sockets bound to a link's interface (ping -I, the monitor's probes) use its table. */
  | { kind: 'oif'; priority: number; dev: string; table: number }
);

export interface RouteSpec {
  table: number;
  family?: 6;
  /** 'default' or a CIDR. */
  dst: string;
  dev: string;
  /** The gateway; absent for a point-to-point link (`default dev IF`). */
  via?: string;
  /**
   * gateway: auto: the router's link monitor keeps this route following the interface's
   * default route in main (DHCP, PPP); its gateway is run-time state, not drift.
   */
  learned?: true;
}

export interface SysctlSpec {
  /**
   * Path under /proc/sys with '/' separators, e.g. net/ipv4/conf/wan1/rp_filter: the dotted
   * form cannot name interfaces with dots in them (VLANs such as eth0.2).
   */
  key: string;
  value: string;
}

export interface CompiledLink {
  name: string;
  /** 1-based position in the play. */
  index: number;
  interface: string;
  /** An IPv4 address, 'auto' or 'none' (see GatewayMode). */
  gateway: string;
  /** The link's IPv6 gateway: an IPv6 address, 'auto' or 'none'; absent: the link carries no IPv6. */
  gateway6?: string;
  /** NAT66 on the link (IPv6 sources rewritten to the link's own address); absent: as masquerade. */
  masquerade6?: boolean;
  /** Connections arriving on this link are marked for it, so their replies leave by it. */
  inbound: boolean;
  /** method adaptive: bounds of the link's share of new connections (0..1). */
  minShare?: number;
  maxShare?: number;
  weight: number;
  tier: number;
  masquerade: boolean;
  mark: number;
  table: number;
  priority: number;
}

/** Probes through each link, from the play's `health`. */
export interface ProbeSpec {
  targets: string[];
  downAfter: number;
  upAfter: number;
  quorum: number;
}

/**
 * The link monitor on the router: everything it needs, precomputed. It runs for a play with
 * `health` (probes) and for one with a `gateway: auto` link (it keeps that link's table
 * following the interface's default route; a link without one is down).
 */
/**
 * method adaptive: the monitor learns each link's weight from what its connections carry
 * (see src/remote/adaptive.awk) and loads the random cascade for the weights it learnt.
 */
export interface AdaptiveSpec {
  /** How often the weights are recomputed. */
  periodMs: number;
  /** The largest factor one update moves a weight by. */
  step: number;
  /** How fast a link's capacity estimate follows a new measurement (0..1). */
  alpha: number;
  /** Bytes/s below which a link counts as idle (keeps its estimate). */
  idleBps: number;
  /** Whole weights of the cascade sum to about this. */
  scale: number;
  links: { index: number; weight: number; tier: number; minShare: number; maxShare: number }[];
}

export interface MonitorSpec {
  intervalMs: number;
  /**
   * A play without `health`, `gateway: auto` or method adaptive: the monitor only guards
   * multilink's netfilter objects against foreign flushes (monitor-guard.sh) every intervalMs;
   * it probes nothing, keeps no table and no link state (links and balance are empty).
   */
  guardOnly?: boolean;
  probes?: ProbeSpec;
  adaptive?: AdaptiveSpec;
  links: { name: string; index: number; interface: string; mark: number; table: number; gateway: 'fixed' | 'none' | 'auto'; gateway6?: 'fixed' | 'none' | 'auto' }[];
  /**
   * The balancing chain's rules for every set of healthy links, keyed by its bit mask as a
   * decimal string (bit k-1 set: link k healthy). The router does no arithmetic.
   */
  balance: Record<string, string[]>;
  /** The same for the IPv6 balancing chain (links with gateway6), when the play has IPv6. */
  balance6?: Record<string, string[]>;
}

export interface DesiredState {
  host: string;
  settings: HostSettings;
  method: BalanceMethod;
  traffic: TrafficKind[];
  links: CompiledLink[];
  chains: ChainSpec[];
  jumps: JumpSpec[];
  rules: RuleSpec[];
  routes: RouteSpec[];
  sysctls: SysctlSpec[];
  modules: string[];
  /**
   * `nft`: the chains and jumps above are made as `table inet multilink` (compile/nft-table.ts)
   * and no ML_ chain is kept in iptables; absent: the iptables backend. Decided by the planner
   * (plan/backend.ts) from multilink_firewall and what the router has.
   */
  firewall?: 'nft';
  /**
   * With the nft backend on a router whose `ip` makes no `oif` rules (BusyBox's): no oif rules;
   * instead the table's mangle_output chain (type route) marks the router's own echo requests
   * by the interface their socket is bound to (`ping -I`), so the fwmark rules send each
   * link's probe through the link's table. Decided by the planner (plan/backend.ts).
   */
  probeMarks?: true;
  /**
   * With the nft backend and a link monitor on a router without the conntrack tool: the link
   * monitor cannot delete a failed link's connections (`conntrack -D`), so the table ends them:
   * the marks of the links it has taken out are in the set ML_DOWN, and every packet of a
   * connection whose ct mark is in it is rejected as it is forwarded or sent (TCP with a reset:
   * the client reconnects at once, on a live link; other protocols with an ICMP port
   * unreachable). Decided by the planner (plan/backend.ts).
   */
  resetDown?: true;
  /** The chain that carries the balance; weights and the link monitor replace only this one. */
  balanceChain: { table: NetfilterTable; name: string };
  monitor?: MonitorSpec;
}
