// ML_PRE and ML_OUT: give every packet of a connection its link mark. ML_PRE is hooked from
// mangle PREROUTING (every interface), ML_OUT from mangle OUTPUT.
import type { CompiledLink } from '../model/desired.js';
import { CHAIN_NEW, connmarkRestore, connmarkSave, markMatch, pinnedMark, setMark, unmarked } from './iptables-text.js';

/** A packet that already carries our mark bits: from its socket (a probe bound to one link) or restored. */
const done = (mask: number): string => `${markMatch(0, mask, true)} -j RETURN`;

/**
 * A TCP connection that conntrack picked up mid-stream (the router's first stateful rule, a
 * flush: nf_conntrack_tcp_loose makes any packet of it NEW) is not a new connection: it keeps
 * normal routing, and that choice is saved in its connmark so it is never balanced later.
 */
const pickup = (mask: number): string => `-p tcp -m conntrack --ctstate NEW -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN ${setMark(pinnedMark(mask), mask)}`;

/** Only a genuine new connection (original direction; for TCP a SYN, see pickup) is balanced. */
const balance = (mask: number, match = ''): string => `${match}-m conntrack --ctstate NEW ${unmarked(mask)} -j ${CHAIN_NEW}`;

/**
 * Order matters:
 * 1. A packet with our bits already set decided by its socket (SO_MARK): leave it alone. This
 *    runs before the restore, so it sees the packet's own mark, not the connection's.
 * 2. Copy the connection's mark onto the packet; 3. a connection that has a link keeps it.
 * 4. A new connection arriving on a link (inbound: SSH to a WAN address, a port forward) is
 *    marked for that link, so its replies, forwarded ones included, leave by it.
 * 5. Mid-stream pickups keep normal routing; 6. new connections from a LAN interface go
 *    through the exceptions and the balance; 7. the decision is stored in the connection, so
 *    every later packet (and RELATED ones via the helpers) follows the same link.
 */
export function preroutingRules(links: CompiledLink[], lans: string[], forwarded: boolean, mask: number): string[] {
  const inbound = links.filter((l) => l.inbound).map((l) => `-i ${l.interface} -m conntrack --ctstate NEW ${setMark(l.mark, mask)}`);
  const lan = forwarded ? lans.map((i) => balance(mask, `-i ${i} `)) : [];
  return [done(mask), connmarkRestore(mask), done(mask), ...inbound, ...(lan.length > 0 ? [pickup(mask), ...lan] : []), `-m conntrack --ctstate NEW ${connmarkSave(mask)}`];
}

/** The router's own packets: replies of inbound connections get their link; with `local`, new ones are balanced. */
export function outputRules(local: boolean, mask: number): string[] {
  const restore = [done(mask), connmarkRestore(mask)];
  if (!local) return restore;
  return [...restore, done(mask), pickup(mask), balance(mask), `-m conntrack --ctstate NEW ${connmarkSave(mask)}`];
}
