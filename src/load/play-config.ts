// One play resolved for one host (templates substituted, defaults applied, every value
// checked), or for no host at all, to check a play that nobody targets.
import { BALANCE_METHODS, type HealthSpec, type Helper, type LinkSpec, type PlayConfig, type TrafficKind } from '../model/config.js';
import { resolveExceptions } from './exceptions.js';
import { applyWeightOverlay, checkWeightsNotAllZero, resolveLinks } from './links.js';
import { field, has, render, type PlayScope } from './play-scope.js';
import type { PlayNode } from './playbook.js';
import { expected, readDuration, readEnum, readInterface, readIPv4, readList, readWhole } from './values.js';
import type { YValue } from './yaml-source.js';
import { canonicalIPv6 } from '../net/ipv6.js';


const TRAFFIC: readonly TrafficKind[] = ['forwarded', 'local'];
const HELPERS: readonly Helper[] = ['ftp'];
const RP_FILTER = ['loose', 'off'] as const;

/**
 * `host` says whether a host is known: without one, `overlay` cannot exist yet, so the
 * weights as a whole are not judged (a play may drain every link and let hosts pick).
 */
export function resolvePlay(play: PlayNode, s: PlayScope, host?: { overlay?: YValue }): PlayConfig {
  const links = resolveLinks(play, s);
  if (host) {
    applyWeightOverlay(links, host.overlay, play, s);
    checkWeightsNotAllZero(links, play, s, host.overlay);
  }
  const { method, traffic, lan, lanKnown } = resolveBalance(play, links, s);
  if (method !== 'adaptive' && links.some((l) => l.minShare !== undefined || l.maxShare !== undefined)) {
    s.r.error(`min_share and max_share bound the weights that method adaptive learns; play '${play.name}' balances with method ${method}`, { pos: play.linksAt });
  }
  const config: PlayConfig = {
    name: play.name,
    pos: play.pos,
    method,
    traffic,
    lan,
    links,
    exceptions: resolveExceptions(play, links, lanKnown ? lan : undefined, s),
    helpers: [...new Set(listOf(render(s, play.helpers), 'helpers', s, (n) => readEnum(n, 'helper', HELPERS, s.r)))],
    rpFilter: readRpFilter(render(s, play.rpFilter), s) ?? 'loose',
  };
  const health = resolveHealth(play, s);
  if (health) config.health = health;
  if (health?.targets.some((t) => t.includes(':')) && !links.some((l) => l.gateway6 !== undefined)) {
    s.r.error('IPv6 health targets, but no link carries IPv6: give the links a gateway6, or probe IPv4 targets only', field(s, play.health!, 'targets') ?? play.health!);
  }
  return config;
}

/** YAML 1.1 (Ansible's) reads a bare `off` as false: take it as the user meant it. */
function readRpFilter(node: YValue | undefined, s: PlayScope): PlayConfig['rpFilter'] | undefined {
  if (node?.kind === 'scalar' && node.value === false) return 'off';
  return readEnum(node, 'rp_filter', RP_FILTER, s.r);
}

/** Items of a list read one by one; items that fail are left out (already reported). */
function listOf<T>(node: YValue | undefined, what: string, s: PlayScope, read: (n: YValue) => T | undefined): T[] {
  return (readList(node, what, s.r) ?? []).map(read).filter((v): v is T => v !== undefined);
}

function resolveBalance(play: PlayNode, links: LinkSpec[], s: PlayScope): Pick<PlayConfig, 'method' | 'traffic' | 'lan'> & { lanKnown: boolean } {
  const b = play.balance;
  const method = readEnum(field(s, b, 'method'), 'method', BALANCE_METHODS, s.r) ?? 'random';
  const trafficNode = field(s, b, 'traffic');
  const traffic = has(b, 'traffic') ? readTraffic(trafficNode, s) : ['forwarded' as const];
  const lanNode = field(s, b, 'lan');
  const lanItems = readList(lanNode, 'lan', s.r) ?? [];
  const lan = lanItems.map((n) => checkLan(n, links, s)).filter((n): n is string => n !== undefined);
  // A lan list that is a template nobody resolved is unknown: nothing to check against.
  const lanKnown = !has(b, 'lan') || lanNode !== undefined;
  if (traffic.includes('forwarded') && lanItems.length === 0 && lanKnown) {
    const which = trafficNode ? 'traffic forwarded' : 'traffic forwarded (the default)';
    const summary = `${which} needs a non-empty balance.lan: the interfaces forwarded connections come in on`;
    s.r.error(summary, trafficNode ?? lanNode ?? b ?? play);
  }
  return { method, traffic, lan, lanKnown };
}

function readTraffic(node: YValue | undefined, s: PlayScope): TrafficKind[] {
  const items = readList(node, 'traffic', s.r);
  if (node && items?.length === 0) expected(s.r, 'traffic', 'forwarded and/or local', node);
  return [...new Set((items ?? []).map((n) => readEnum(n, 'traffic', TRAFFIC, s.r)).filter((t) => t !== undefined))];
}

function checkLan(node: YValue, links: LinkSpec[], s: PlayScope): string | undefined {
  const name = readInterface(node, 'lan', s.r);
  const link = links.find((l) => l.interface === name);
  if (name === undefined || !link) return name;
  return expected(s.r, 'lan', `an interface that is not an uplink (link ${link.name} uses ${name})`, node);
}

function resolveHealth(play: PlayNode, s: PlayScope): HealthSpec | undefined {
  const h = play.health;
  if (!h) return undefined;
  const targetsNode = field(s, h, 'targets');
  // IPv6 targets judge the links' IPv6 (their gateway6), IPv4 targets their IPv4.
  const target = (n: YValue): string | undefined => {
    const text = n.kind === 'scalar' && typeof n.value === 'string' ? n.value.trim() : '';
    if (text.includes(':')) {
      const v6 = canonicalIPv6(text);
      return v6 ?? expected(s.r, 'health target', 'an IPv4 address (a.b.c.d) or an IPv6 address (2001:db8::1)', n);
    }
    return readIPv4(n, 'health target', s.r);
  };
  const targets = listOf(targetsNode, 'targets', s, target);
  if (targetsNode?.kind === 'seq' && targetsNode.items.length === 0) {
    expected(s.r, 'targets', 'at least one IPv4 or IPv6 address to probe', targetsNode);
  }
  const quorumNode = field(s, h, 'quorum');
  const quorum = readWhole(quorumNode, 'quorum', s.r, { min: 1 }) ?? 1;
  if (quorumNode && targets.length > 0 && quorum > targets.length) {
    expected(s.r, 'quorum', `at most the number of targets (${targets.length})`, quorumNode);
  }
  return {
    targets,
    intervalMs: readDuration(field(s, h, 'interval'), 'interval', s.r) ?? 1000,
    downAfter: readWhole(field(s, h, 'down_after'), 'down_after', s.r, { min: 1 }) ?? 3,
    upAfter: readWhole(field(s, h, 'up_after'), 'up_after', s.r, { min: 1 }) ?? 3,
    quorum,
  };
}
