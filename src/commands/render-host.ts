// What `multilink render INVENTORY --host NAME` prints: every change apply would make on a
// fresh router, as literal commands, without connecting anywhere.
import type { DesiredState } from '../model/desired.js';
import { quote } from '../quote.js';
import { renderRestorePayload } from './iptables-restore.js';
import { renderRouteArgs, renderRuleArgs } from './ip.js';
import { renderSysctlCommand } from './sysctl.js';

function section(title: string, lines: string[]): string {
  return [`# ${title}`, ...(lines.length > 0 ? lines : ['# (none)'])].join('\n');
}

export function renderHost(desired: DesiredState): string {
  const payload = renderRestorePayload(desired.chains, desired.jumps, 'insert').trimEnd();
  return `${[
    `# multilink: desired state of host ${desired.host} (method ${desired.method}, traffic ${desired.traffic.join(',') || 'none'})`,
    section('iptables-restore --noflush payload', payload === '' ? [] : payload.split('\n')),
    section('ip rules', desired.rules.map((r) => `ip rule add ${renderRuleArgs(r).map(quote).join(' ')}`)),
    section('ip routes', desired.routes.map((r) => `ip route replace ${renderRouteArgs(r).map(quote).join(' ')}`)),
    section('sysctls', desired.sysctls.map(renderSysctlCommand)),
    section('modules', desired.modules.map((m) => `modprobe ${quote(m)}`)),
    section('link monitor', monitorLines(desired)),
  ].join('\n\n')}\n`;
}

/** The monitor's settings and the balancing chain it loads for each set of healthy links. */
function monitorLines(desired: DesiredState): string[] {
  const m = desired.monitor;
  if (!m) return [];
  const name = (mask: number): string => m.links.filter((l) => (mask & (1 << (l.index - 1))) !== 0).map((l) => l.name).join('+') || 'none (all kept)';
  return [
    `# probes ${m.targets.join(', ')} through each link every ${m.intervalMs} ms; down after ${m.downAfter} failed rounds, up after ${m.upAfter} good ones; quorum ${m.quorum}`,
    ...Object.entries(m.balance).flatMap(([mask, rules]) => [`# healthy: ${name(Number(mask))}`, ...rules.map((r) => `#   -A ${desired.balanceChain.name} ${r}`)]),
  ];
}
