// ML_NEW: connections to the router's own addresses, broadcasts, multicast and the router's
// DHCP client are never balanced; then the exceptions, checked before balancing, first match wins; then ML_BALANCE.
// `via: main` returns unmarked (normal routing); `via: LINK` sets that link's mark.
// First-match-wins comes from the mark guard on every rule after the first: once a rule
// has marked the packet no later rule (nor the jump to ML_BALANCE) matches. A RETURN rule
// leaves the chain itself. The first rule needs no guard: ML_PRE and ML_OUT only enter
// ML_NEW with our mark bits at zero.
import type { ExceptionSpec } from '../model/config.js';
import type { CompiledLink, Family } from '../model/desired.js';
import { formatCidr6, parseCidr6 } from '../net/ipv6.js';
import { networkAddress, parseCidr } from '../net/ipv4.js';
import { CHAIN_BALANCE, setMark, unmarked } from './iptables-text.js';

/** multiport takes at most 15 ports per rule. */
const MULTIPORT_MAX = 15;

/** The match parts of one exception, in iptables-save's order: -s, -d, -i, -p, then -m matches. */
interface MatchParts {
  /** `-s A/L -d A/L -i IF -p tcp`: fields of the entry itself, printed before any -m. */
  head: string[];
  /** `-m tcp --dport 21` or `-m multiport --dports 21,22`. */
  tail: string[];
}

/**
 * Never balanced, normal routing: the router's own addresses (its LAN services, its WAN
 * addresses from the LAN), broadcasts and multicast (a LAN's DHCP discovers, mDNS), and the
 * router's DHCP client talking to its link's server (it belongs to that interface). IPv6 has
 * no broadcast (ip6tables refuses the type), and link-local destinations (a gateway, a
 * neighbour) belong to one link: never marked; nor the DHCPv6 client.
 */
function unbalanced(family: Family): MatchParts[] {
  if (family === 6) {
    return [
      { head: [], tail: ['-m addrtype --dst-type LOCAL,MULTICAST'] },
      { head: ['-d fe80::/10'], tail: [] },
      { head: ['-p udp'], tail: ['-m udp --sport 546 --dport 547'] },
    ];
  }
  return [
    { head: [], tail: ['-m addrtype --dst-type LOCAL,BROADCAST,MULTICAST'] },
    { head: ['-p udp'], tail: ['-m udp --sport 68 --dport 67'] },
  ];
}

/**
 * The exception's sources of this family; undefined when it has sources but none of this
 * family (it does not apply), [] when it has none (any source).
 */
function familySources(ex: ExceptionSpec, family: Family): string[] | undefined {
  if (ex.source === undefined || ex.source.length === 0) return [];
  const mine = ex.source.filter((c) => c.includes(':') === (family === 6));
  return mine.length > 0 ? mine : undefined;
}

/**
 * ML_NEW of one family: an exception with a destination (or only sources of one family)
 * belongs to that family; one without addresses, to both. In IPv6 an exception via a link without IPv6 does not apply (its
 * connections are balanced over the links that carry IPv6).
 */
export function newChainRules(exceptions: ExceptionSpec[], links: CompiledLink[], mask: number, family: Family = 4): string[] {
  const bodies: { parts: MatchParts; target: string }[] = unbalanced(family).map((parts) => ({ parts, target: '-j RETURN' }));
  for (const ex of exceptions) {
    if (ex.destination !== undefined && ex.destination.includes(':') !== (family === 6)) continue;
    if (family === 6 && ex.via !== 'main' && !links.some((l) => l.name === ex.via)) continue;
    const sources = familySources(ex, family);
    if (sources === undefined) continue;
    const target = exceptionTarget(ex, links, mask);
    for (const parts of exceptionMatches({ ...ex, source: sources })) bodies.push({ parts, target });
  }
  bodies.push({ parts: { head: [], tail: [] }, target: `-j ${CHAIN_BALANCE}` });
  return bodies.map(({ parts, target }, i) => {
    const guard = i === 0 ? [] : [unmarked(mask)];
    return [...parts.head, ...guard, ...parts.tail, target].join(' ');
  });
}

function exceptionTarget(ex: ExceptionSpec, links: CompiledLink[], mask: number): string {
  if (ex.via === 'main') return '-j RETURN';
  const link = links.find((l) => l.name === ex.via);
  // Validation refuses a `via` naming no link; reaching this is a bug upstream.
  if (!link) throw new Error(`exception via '${ex.via}' names no link of this play`);
  return setMark(link.mark, mask);
}

/**
 * One exception can need several rules: one per source and per LAN interface (iptables
 * itself expands `-s a,b` into one rule each), ports without a protocol, more than 15 ports.
 * The head keeps iptables-save's order: -s, -d, -i, -p.
 */
export function exceptionMatches(ex: ExceptionSpec): MatchParts[] {
  const dst = ex.destination === undefined ? [] : addressMatch('-d', ex.destination);
  const sources = ex.source === undefined || ex.source.length === 0 ? [[]] : ex.source.map((c) => addressMatch('-s', c));
  const ins = ex.in === undefined || ex.in.length === 0 ? [[]] : ex.in.map((i) => [`-i ${i}`]);
  const out: MatchParts[] = [];
  for (const src of sources) {
    for (const iface of ins) {
      for (const p of protoMatches(ex)) out.push({ head: [...src, ...dst, ...iface, ...p.head], tail: p.tail });
    }
  }
  return out;
}

/** The protocol and port parts: ports without a protocol apply to both tcp and udp. */
function protoMatches(ex: ExceptionSpec): MatchParts[] {
  const ports = ex.ports === undefined ? [] : [...new Set(ex.ports)];
  if (ports.length === 0) return [{ head: ex.protocol ? [`-p ${ex.protocol}`] : [], tail: [] }];
  const protocols = ex.protocol ? [ex.protocol] : (['tcp', 'udp'] as const);
  const out: MatchParts[] = [];
  for (const proto of protocols) {
    for (let i = 0; i < ports.length; i += MULTIPORT_MAX) {
      const chunk = ports.slice(i, i + MULTIPORT_MAX);
      const tail = chunk.length === 1 ? [`-m ${proto} --dport ${chunk[0]}`] : [`-m multiport --dports ${chunk.join(',')}`];
      out.push({ head: [`-p ${proto}`], tail });
    }
  }
  return out;
}

/** `-d A/L` (or `-s`) with host bits cleared, as iptables prints it; 0.0.0.0/0 (::/0) is no match at all. */
function addressMatch(flag: '-s' | '-d', cidr: string): string[] {
  const what = flag === '-s' ? 'source' : 'destination';
  if (cidr.includes(':')) {
    const c6 = parseCidr6(cidr);
    if (!c6) throw new Error(`exception ${what} '${cidr}' is not an IPv6 prefix`);
    return c6.prefix === 0 ? [] : [`${flag} ${formatCidr6(c6)}`];
  }
  const parsed = parseCidr(cidr);
  if (!parsed) throw new Error(`exception ${what} '${cidr}' is not an IPv4 CIDR`);
  if (parsed.prefix === 0) return [];
  return [`${flag} ${networkAddress(parsed)}/${parsed.prefix}`];
}
