// What `multilink status` reads from a router, in one round trip: the mangle table with
// counters (ML_BALANCE for the shares in force, ML_ACCT for packets and bytes per link),
// the conntrack entries per link mark, and each link interface's operstate.
import type { IptablesFlavourSetting } from '../model/config.js';
import type { CountedTable, IptablesFlavour } from '../model/facts.js';
import { hex } from '../compile/iptables-text.js';
import { quote } from '../quote.js';
import { isInterfaceName } from '../net/names.js';
import { conntrackCountCommand, parseConntrackCount, type ConntrackCount } from './conntrack.js';
import { flavourPrelude, GatherError, SCRIPT_HEADER, section, splitSections } from './gather.js';
import { IPTABLES_SAVE_COUNTERS_FUNCTION, iptablesSaveCountersCommand, parseIptablesSaveCounters } from './iptables-save.js';
import { ABSENT } from './sysctl.js';

export interface StatusRequest {
  iptables: IptablesFlavourSetting;
  mask: number;
  links: { mark: number; interface: string }[];
}

export interface StatusFacts {
  flavour: IptablesFlavour;
  mangle: CountedTable;
  /** Keyed by the mark in hex (0x100). */
  connections: Record<string, ConntrackCount>;
  /** Keyed by interface; null when the interface does not exist. */
  operstate: Record<string, string | null>;
}

function operstateCommand(iface: string): string {
  const path = quote(`/sys/class/net/${iface}/operstate`);
  return `if [ -r ${path} ]; then cat ${path}; else echo ${ABSENT}; fi`;
}

export function statusScript(req: StatusRequest): string {
  for (const l of req.links) if (!isInterfaceName(l.interface)) throw new Error(`invalid interface name ${JSON.stringify(l.interface)}`);
  const body = [
    section('flavour', 'echo "$ML_FLAVOUR"'),
    section('iptables-counters mangle', iptablesSaveCountersCommand('mangle')),
    ...req.links.map((l) => section(`conntrack ${hex(l.mark)}`, conntrackCountCommand(l.mark, req.mask))),
    ...req.links.map((l) => section(`operstate ${l.interface}`, operstateCommand(l.interface))),
  ];
  return [SCRIPT_HEADER, flavourPrelude(req.iptables), IPTABLES_SAVE_COUNTERS_FUNCTION, ...body].join('\n') + '\n';
}

export function parseStatus(stdout: string, req: StatusRequest): StatusFacts {
  const sections = new Map(splitSections(stdout).map((s) => [s.name, s]));
  const get = (name: string): { body: string; rc: number } => {
    const s = sections.get(name);
    if (!s) throw new GatherError(`status output lacks section "${name}"`);
    return s;
  };
  const required = (name: string): string => {
    const s = get(name);
    if (s.rc !== 0) throw new GatherError(`reading "${name}" failed with exit code ${s.rc}${s.body.trim() ? `: ${s.body.trim()}` : ''}`);
    return s.body;
  };
  const flavour = required('flavour').trim();
  if (flavour !== 'legacy' && flavour !== 'nft') throw new GatherError(`unknown iptables flavour ${JSON.stringify(flavour)}`);
  const connections: Record<string, ConntrackCount> = {};
  const operstate: Record<string, string | null> = {};
  for (const l of req.links) {
    const ct = get(`conntrack ${hex(l.mark)}`);
    connections[hex(l.mark)] = ct.rc === 0 ? parseConntrackCount(ct.body) : { unreadable: ct.body.trim().split('\n').pop() || `exit code ${ct.rc}` };
    const state = required(`operstate ${l.interface}`).trim();
    operstate[l.interface] = state === ABSENT ? null : state;
  }
  return { flavour, mangle: parseIptablesSaveCounters(required('iptables-counters mangle')), connections, operstate };
}
