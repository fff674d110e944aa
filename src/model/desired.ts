// DesiredState: everything multilink owns on one router, as compile computes it.
// Rules are kept in the exact text iptables-save prints, so comparing desired with
// live state is a string comparison and a fresh deploy never looks like drift.
import type { BalanceMethod, HostSettings, TrafficKind } from './config.js';

export type NetfilterTable = 'mangle' | 'nat' | 'raw';
export const NETFILTER_TABLES: readonly NetfilterTable[] = ['mangle', 'nat', 'raw'];

export interface ChainSpec {
  table: NetfilterTable;
  /** Always starts with ML_. */
  name: string;
  /** Rule arguments as iptables-save prints them, without the leading "-A NAME ". */
  rules: string[];
}

/** One rule in a built-in chain that jumps to an ML_ chain. */
export interface JumpSpec {
  table: NetfilterTable;
  chain: 'PREROUTING' | 'OUTPUT' | 'POSTROUTING' | 'FORWARD' | 'INPUT';
  /** As iptables-save prints it, without "-A CHAIN ", e.g. "-i lan0 -j ML_MARK". */
  rule: string;
}

export interface RuleSpec {
  priority: number;
  fwmark: number;
  mask: number;
  table: number;
}

export interface RouteSpec {
  table: number;
  /** 'default' or a CIDR. */
  dst: string;
  via: string;
  dev: string;
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
  gateway: string;
  weight: number;
  tier: number;
  masquerade: boolean;
  mark: number;
  table: number;
  priority: number;
}

/** The link monitor of a play with `health`: everything the router needs, precomputed. */
export interface MonitorSpec {
  targets: string[];
  intervalMs: number;
  downAfter: number;
  upAfter: number;
  quorum: number;
  links: { name: string; index: number; interface: string; mark: number }[];
  /**
   * The balancing chain's rules for every set of healthy links, keyed by its bit mask as a
   * decimal string (bit k-1 set: link k healthy). The router does no arithmetic.
   */
  balance: Record<string, string[]>;
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
  /** The chain that carries the balance; weights and the link monitor replace only this one. */
  balanceChain: { table: NetfilterTable; name: string };
  monitor?: MonitorSpec;
}
