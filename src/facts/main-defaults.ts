// Fact: the default routes of the main table, per interface: what a `gateway: auto` link
// follows (DHCP and PPP clients keep them there, at any metric).
import { sh } from '../shell/sh.js';

export const MAIN_DEFAULTS_COMMAND = sh`ip -4 route show table main exact 0/0 2>/dev/null || true`;
/** IPv6's: router advertisements' (`proto ra`), DHCPv6/PPP clients', netifd's source-specific ones (`default from P via G`). */
export const MAIN_DEFAULTS6_COMMAND = sh`ip -6 route show table main exact ::/0 2>/dev/null || true`;

/** Interface → `via GATEWAY`, or `dev` for a default route without a gateway (point-to-point); the lowest metric first wins. */
export function parseMainDefaults(text: string): Record<string, string> {
  const routes: { dev: string; gw: string; metric: number }[] = [];
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== 'default') continue;
    const at = (key: string): string | undefined => {
      const i = words.indexOf(key);
      return i >= 0 ? words[i + 1] : undefined;
    };
    const dev = at('dev');
    if (!dev) continue;
    const via = at('via');
    routes.push({ dev, gw: via ? `via ${via}` : 'dev', metric: Number(at('metric') ?? 0) });
  }
  routes.sort((a, b) => a.metric - b.metric);
  const out: Record<string, string> = {};
  for (const r of routes) out[r.dev] ??= r.gw;
  return out;
}
