// What `multilink status` reads from a router, in one round trip: the mangle table with
// counters (ML_BALANCE for the shares in force, ML_ACCT for packets and bytes per link),
// the conntrack entries per link mark, each link interface's operstate, and the link
// monitor's state file.
import type { IptablesFlavourSetting } from '../model/config.js';
import type { IptablesFlavour, LiveTable } from '../model/facts.js';
import { hex } from '../compile/iptables-text.js';
import { isInterfaceName } from '../net/names.js';
import { StateLayout } from '../shell/layout.js';
import { lines, section, shellLib } from '../shell/lib.js';
import { ABSENT } from '../shell/reply.js';
import { sh, type Sh } from '../shell/sh.js';
import { conntrackCountCommand, parseConntrackCount, type ConntrackCount } from './conntrack.js';
import { parseFlavour, sectionReader } from './gather.js';
import { iptablesSaveCountersCommand, parseIptablesSave } from './iptables-save.js';
import { parseMonitorState, type MonitorStateFile } from './monitor.js';

export interface StatusRequest {
  iptables: IptablesFlavourSetting;
  mask: number;
  links: { mark: number; interface: string }[];
  stateDir: string;
}

export interface StatusFacts {
  flavour: IptablesFlavour;
  mangle: LiveTable;
  /** Keyed by the mark in hex (0x100). */
  connections: Record<string, ConntrackCount>;
  /** Keyed by interface; null when the interface does not exist. */
  operstate: Record<string, string | null>;
  /** The link monitor's state file; null when there is none. */
  monitor: MonitorStateFile | null;
}

function operstateCommand(iface: string): Sh {
  if (!isInterfaceName(iface)) throw new Error(`invalid interface name ${JSON.stringify(iface)}`);
  return sh`ml_read ${`/sys/class/net/${iface}/operstate`}`;
}

export function statusScript(req: StatusRequest): Sh {
  return lines(
    shellLib(req.iptables),
    section('flavour', sh`ml_flavour_name`),
    section('iptables-counters mangle', iptablesSaveCountersCommand('mangle')),
    ...req.links.map((l) => section(`conntrack ${hex(l.mark)}`, conntrackCountCommand(l.mark, req.mask))),
    ...req.links.map((l) => section(`operstate ${l.interface}`, operstateCommand(l.interface))),
    section('monitor-state', sh`ml_read ${new StateLayout(req.stateDir).monitorState}`),
  );
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
  return {
    flavour: parseFlavour(r.get('flavour')),
    mangle: parseIptablesSave(r.get('iptables-counters mangle')),
    connections,
    operstate,
    monitor: monitor.trim() === ABSENT ? null : parseMonitorState(monitor),
  };
}
