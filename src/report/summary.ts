// The closing table of a run, the counts per outcome, and the one summary line every fleet
// command (deploy, weights, rollback, remove, drift, status) ends with.
import { HOST_OUTCOMES, type HostOutcome, type HostResult } from '../model/result.js';

/** Hosts per outcome, every outcome named (0 when none ended so): the --json `summary`. */
export function countOutcomes(results: readonly Pick<HostResult, 'outcome'>[]): Record<HostOutcome, number> {
  const counts = Object.fromEntries(HOST_OUTCOMES.map((o) => [o, 0])) as Record<HostOutcome, number>;
  for (const r of results) counts[r.outcome]++;
  return counts;
}

/**
 * `3 hosts: changed=2 unreachable=1`: the hosts, then each outcome that some host ended
 * with, in the command's order of outcomes. The same shape for every fleet command.
 */
export function summaryLine(hosts: number, summary: Readonly<Partial<Record<string, number>>>): string {
  const counts = Object.entries(summary).filter(([, n]) => (n ?? 0) > 0).map(([k, n]) => `${k}=${n}`);
  return `${hosts} host${hosts === 1 ? '' : 's'}${counts.length > 0 ? `: ${counts.join(' ')}` : ''}`;
}

export function summaryTable(results: HostResult[]): string {
  const rows = results.map((r) => [r.host, r.outcome, String(r.changes.length), `${(r.durationMs / 1000).toFixed(1)}s`, r.message ?? '']);
  const head = ['HOST', 'RESULT', 'CHANGES', 'TIME', 'DETAIL'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (i < 4 ? r[i].length : 0))));
  const fmt = (r: string[]): string => r.map((c, i) => (i < 4 ? c.padEnd(widths[i]) : c)).join('  ').trimEnd();
  return [fmt(head), ...rows.map(fmt), '', summaryLine(results.length, countOutcomes(results))].join('\n');
}
