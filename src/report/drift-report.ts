// Views of a drift report: human text (per-host lines, unified diffs, a closing table) or
// the one JSON document --json prints.
import type { DriftReport, HostDrift } from '../model/drift.js';
import type { Change } from '../model/plan.js';
import { summaryLine } from './summary.js';
import { changeDiff, changeLine } from './changes.js';
import { formatTable } from './table.js';

const single = (s: string | undefined): s is string => s !== undefined && !s.includes('\n');

export function differenceLine(d: Change): string {
  if (d.op === 'clash') {
    const what = single(d.actual) ? ` foreign "${d.actual}"` : '';
    return `! ${d.kind} ${d.object}:${what}${d.detail ? ` - ${d.detail}` : ''}`;
  }
  const line = changeLine({ kind: d.kind, op: d.op, object: d.object, expected: d.expected, actual: d.actual });
  if (d.op === 'delete' && single(d.actual) && !d.object.includes(d.actual) && !d.actual.includes(d.object)) return `${line} (live: ${d.actual})`;
  return line;
}

/** Changes whose expected or live side spans lines get a unified diff (live → compiled). */
export function differenceDiff(host: string, d: Change): string {
  if (!(d.expected ?? '').includes('\n') && !(d.actual ?? '').includes('\n')) return '';
  return changeDiff(host, { kind: d.kind, op: d.op === 'clash' ? 'update' : d.op, object: d.object, expected: d.expected, actual: d.actual });
}

export function hostDriftText(h: HostDrift): string {
  const lines = [`${h.host}: ${h.status}${h.message ? ` - ${h.message}` : ''}`];
  for (const d of h.differences) {
    lines.push(`  ${differenceLine(d)}`);
    const diff = differenceDiff(h.host, d);
    if (diff) lines.push(diff.replace(/^/gm, '    '));
  }
  for (const l of h.links ?? []) lines.push(`  link ${l.link}: ${l.state}${l.reason ? ` (${l.reason})` : ''}`);
  return lines.join('\n');
}

export function driftSummaryLine(report: DriftReport): string {
  return summaryLine(report.hosts.length, report.summary);
}

export function driftTable(report: DriftReport): string {
  const rows = report.hosts.map((h) => [
    h.host,
    h.status,
    h.status === 'unreachable' || (h.status === 'error' && h.differences.length === 0) ? '-' : String(h.differences.length),
    h.status === 'in_sync' || h.status === 'drift' ? '' : (h.message ?? ''),
  ]);
  return `${formatTable(['HOST', 'STATUS', 'DIFFERENCES', 'DETAIL'], rows)}\n\n${driftSummaryLine(report)}`;
}

export function driftText(report: DriftReport): string {
  return `${report.hosts.map(hostDriftText).join('\n')}\n\n${driftTable(report)}`;
}

/**
 * Each host's `outcome`, as every fleet command names it; `status` (its old name) is kept as
 * well for one release.
 */
export function driftJson(report: DriftReport): string {
  return JSON.stringify({ ...report, hosts: report.hosts.map(({ host, status, ...rest }) => ({ host, outcome: status, status, ...rest })) }, null, 2);
}
