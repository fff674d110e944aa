// What validation hands to compile: one fully resolved, validated configuration per host.
// Templates are substituted, weight overlays applied, every value checked.
import type { FirewallSetting } from './nft.js';
import type { Secret } from './secret.js';
import type { SourcePos } from './source.js';

export type BalanceMethod = 'random' | 'nth' | 'sticky' | 'adaptive';
export const BALANCE_METHODS: readonly BalanceMethod[] = ['random', 'nth', 'sticky', 'adaptive'];
export type TrafficKind = 'forwarded' | 'local';
export type IptablesFlavourSetting = 'auto' | 'legacy' | 'nft';
/** A boot hook kind, or an absolute path on the router where a plain hook script is written (tests, custom init). */
export type BootSetting = 'auto' | 'systemd' | 'initd' | 'none' | `/${string}`;
export type Helper = 'ftp';

export interface ConnectionVars {
  /** ansible_host, or the inventory name (which ~/.ssh/config may map). */
  host: string;
  port?: number;
  user?: string;
  privateKeyFile?: string;
  /** ansible_password (ansible_ssh_pass): password and keyboard-interactive logins, and an encrypted key's passphrase. */
  password?: Secret;
  become: boolean;
  /** ansible_become_method; absent: sudo. */
  becomeMethod?: BecomeMethod;
  /** ansible_become_user; absent: root. */
  becomeUser?: string;
  /** ansible_become_password (ansible_become_pass, ansible_sudo_pass…): what sudo, su or doas asks for. */
  becomePassword?: Secret;
  /** ansible_become_exe: the command that stands for sudo, su or doas. */
  becomeExe?: string;
  /** ansible_become_flags as words: they replace the method's default flags. */
  becomeFlags?: string[];
}

export type BecomeMethod = 'sudo' | 'su' | 'doas';
export const BECOME_METHODS: readonly BecomeMethod[] = ['sudo', 'su', 'doas'];

export interface HostSettings {
  /** Where multilink keeps what must survive a reboot (generations, the boot hook's script, the monitor's script). */
  stateDir: string;
  /** Where the link monitor keeps what it rewrites every few seconds (its state, log, probes, measurements): a RAM disk. */
  runDir: string;
  /** multilink_known_hosts, absolute; undefined means ~/.ssh/known_hosts. */
  knownHosts?: string;
  markMask: number;
  tableBase: number;
  rulePriority: number;
  boot: BootSetting;
  iptables: IptablesFlavourSetting;
  /** multilink_firewall: the netfilter backend (`auto`: nft where the router has a working nft). */
  firewall: FirewallSetting;
}

/** `auto`: follow the interface's DHCP/PPP default route in main; `none`: point-to-point (no gateway). */
export type GatewayMode = 'auto' | 'none';

export interface LinkSpec {
  name: string;
  interface: string;
  /** An IPv4 address, or a GatewayMode. */
  gateway: string;
  /** An IPv6 address (link-local or global), or a GatewayMode; absent: the link carries no IPv6. */
  gateway6?: string;
  /** Whole number >= 0 after the multilink_weights overlay. */
  weight: number;
  masquerade: boolean;
  /** NAT66 for IPv6 sources on this link; absent: as masquerade. */
  masquerade6?: boolean;
  tier: number;
  /** Connections that arrive on this link are answered by it (marked for it). */
  inbound: boolean;
  /** method adaptive: the least and most share of new connections the link may get (0..1). */
  minShare?: number;
  maxShare?: number;
  pos: SourcePos;
}

export interface ExceptionSpec {
  /** CIDR, host bits zero (e.g. 192.168.1.0/24, 203.0.113.5/32, 2001:db8::/32), as iptables prints it. */
  destination?: string;
  /** Source prefixes, written as destination is; one family each (a list may hold both). */
  source?: string[];
  /** LAN interfaces (of the play's balance.lan) the connection arrived on. */
  in?: string[];
  protocol?: 'tcp' | 'udp';
  ports?: number[];
  /** 'main' (unmarked, normal routing) or a link name. */
  via: string;
  pos: SourcePos;
}

export interface HealthSpec {
  targets: string[];
  intervalMs: number;
  downAfter: number;
  upAfter: number;
  quorum: number;
}

export interface PlayConfig {
  name: string;
  pos: SourcePos;
  method: BalanceMethod;
  traffic: TrafficKind[];
  lan: string[];
  links: LinkSpec[];
  exceptions: ExceptionSpec[];
  helpers: Helper[];
  rpFilter: 'loose' | 'off';
  health?: HealthSpec;
}

export interface HostConfig {
  name: string;
  connection: ConnectionVars;
  settings: HostSettings;
  play: PlayConfig;
}

/** What reaching a host and finding multilink's files there takes: a host no play targets has this much. */
export type HostRef = Pick<HostConfig, 'name' | 'connection' | 'settings'>;
