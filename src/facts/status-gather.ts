// What `multilink status` reads from a router, in one round trip: the router's uptime and
// each link interface's byte and packet counters read together (throughput is their change
// over the router's own clock), the mangle table with counters (ML_BALANCE for the shares
// in force and new connections per link, ML_ACCT for packets and bytes per link), the
// conntrack entries per link mark, each link interface's operstate, and the link monitor's
// state file and history ring.
import type { IptablesFlavourSetting } from '../model/config.js';
import type { IptablesFlavour, LiveTable } from '../model/facts.js';
import { hex } from '../compile/iptables-text.js';
import { isInterfaceName } from '../net/names.js';
import { RunLayout } from '../shell/layout.js';
import { lines, section, shellLib } from '../shell/lib.js';
import { ABSENT } from '../shell/reply.js';
import { sh, type Sh } from '../shell/sh.js';
import { conntrackCountCommand, parseConntrackCount, type ConntrackCount } from './conntrack.js';
import { parseFlavour, sectionReader } from './gather.js';
import { iptablesSaveCountersCommand, parseIptablesSave } from './iptables-save.js';
import { parseNftTable } from './nft-list.js';
import type { NftTable } from '../model/nft.js';
import { parseAdaptive, parseMonitorHistory, parseMonitorState, ROUTER_NOW, type AdaptiveFile, type MonitorStateFile } from './monitor.js';
import type { LinkChange } from '../model/link-state.js';

export interface StatusRequest {
  iptables: IptablesFlavourSetting;
  mask: number;
  links: { mark: number; interface: string }[];
  /** The link monitor's run folder: its state file, history and measurements. */
  runDir: string;
  /** method adaptive: read what the router learnt too. */
  adaptive: boolean;
  /** The play has IPv6 links: read ip6tables' counters too. */
  ipv6?: boolean;
}

export interface StatusFacts {
  flavour: IptablesFlavour;
  mangle: LiveTable;
  /** ip6tables' mangle with counters (a play with IPv6). */
  mangle6?: LiveTable;
  /** table inet multilink with its counters; null: none (the iptables backend). */
  nft?: NftTable | null;
  /** Keyed by the mark in hex (0x100). */
  connections: Record<string, ConntrackCount>;
  /** Keyed by interface; null when the interface does not exist. */
  operstate: Record<string, string | null>;
  /** The link monitor's state file; null when there is none. */
  monitor: MonitorStateFile | null;
  /** The monitor's history ring, oldest first (empty when there is none). */
  history: LinkChange[];
  /** method adaptive: the last measurement and learnt weights; null when there is none yet. */
  adaptive: AdaptiveFile | null;
  /** The link monitor's last restore after another tool flushed multilink's rules: `restored TIME generation N`. */
  restored?: string;
  /** Seconds since the router booted, read just before the interface counters. */
  uptime: number | null;
  /** Keyed by interface; null when the interface has no counters (it does not exist). */
  interfaces: Record<string, InterfaceCounters | null>;
}

/** /sys/class/net/IF/statistics: what the interface received (in) and sent (out). */
export interface InterfaceCounters {
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
}

const COUNTER_FILES = ['rx_bytes', 'tx_bytes', 'rx_packets', 'tx_packets'] as const;

function operstateCommand(iface: string): Sh {
  if (!isInterfaceName(iface)) throw new Error(`invalid interface name ${JSON.stringify(iface)}`);
  return sh`ml_read ${`/sys/class/net/${iface}/operstate`}`;
}

/** `IF RX_BYTES TX_BYTES RX_PACKETS TX_PACKETS` on one line; just `IF` when it has no counters. */
function interfaceCountersCommand(iface: string): Sh {
  if (!isInterfaceName(iface)) throw new Error(`invalid interface name ${JSON.stringify(iface)}`);
  const files = COUNTER_FILES.map((f) => `/sys/class/net/${iface}/statistics/${f}`);
  return sh`printf '%s ' ${iface}; cat ${files} 2>/dev/null | tr '\\n' ' '; echo`;
}

export function statusScript(req: StatusRequest): Sh {
  const layout = new RunLayout(req.runDir);
  return lines(
    shellLib(req.iptables),
    // First, and together: the clock and the counters that throughput is computed from.
    section('counters', lines(sh`cat /proc/uptime`, ...[...new Set(req.links.map((l) => l.interface))].map(interfaceCountersCommand))),
    section('flavour', sh`ml_flavour_name`),
    section('iptables-counters mangle', iptablesSaveCountersCommand('mangle')),
    ...(req.ipv6 ? [section('ip6tables-counters mangle', sh`ml_save_counters6 mangle`)] : []),
    // The nft backend's table with its counters, where the router has one.
    section('nft-counters', sh`if command -v nft >/dev/null 2>&1; then nft -t list table inet multilink 2>/dev/null; fi; true`),
    ...req.links.map((l) => section(`conntrack ${hex(l.mark)}`, conntrackCountCommand(l.mark, req.mask))),
    ...req.links.map((l) => section(`operstate ${l.interface}`, operstateCommand(l.interface))),
    section('monitor-state', sh`ml_read ${layout.monitorState}; if [ -r ${layout.monitorState} ]; then ${ROUTER_NOW}; fi`),
    section('monitor-history', sh`ml_read ${layout.monitorHistory}`),
    section('monitor-restored', sh`ml_read ${layout.monitorRestored}`),
    ...(req.adaptive ? [section('monitor-adaptive', sh`ml_read ${layout.monitorAdaptive}`)] : []),
  );
}

/** The counters section: the uptime line, then a line per interface. */
export function parseCounters(text: string): { uptime: number | null; interfaces: Record<string, InterfaceCounters | null> } {
  const [first = '', ...rest] = text.split('\n');
  const up = Number(first.trim().split(/\s+/)[0]);
  const interfaces: Record<string, InterfaceCounters | null> = {};
  for (const line of rest) {
    const [iface, ...values] = line.trim().split(/\s+/);
    if (!iface) continue;
    const n = values.map(Number);
    interfaces[iface] = n.length === COUNTER_FILES.length && n.every((v) => Number.isSafeInteger(v) && v >= 0) ? { rxBytes: n[0], txBytes: n[1], rxPackets: n[2], txPackets: n[3] } : null;
  }
  return { uptime: first.trim() !== '' && Number.isFinite(up) ? up : null, interfaces };
}

export function parseStatus(stdout: string, req: StatusRequest): StatusFacts {
  const r = sectionReader(stdout, 'status');
  const connections: Record<string, ConntrackCount> = {};
  const operstate: Record<string, string | null> = {};
  for (const l of req.links) {
    const ct = r.find(`conntrack ${hex(l.mark)}`);
    if (!ct) r.get(`conntrack ${hex(l.mark)}`);
    else connections[hex(l.mark)] = ct.rc === 0 ? parseConntrackCount(ct.body) : { unreadable: ct.body.trim().split('\n').pop() || `exit code ${ct.rc}` };
    const state = r.get(`operstate ${l.interface}`).trim();
    operstate[l.interface] = state === ABSENT ? null : state;
  }
  const monitor = r.get('monitor-state');
  const history = r.get('monitor-history');
  const counters = parseCounters(r.get('counters'));
  const adaptive = req.adaptive ? r.get('monitor-adaptive') : ABSENT;
  return {
    flavour: parseFlavour(r.get('flavour')),
    mangle: parseIptablesSave(r.get('iptables-counters mangle')),
    ...(req.ipv6 ? { mangle6: parseIptablesSave(r.get('ip6tables-counters mangle')) } : {}),
    nft: parseNftTable(r.find('nft-counters')?.body ?? ''),
    ...restoredLine(r.find('monitor-restored')?.body),
    connections,
    operstate,
    monitor: monitor.trim() === ABSENT ? null : parseMonitorState(monitor),
    history: history.trim() === ABSENT ? [] : parseMonitorHistory(history),
    adaptive: adaptive.trim() === ABSENT ? null : parseAdaptive(adaptive),
    uptime: counters.uptime,
    interfaces: Object.fromEntries(req.links.map((l) => [l.interface, counters.interfaces[l.interface] ?? null])),
  };
}

function restoredLine(body: string | undefined): { restored?: string } {
  const line = body?.trim() ?? '';
  return line !== '' && line !== ABSENT && /^restored \S+ generation \d+$/.test(line) ? { restored: line } : {};
}
