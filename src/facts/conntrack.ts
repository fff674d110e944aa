// Fact: how many conntrack entries carry a link's mark. conntrack-tools (1.4.5 and later,
// checked with 1.4.7) filters `-L -m VALUE/MASK` on the connection mark under the mask, and
// prints "conntrack vX (conntrack-tools): N flow entries have been shown." on stderr: only
// that summary line crosses the wire, never the table itself.
import { hex } from '../compile/iptables-text.js';
import { ABSENT } from '../shell/reply.js';
import { sh, type Sh } from '../shell/sh.js';

export function conntrackCountCommand(mark: number, mask: number): Sh {
  if (!Number.isInteger(mark) || !Number.isInteger(mask)) throw new Error(`invalid mark ${mark}/${mask}`);
  return sh`if command -v conntrack >/dev/null 2>&1; then { conntrack -L -m ${`${hex(mark)}/${hex(mask)}`} >/dev/null; } 2>&1; else echo ${ABSENT}; fi`;
}

export type ConntrackCount = { count: number } | { missing: true } | { unreadable: string };

/** Parses the summary line; the tool missing, or output without a summary, says so. */
export function parseConntrackCount(text: string): ConntrackCount {
  if (text.trim() === ABSENT) return { missing: true };
  const m = /(\d+) flow entries have been shown/.exec(text);
  if (m) return { count: Number(m[1]) };
  return { unreadable: text.trim().split('\n').pop() ?? '' };
}
