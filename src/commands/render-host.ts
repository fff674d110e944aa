// What `multilink render INVENTORY --host NAME` prints: exactly the commands and payloads a
// deploy sends to a router multilink has never touched, connecting nowhere.
import type { DesiredState } from '../model/desired.js';
import { freshFacts } from '../facts/fresh.js';
import { planHost } from '../plan/plan.js';
import { withBackend } from '../plan/backend.js';
import { guardVariables, monitorVariables } from '../remote/programs.js';
import { assign } from '../shell/sh.js';
import { guardData, monitorData } from '../render/monitor.js';
import { renderPlan, type Action } from '../render/ops.js';

function section(title: string, lines: string[]): string {
  return [`# ${title}`, ...(lines.length > 0 ? lines : ['# (none)'])].join('\n');
}

const commands = (actions: Action[]): string[] => actions.map((a) => a.command.text);

function monitorLines(desired: DesiredState): string[] {
  if (!desired.monitor) return [];
  if (desired.monitor.guardOnly) {
    return [
      '# guard only (no health, gateway auto or adaptive): the script is lib.sh, src/remote/monitor-record.sh, src/remote/monitor-guard.sh, these variables, then src/remote/monitor-guard-loop.sh',
      ...Object.entries(guardVariables(guardData(desired))).map(([k, v]) => assign(k, v).text),
    ];
  }
  const { params, functions } = monitorData(desired);
  return [
    `# the script is lib.sh, src/remote/monitor-record.sh, src/remote/monitor-round.sh, these functions and variables, then src/remote/monitor.sh`,
    ...functions.text.split('\n'),
    ...Object.entries(monitorVariables(params)).map(([k, v]) => assign(k, v).text),
  ];
}

export function renderHost(compiled: DesiredState): string {
  const plan = planHost(compiled, freshFacts(compiled));
  const desired = withBackend(compiled, plan.firewall ?? 'iptables', plan);
  const r = plan.ops ? renderPlan(plan.ops, desired) : undefined;
  const payload = (r?.iptables ?? '').trimEnd();
  const payload6 = (r?.ip6tables ?? '').trimEnd();
  const nft = (r?.nft ?? '').trimEnd();
  const firewall = desired.settings.firewall;
  const netfilter =
    nft !== ''
      ? [section('nft -f payload (multilink_firewall: nft)', nft.split('\n'))]
      : [
          section(`iptables-restore --noflush payload${firewall === 'auto' ? ' (firewall auto: for a router without nft; one with nft gets table inet multilink, as multilink_firewall: nft renders)' : ''}`, payload === '' ? [] : payload.split('\n')),
          ...(payload6 === '' ? [] : [section('ip6tables-restore --noflush payload', payload6.split('\n'))]),
        ];
  return `${[
    `# multilink: what a deploy sends to host ${desired.host} on a router it never touched (method ${desired.method}, traffic ${desired.traffic.join(',') || 'none'})`,
    ...netfilter,
    section('ip rules', commands(r?.rules ?? [])),
    section('ip routes', commands(r?.routes ?? [])),
    section('sysctls (ml_sysctl KEY VALUE writes VALUE to /proc/sys/KEY)', commands(r?.sysctls ?? [])),
    section('modules (modprobe only where not loaded or built in)', commands(r?.modules ?? [])),
    section('link monitor', monitorLines(desired)),
  ].join('\n\n')}\n`;
}
