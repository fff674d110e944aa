// The closing table of a run and the counts per outcome.
import type { HostOutcome, HostResult } from '../model/result.js';

export function countOutcomes(results: readonly Pick<HostResult, 'outcome'>[]): Partial<Record<HostOutcome, number>> {
  const counts: Partial<Record<HostOutcome, number>> = {};
  for (const r of results) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
  return counts;
}

export function summaryTable(results: HostResult[]): string {
  const rows = results.map((r) => [r.host, r.outcome, String(r.changes.length), `${(r.durationMs / 1000).toFixed(1)}s`, r.message ?? '']);
  const head = ['HOST', 'RESULT', 'CHANGES', 'TIME', 'DETAIL'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (i < 4 ? r[i].length : 0))));
  const fmt = (r: string[]): string => r.map((c, i) => (i < 4 ? c.padEnd(widths[i]) : c)).join('  ').trimEnd();
  const counts = Object.entries(countOutcomes(results)).map(([k, v]) => `${k}=${v}`).join(' ');
  return [fmt(head), ...rows.map(fmt), '', `${results.length} hosts: ${counts}`].join('\n');
}
