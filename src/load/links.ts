// A play's links for one host: each field checked, names and interfaces unique, then the
// host's multilink_weights overlay applied and the weights checked as a whole.
import type { LinkSpec } from '../model/config.js';
import { formatPos } from '../model/source.js';
import { field, type PlayScope } from './play-scope.js';
import type { PlayNode } from './playbook.js';
import { canonicalIPv6 } from '../net/ipv6.js';
import { expected, readBool, readInterface, readIPv4, readShare, readString, readWhole } from './values.js';
import type { YMap, YValue } from './yaml-source.js';

/** Link names end up in chain names and comments: short, plain, and never `main`. */
const LINK_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,14}$/;

interface ResolvedLink {
  spec: LinkSpec;
  /** The value nodes, so a duplicate is reported where (and for whom) it was written. */
  at: { name?: YValue; interface?: YValue };
}

export function resolveLinks(play: PlayNode, s: PlayScope): LinkSpec[] {
  const links = play.links.map((map) => resolveLink(map, s));
  checkUnique(links, 'name', s);
  checkUnique(links, 'interface', s);
  const mins = links.reduce((sum, l) => sum + (l.spec.minShare ?? 0), 0);
  if (mins > 1 + 1e-9) s.r.error(`the links' min_share add up to ${Math.round(mins * 1000) / 1000}, more than all of the new connections`, { pos: play.linksAt });
  return links.map((l) => l.spec);
}

function resolveLink(map: YMap, s: PlayScope): ResolvedLink {
  const at = { name: field(s, map, 'name'), interface: field(s, map, 'interface') };
  const name = readString(at.name, 'link name', s.r);
  if (name !== undefined && (!LINK_NAME.test(name) || name === 'main')) {
    const rule = "1-15 letters, digits, _ or -, starting with a letter, and not 'main' (it means normal routing)";
    expected(s.r, 'link name', rule, at.name as YValue);
  }
  const spec: LinkSpec = {
    name: name ?? '',
    interface: readInterface(at.interface, 'interface', s.r) ?? '',
    gateway: readGateway(field(s, map, 'gateway'), s) ?? '',
    weight: readWhole(field(s, map, 'weight'), 'weight', s.r, { min: 0 }) ?? 1,
    masquerade: readBool(field(s, map, 'masquerade'), 'masquerade', s.r) ?? true,
    tier: readWhole(field(s, map, 'tier'), 'tier', s.r, { min: 1 }) ?? 1,
    inbound: readBool(field(s, map, 'inbound'), 'inbound', s.r) ?? true,
    pos: map.pos,
  };
  const gateway6 = readGateway6(field(s, map, 'gateway6'), s);
  if (gateway6 !== undefined) spec.gateway6 = gateway6;
  const masquerade6 = readBool(field(s, map, 'masquerade6'), 'masquerade6', s.r);
  if (masquerade6 !== undefined) spec.masquerade6 = masquerade6;
  const min = readShare(field(s, map, 'min_share'), 'min_share', s.r);
  const max = readShare(field(s, map, 'max_share'), 'max_share', s.r);
  if (min !== undefined) spec.minShare = min;
  if (max !== undefined) spec.maxShare = max;
  if (min !== undefined && max !== undefined && min > max) s.r.error(`min_share ${min} is above max_share ${max}`, field(s, map, 'min_share') as YValue);
  return { spec, at };
}

/** An IPv4 address, `auto` (follow the interface's DHCP/PPP default route) or `none` (point-to-point). */
function readGateway(node: YValue | undefined, s: PlayScope): string | undefined {
  if (node?.kind === 'scalar' && (node.value === 'auto' || node.value === 'none')) return node.value;
  if (node?.kind === 'scalar' && typeof node.value === 'string' && !/^[0-9.]+$/.test(node.value.trim())) {
    return expected(s.r, 'gateway', "an IPv4 address like 100.64.1.1, 'auto' (follow the interface's DHCP/PPP default route) or 'none' (point-to-point)", node);
  }
  return readIPv4(node, 'gateway', s.r);
}

/**
 * The link's IPv6 gateway: `auto` (follow what the router learns for the interface: router
 * advertisements, DHCPv6, PPP), `none` (point-to-point), or an address, link-local (fe80::1, on
 * the link's interface) or global; written as ip prints it.
 */
function readGateway6(node: YValue | undefined, s: PlayScope): string | undefined {
  if (!node) return undefined;
  if (node.kind === 'scalar' && (node.value === 'auto' || node.value === 'none')) return node.value;
  const text = node.kind === 'scalar' && typeof node.value === 'string' ? node.value.trim() : undefined;
  const address = text === undefined ? undefined : canonicalIPv6(text);
  if (address !== undefined && address !== '::' && !address.startsWith('ff')) return address;
  return expected(s.r, 'gateway6', "an IPv6 address like fe80::1 or 2001:db8:1::1, 'auto' (learnt from router advertisements, DHCPv6 or PPP) or 'none' (point-to-point)", node);
}

function checkUnique(links: ResolvedLink[], key: 'name' | 'interface', s: PlayScope): void {
  const first = new Map<string, LinkSpec>();
  for (const { spec, at } of links) {
    const value = spec[key];
    const node = at[key];
    if (!value || !node) continue;
    const earlier = first.get(value);
    if (!earlier) first.set(value, spec);
    else s.r.error(`duplicate link ${key} '${value}': already used by the link at ${formatPos(earlier.pos)}`, node);
  }
}

/**
 * multilink_weights ({link: weight}) replaces the playbook's weights for this host.
 * Problems are reported where the overlay was written, naming the host whose play lacks the link.
 */
export function applyWeightOverlay(links: LinkSpec[], overlay: YValue | undefined, play: PlayNode, s: PlayScope): void {
  if (!overlay || (overlay.kind === 'scalar' && overlay.value === null)) return;
  if (overlay.kind !== 'map') {
    expected(s.r, 'multilink_weights', 'a mapping of link: weight', overlay);
    return;
  }
  for (const e of overlay.entries) {
    const link = links.find((l) => l.name === e.key);
    const weight = readWhole(e.value, `multilink_weights ${e.key}`, s.r, { min: 0 });
    if (!link) {
      const known = links.map((l) => l.name).join(', ');
      s.r.error(`multilink_weights: unknown link '${e.key}'; play '${play.name}' has links ${known}`, { pos: e.keyPos }, { perHost: true });
    } else if (weight !== undefined) link.weight = weight;
  }
}

/** Reported at the overlay when there is one: that is what this host changed. */
export function checkWeightsNotAllZero(links: LinkSpec[], play: PlayNode, s: PlayScope, overlay: YValue | undefined): void {
  if (links.length === 0 || links.some((l) => l.weight > 0)) return;
  const why = overlay ? ' (after multilink_weights)' : '';
  const at = overlay ?? { pos: play.linksAt };
  const summary = `every link has weight 0${why}: at least one link needs a weight > 0 to take new connections`;
  s.r.error(summary, at, { perHost: overlay !== undefined });
}
