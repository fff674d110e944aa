// Fact: the routes of one routing table, from `ip -4 route show table T`.
import type { LiveRoute } from '../model/facts.js';
import { sh, type Sh } from '../shell/sh.js';

/** A table that does not exist yet makes ip fail ("FIB table does not exist"): that is an empty table. */
export function ipRouteCommand(table: number, family: 4 | 6 = 4): Sh {
  if (!Number.isInteger(table) || table < 1) throw new Error(`invalid routing table ${table}`);
  return family === 6 ? sh`ip -6 route show table ${table} 2>/dev/null || true` : sh`ip -4 route show table ${table} 2>/dev/null || true`;
}

/** What IPv6 routes print by default (iproute2: `metric 1024 pref medium`; BusyBox: `metric 1024`), and a lifetime left. */
function ipv6Decoration(words: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if ((words[i] === 'metric' && words[i + 1] === '1024') || (words[i] === 'pref' && words[i + 1] === 'medium') || words[i] === 'expires') {
      i++;
      continue;
    }
    out.push(words[i]);
  }
  return out;
}

/** Flags ip prints about a route's current condition, not part of the route itself. */
const STATUS_FLAGS = new Set(['linkdown', 'dead', 'offload', 'trap', 'rt_offload', 'rt_trap', 'rt_offload_failed', 'notify', 'pervasive']);

export function parseIpRoutes(text: string, family: 4 | 6 = 4): LiveRoute[] {
  const routes: LiveRoute[] = [];
  for (const raw of text.split('\n')) {
    const kept = raw
      .trim()
      .split(/\s+/)
      .filter((w) => !STATUS_FLAGS.has(w));
    const line = (family === 6 ? ipv6Decoration(kept) : kept).join(' ');
    if (line === '' || line.startsWith('Error:') || line.startsWith('Dump terminated')) continue;
    const words = line.split(/\s+/);
    const route: LiveRoute = { text: line, dst: words[0] };
    const via = words.indexOf('via');
    if (via >= 0) route.via = words[via + 1];
    const dev = words.indexOf('dev');
    if (dev >= 0) route.dev = words[dev + 1];
    routes.push(route);
  }
  return routes;
}
