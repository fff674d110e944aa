// A play's exceptions for one host: destinations and ports that skip the balance.
import type { ExceptionSpec, LinkSpec } from '../model/config.js';
import { field, has, type PlayScope } from './play-scope.js';
import type { PlayNode } from './playbook.js';
import { expected, readCidr, readEnum, readList, readString, readWhole } from './values.js';
import type { YMap, YValue } from './yaml-source.js';

export function resolveExceptions(play: PlayNode, links: LinkSpec[], s: PlayScope): ExceptionSpec[] {
  return play.exceptions.map((map) => resolveException(map, links, s));
}

function resolveException(map: YMap, links: LinkSpec[], s: PlayScope): ExceptionSpec {
  if (!has(map, 'destination') && !has(map, 'protocol') && !has(map, 'ports')) {
    s.r.error('exception matches every connection: give a destination and/or a protocol (with ports)', map);
  }
  const protocol = readEnum(field(s, map, 'protocol'), 'protocol', ['tcp', 'udp'] as const, s.r);
  const spec: ExceptionSpec = { via: readVia(field(s, map, 'via'), links, s) ?? 'main', pos: map.pos };
  const destination = readCidr(field(s, map, 'destination'), 'destination', s.r, { ipv6: true });
  if (destination !== undefined) spec.destination = destination;
  const via = links.find((l) => l.name === spec.via);
  if (destination?.includes(':') && via && via.gateway6 === undefined) {
    s.r.error(`an IPv6 destination via ${via.name}, which carries no IPv6: give link ${via.name} a gateway6, or send it via main`, field(s, map, 'via') ?? map);
  }
  if (protocol !== undefined) spec.protocol = protocol;
  const portsNode = field(s, map, 'ports');
  const ports = readPorts(portsNode, s);
  if (ports !== undefined) spec.ports = ports;
  if (has(map, 'ports') && !has(map, 'protocol')) {
    s.r.error('ports need a protocol: add protocol: tcp or protocol: udp to this exception', portsNode ?? map);
  }
  return spec;
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
