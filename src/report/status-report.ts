// Views of a status report: one table of every host's links, the monitor's history of link
// changes, or the JSON document.
import type { HostStatus, LinkStatus, StatusReport } from '../model/status.js';
import { summaryLine } from './summary.js';
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

/** A dual-stack link's IPv6 row, under its IPv4 one. */
function ipv6Row(h: HostStatus, l: LinkStatus): string[][] {
  const v = l.ipv6;
  if (!v) return [];
  const health = v.health === 'unmonitored' ? 'unmonitored' : `${v.health}${sinceText(v)}`;
  return [[h.host, `${l.link} (IPv6)`, l.interface, '', '', formatShare(v.configuredShare), formatShare(v.share), '', num(v.packets), v.bytes === null ? '?' : formatBytes(v.bytes), health, v.learned ? `gateway ${v.learned}` : '']];
}

function rows(h: HostStatus): string[][] {
  if (h.status !== 'ok') return [[h.host, `(${h.status})`, '', '', '', '', '', '', '', '', '', h.message ?? '']];
  return h.links.flatMap((l) => [[
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
    l.health === 'unmonitored' ? 'unmonitored' : `${l.health}${sinceText(l)}`,
    probeText(l),
  ], ...ipv6Row(h, l)]);
}

/** The monitor's probes: smoothed round-trip time and loss, or '-' without probes. */
export function probeText(l: LinkStatus): string {
  if (!l.probe) return '-';
  return `${l.probe.rttMs === null ? 'no answer' : `${l.probe.rttMs.toFixed(1)} ms`}, ${Math.round(l.probe.loss * 100)}% lost`;
}

/** Bytes/s as Mbit/s, as links are sold. */
export function formatMbps(bytesPerS: number): string {
  const mbps = (bytesPerS * 8) / 1e6;
  return `${mbps >= 10 ? mbps.toFixed(0) : mbps.toFixed(1)} Mbit/s`;
}

/** method adaptive: per link what the router learnt, with what it measured (empty without adaptive links). */
export function adaptiveText(report: StatusReport): string {
  const rows = report.hosts.flatMap((h) =>
    h.links.flatMap((l) => {
      const a = l.adaptive;
      if (!a) return [];
      return [[h.host, l.link, formatShare(a.weight), a.capacityBps > 0 ? formatMbps(a.capacityBps) : 'not yet', formatMbps(a.rateBps), a.connections.toFixed(1), a.perConnectionBps === null ? '-' : formatMbps(a.perConnectionBps), a.measuredAt, a.changedAt ?? '-']];
    }),
  );
  if (rows.length === 0) return '';
  return `method adaptive, learnt on the router from its last measurement:\n${formatTable(['HOST', 'LINK', 'LEARNT', 'CAPACITY', 'CARRIED', 'CONNS', 'PER CONN', 'MEASURED', 'CHAIN CHANGED'], rows)}`;
}

export function statusText(report: StatusReport): string {
  const head = ['HOST', 'LINK', 'IF', 'CARRIER', 'WEIGHT', 'CONFIGURED', 'IN FORCE', 'CONNS', 'PACKETS', 'BYTES SENT', 'HEALTH', 'PROBES'];
  const notes = report.hosts.flatMap((h) => h.notes.map((n) => `note: ${h.host}: ${n}`));
  const adaptive = adaptiveText(report);
  return [
    formatTable(head, report.hosts.flatMap(rows)),
    ...(adaptive ? ['', adaptive] : []),
    ...(notes.length ? ['', ...notes] : []),
    '',
    summaryLine(report.hosts.length, report.summary),
  ].join('\n');
}

/** The monitor's last state changes per link (status --history), oldest first. */
export function statusHistoryText(report: StatusReport): string {
  const rows = report.hosts.flatMap((h) => h.links.flatMap((l) => (l.history ?? []).map((c) => [h.host, l.link, c.at, `${c.from} -> ${c.to}`, c.why])));
  if (rows.length === 0) return 'history: no link state change recorded (no link monitor, or no change yet)';
  return `history of link states (the monitor keeps the last changes of each link):\n${formatTable(['HOST', 'LINK', 'TIME', 'CHANGE', 'WHY'], rows)}`;
}

/**
 * Each host's `outcome`, as every fleet command names it; `status` (its old name) is kept as
 * well for one release.
 */
export function statusJson(report: StatusReport): string {
  return JSON.stringify({ ...report, hosts: report.hosts.map(({ host, status, ...rest }) => ({ host, outcome: status, status, ...rest })) }, null, 2);
}

/** ` since TIME`, or while the router's clock is not set ` since boot+Ns (router clock not set)`. */
export function sinceText(v: { since?: string; sinceBootS?: number }): string {
  if (v.since) return ` since ${v.since}`;
  if (v.sinceBootS !== undefined) return ` since boot+${v.sinceBootS}s (router clock not set)`;
  return '';
}
