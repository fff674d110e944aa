// Views of a status report: one table of every host's links, or the JSON document.
import type { HostStatus, StatusReport } from '../model/status.js';
import { formatTable } from './table.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

export function formatShare(share: number | null): string {
  return share === null ? '?' : `${(share * 100).toFixed(1)}%`;
}

const num = (n: number | null): string => (n === null ? '?' : String(n));

function rows(h: HostStatus): string[][] {
  if (h.status !== 'ok') return [[h.host, `(${h.status})`, '', '', '', '', '', '', '', '', h.message ?? '']];
  return h.links.map((l) => [
    h.host,
    l.link,
    l.interface,
    l.operstate ?? 'absent',
    String(l.weight),
    formatShare(l.configuredShare),
    formatShare(l.share),
    num(l.connections),
    num(l.packets),
    l.bytes === null ? '?' : formatBytes(l.bytes),
    l.health === 'unmonitored' ? 'unmonitored' : `${l.health}${l.since ? ` since ${l.since}` : ''}`,
  ]);
}

export function statusText(report: StatusReport): string {
  const head = ['HOST', 'LINK', 'IF', 'CARRIER', 'WEIGHT', 'CONFIGURED', 'IN FORCE', 'CONNS', 'PACKETS', 'BYTES SENT', 'HEALTH'];
  const notes = report.hosts.flatMap((h) => h.notes.map((n) => `note: ${h.host}: ${n}`));
  const counts = (['ok', 'unreachable', 'error'] as const).map((s) => `${s}=${report.summary[s]}`).join(' ');
  return [formatTable(head, report.hosts.flatMap(rows)), ...(notes.length ? ['', ...notes] : []), '', `${report.hosts.length} host${report.hosts.length === 1 ? '' : 's'}: ${counts}`].join('\n');
}

export function statusJson(report: StatusReport): string {
  return JSON.stringify(report, null, 2);
}
