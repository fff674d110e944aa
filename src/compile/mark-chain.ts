// ML_MARK: gives every packet of a connection its link mark. Hooked from mangle
// PREROUTING (per lan interface) and mangle OUTPUT.
import { CHAIN_NEW, connmarkRestore, connmarkSave, markMatch, unmarked } from './iptables-text.js';

/**
 * Order matters:
 * 1. A packet that arrives with a mark in our bits already set it from its socket (SO_MARK,
 *    e.g. a monitor probe bound to one link): leave it alone. This runs before the restore,
 *    so it sees the packet's own mark, not the connection's: an established connection's
 *    packets come in with our bits at zero, pass here, and get their mark from step 2.
 * 2. Copy the connection's mark (our bits only) onto the packet.
 * 3. A new connection still unmarked goes through the exceptions and the balance.
 * 4. Store the decision in the connection, so every later packet (and RELATED ones via
 *    the helpers) follows the same link. A `via: main` connection saves zero, and its
 *    later NEW-state packets take the same exception again (exceptions are deterministic).
 */
export function markChainRules(mask: number): string[] {
  return [
    `${markMatch(0, mask, true)} -j RETURN`,
    connmarkRestore(mask),
    `-m conntrack --ctstate NEW ${unmarked(mask)} -j ${CHAIN_NEW}`,
    `-m conntrack --ctstate NEW ${connmarkSave(mask)}`,
  ];
}
