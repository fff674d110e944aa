// StatusReport: per host and link, the balance in force and the traffic it carries.
import type { BalanceMethod } from './config.js';
import type { IptablesFlavour } from './facts.js';
import type { LinkChange, LinkHealth, ProbeStats } from './link-state.js';
import type { Shard } from '../util/shard.js';

export interface LinkStatus {
  link: string;
  interface: string;
  tier: number;
  /** Weight in the compiled configuration. */
  weight: number;
  /** Share of new connections the configured weights give this link (0 to 1). */
  configuredShare: number;
  /** Share of new connections the live ML_BALANCE gives it; null when that chain is missing. */
  share: number | null;
  /** Conntrack entries carrying the link's mark; null when they could not be counted. */
  connections: number | null;
  /** Counters of the link's ML_ACCT rule (packets and bytes sent out of it); null when missing. */
  packets: number | null;
  bytes: number | null;
  /** /sys/class/net/IF/operstate ('up', 'down', 'unknown'…); null when there is no such interface. */
  operstate: string | null;
  /** What the router's link monitor last decided; `unmonitored` without a monitor (or before it wrote its state). */
  health: LinkHealth | 'unmonitored';
  /** When the monitor last changed this link's health. */
  since?: string;
  /** Instead of since, while the router's clock is not set: the change's seconds after the router's boot. */
  sinceBootS?: number;
  /**
   * New connections the live ML_BALANCE has sent to this link since it was loaded (its rules'
   * packet counters); null when that chain is missing. The monitor reloads it on a change.
   */
  newConnections: number | null;
  /** The interface's own counters (every packet in and out of it); null when it has none. */
  counters: LinkCounters | null;
  /** The monitor's probes of this link (with health targets). */
  probe?: ProbeStats;
  /** The monitor's last state changes of this link, oldest first (with a monitor). */
  history?: LinkChange[];
  /** method adaptive: what the router learnt for this link (once it measured). */
  adaptive?: AdaptiveLinkStatus;
  /** A link with a gateway6: its IPv6 side, health and balance apart from IPv4's. */
  ipv6?: FamilyLinkStatus;
}

/** One family of a dual-stack link: what status shows for IPv4 at the top level of LinkStatus. */
export interface FamilyLinkStatus {
  /** gateway6 as configured: an address, auto or none. */
  gateway: string;
  /** auto: what the monitor learnt (`via fe80::1`, `dev`, `-`: none yet). */
  learned?: string;
  health: LinkHealth | 'unmonitored';
  since?: string;
  sinceBootS?: number;
  configuredShare: number;
  share: number | null;
  newConnections: number | null;
  packets: number | null;
  bytes: number | null;
}

/** method adaptive, per link: the router's last measurement and the weight it learnt from it. */
export interface AdaptiveLinkStatus {
  /** The learnt weight, as a share of all links' (0 to 1); the share in force also takes health, tiers and bounds into account. */
  weight: number;
  /** The estimated capacity, bytes/s (0: not measured busy yet). */
  capacityBps: number;
  /** What the link carried (in and out) over the last period, bytes/s. */
  rateBps: number;
  /** Its connections that can carry traffic, averaged over the period. */
  connections: number;
  /** What each active connection got: the rate over the connections; null when none was active. */
  perConnectionBps: number | null;
  /** When the measurement was taken (ISO time). */
  measuredAt: string;
  /** When the learnt weights last changed the chain in force (ISO time). */
  changedAt?: string;
}

export interface LinkCounters {
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
}

export type StatusOutcome = 'ok' | 'unreachable' | 'error';
export const STATUS_OUTCOMES: readonly StatusOutcome[] = ['ok', 'unreachable', 'error'];

export interface HostStatus {
  host: string;
  status: StatusOutcome;
  message?: string;
  /** Absent when the host failed before it was contacted (its own data had errors). */
  method?: BalanceMethod;
  flavour?: IptablesFlavour;
  /** `nft`: multilink's rules are table inet multilink's (absent: the ML_ chains of iptables, `flavour`). */
  firewall?: 'nft';
  /** The router's uptime (s) when its interface counters were read: the clock for rates. */
  uptime?: number;
  links: LinkStatus[];
  /** What could not be read (conntrack missing, ML_ACCT not deployed…). */
  notes: string[];
}

export interface StatusReport {
  command: 'status';
  hosts: HostStatus[];
  summary: Record<StatusOutcome, number>;
  /** With --shard: which share of the targeted hosts this is. */
  shard?: Shard;
}
