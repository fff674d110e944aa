// A play's exceptions for one host: connections (by destination, source, LAN interface,
// protocol and ports) that skip the balance.
import type { ExceptionSpec, LinkSpec } from '../model/config.js';
import { field, has, type PlayScope } from './play-scope.js';
import type { PlayNode } from './playbook.js';
import { didYouMean, show } from './report.js';
import { expected, readCidr, readEnum, readInterface, readList, readString, readWhole } from './values.js';
import type { YMap, YValue } from './yaml-source.js';

const MATCH_KEYS = ['destination', 'source', 'in', 'protocol', 'ports'] as const;

/** `lan` is the play's balance.lan, or undefined when it is a template not resolved here. */
export function resolveExceptions(play: PlayNode, links: LinkSpec[], lan: string[] | undefined, s: PlayScope): ExceptionSpec[] {
  return play.exceptions.map((map) => resolveException(map, links, lan, s));
}

function resolveException(map: YMap, links: LinkSpec[], lan: string[] | undefined, s: PlayScope): ExceptionSpec {
  if (!MATCH_KEYS.some((k) => has(map, k))) {
    s.r.error('exception matches every connection: give a destination, a source, an in (LAN interface) and/or a protocol (with ports)', map);
  }
  const protocol = readEnum(field(s, map, 'protocol'), 'protocol', ['tcp', 'udp'] as const, s.r);
  const spec: ExceptionSpec = { via: readVia(field(s, map, 'via'), links, s) ?? 'main', pos: map.pos };
  const via = links.find((l) => l.name === spec.via);
  const viaNode = field(s, map, 'via') ?? map;
  const destNode = field(s, map, 'destination');
  const destination = readCidr(destNode, 'destination', s.r, { ipv6: true });
  if (destination !== undefined) spec.destination = destination;
  if (destination?.includes(':') && via && via.gateway6 === undefined) {
    s.r.error(`an IPv6 destination via ${via.name}, which carries no IPv6: give link ${via.name} a gateway6, or send it via main`, viaNode);
  }
  const source = readSources(field(s, map, 'source'), destination, via, viaNode, s);
  if (source !== undefined) spec.source = source;
  const ins = readIns(field(s, map, 'in'), lan, links, s);
  if (ins !== undefined) spec.in = ins;
  if (protocol !== undefined) spec.protocol = protocol;
  const portsNode = field(s, map, 'ports');
  const ports = readPorts(portsNode, s);
  if (ports !== undefined) spec.ports = ports;
  if (has(map, 'ports') && !has(map, 'protocol')) {
    s.r.error('ports need a protocol: add protocol: tcp or protocol: udp to this exception', portsNode ?? map);
  }
  return spec;
}

/**
 * `source: 192.0.2.0/24` or a list of prefixes, IPv4 and IPv6. With a destination every
 * source must be of its family (a rule cannot match an IPv4 source and an IPv6 destination).
 */
function readSources(node: YValue | undefined, destination: string | undefined, via: LinkSpec | undefined, viaNode: YValue | YMap, s: PlayScope): string[] | undefined {
  const items = readList(node, 'source', s.r);
  if (!items) return undefined;
  if (items.length === 0) return expected(s.r, 'source', 'at least one prefix', node as YValue);
  const out: string[] = [];
  let v6ViaReported = false;
  for (const item of items) {
    const cidr = readCidr(item, 'source', s.r, { ipv6: true });
    if (cidr === undefined) continue;
    const v6 = cidr.includes(':');
    if (destination !== undefined && destination.includes(':') !== v6) {
      s.r.error(`source ${cidr} is ${v6 ? 'IPv6' : 'IPv4'} but destination ${destination} is ${v6 ? 'IPv4' : 'IPv6'}: one exception matches one family; split it in two`, item);
      continue;
    }
    if (v6 && via && via.gateway6 === undefined && !v6ViaReported) {
      v6ViaReported = true;
      s.r.error(`an IPv6 source via ${via.name}, which carries no IPv6: give link ${via.name} a gateway6, or send it via main`, viaNode);
    }
    if (!out.includes(cidr)) out.push(cidr);
  }
  return out.length > 0 ? out : undefined;
}

/** `in: lan0` or a list: LAN interfaces of the play (a connection from elsewhere is never balanced). */
function readIns(node: YValue | undefined, lan: string[] | undefined, links: LinkSpec[], s: PlayScope): string[] | undefined {
  const items = readList(node, 'in', s.r);
  if (!items) return undefined;
  if (items.length === 0) return expected(s.r, 'in', 'at least one LAN interface', node as YValue);
  const out: string[] = [];
  for (const item of items) {
    const name = readInterface(item, 'in', s.r);
    if (name === undefined) continue;
    if (lan !== undefined && !lan.includes(name)) {
      const lans = lan.length > 0 ? `an interface of balance.lan (${lan.join(', ')})` : 'an interface of balance.lan, which is empty (only forwarded connections arrive on one)';
      const uplink = links.find((l) => l.interface === name);
      const hint = uplink ? ` (${name} is the uplink of link ${uplink.name}; in names where a LAN's connections arrive)` : didYouMean(name, lan);
      s.r.error(`in: expected ${lans}, got ${show(item)}${hint}`, item);
      continue;
    }
    if (!out.includes(name)) out.push(name);
  }
  return out.length > 0 ? out : undefined;
}

function readPorts(node: YValue | undefined, s: PlayScope): number[] | undefined {
  const items = readList(node, 'ports', s.r);
  if (!items) return undefined;
  if (items.length === 0) return expected(s.r, 'ports', 'at least one port', node as YValue);
  const ports = items.map((item) => readWhole(item, 'port', s.r, { min: 1, max: 65535 }));
  return ports.every((p) => p !== undefined) ? [...new Set(ports as number[])] : undefined;
}

function readVia(node: YValue | undefined, links: LinkSpec[], s: PlayScope): string | undefined {
  const via = readString(node, 'via', s.r);
  if (via === undefined || via === 'main' || links.some((l) => l.name === via)) return via;
  const names = [...new Set(links.map((l) => l.name).filter((n) => n && n !== 'main'))];
  return expected(s.r, 'via', `main or a link of this play (${names.join(', ')})`, node as YValue);
}
