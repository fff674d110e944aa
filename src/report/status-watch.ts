// The `status --watch` frame (pure): per router and link, health and since when, weight
// configured and share in force, share of new connections in the last interval, throughput
// in and out, connections, probe time and loss, and a sparkline of the last minutes'
// throughput; a dual-stack link's IPv6 health, share in force and new connections on a line
// of their own under it. The engine (deploy/status-watch.ts) keeps the readings; a terminal
// or a pipe shows the text.
import type { FamilyLinkStatus, HostStatus, LinkStatus } from '../model/status.js';
import { plainText } from '../util/terminal-text.js';
import type { HostRates, LinkRate, NewConnectionRate } from './status-rates.js';
import { bucketed, sparkline, type TimedValue } from './sparkline.js';
import { formatShare } from './status-report.js';

export type WatchHostState = 'connecting' | 'ok' | 'unreachable' | 'error';

export interface WatchHost {
  host: string;
  state: WatchHostState;
  /** Why it is unreachable or in error. */
  message?: string;
  /** The last reading that answered; kept (and shown as old) while the router is away. */
  status?: HostStatus;
  /** From the reading before the last one to the last one. */
  rates?: HostRates;
  /** Per link: throughput in + out (Mbit/s) of each interval, for the sparkline. */
  trend: Record<string, TimedValue[]>;
  /** Epoch ms of the last answer. */
  answeredAt?: number;
  /** Not tried again: a host whose own inventory data is bad (its error says why). */
  final?: boolean;
}

/** Columns of a frame printed without a terminal (--frames in a pipe). */
export const PLAIN_WIDTH = 120;

export interface FrameOptions {
  /** Epoch ms the frame is drawn. */
  now: number;
  intervalS: number;
  /** Terminal columns; lines are cut to fit. */
  width: number;
  /** Whether keys work (a terminal): the header says how to quit. */
  interactive: boolean;
}

/** The sparkline spans the last three minutes. */
export const TREND_SPAN_MS = 180_000;
const MIN_SPARK = 8;
const MAX_SPARK = 60;

export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor(s / 3600) % 24).padStart(2, '0')}h`;
}

function clock(now: number): string {
  return new Date(now).toISOString().slice(11, 19);
}

/** One family's health and for how long (the interface's carrier is both families'). */
function health(f: Pick<FamilyLinkStatus, 'health' | 'since'>, operstate: string | null, now: number): string {
  if (f.health === 'unmonitored') return operstate === 'down' ? 'no carrier' : 'unmonitored';
  const since = f.since ? Date.parse(f.since) : Number.NaN;
  return Number.isNaN(since) ? f.health : `${f.health} ${formatAge(now - since)}`;
}

const mbit = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : v.toFixed(1));

function newConns(r: NewConnectionRate | undefined): string {
  if (!r || r.newConnections === null) return '-';
  return r.newShare === null ? String(r.newConnections) : `${Math.round(r.newShare * 100)}% ${r.newConnections}`;
}

function rtt(l: LinkStatus): string {
  if (!l.probe || l.probe.rttMs === null) return '-';
  return `${l.probe.rttMs < 10 ? l.probe.rttMs.toFixed(1) : Math.round(l.probe.rttMs)} ms`;
}

const HEAD = ['LINK', 'HEALTH', 'WEIGHT', 'IN FORCE', 'NEW CONNS', 'IN Mb/s', 'OUT Mb/s', 'CONNS', 'RTT', 'LOSS'];
/** Columns aligned right (numbers). */
const RIGHT = new Set([2, 3, 4, 5, 6, 7, 8, 9]);

function linkCells(l: LinkStatus, r: LinkRate | undefined, now: number): string[] {
  return [
    l.link,
    health(l, l.operstate, now),
    String(l.weight),
    formatShare(l.share),
    newConns(r),
    mbit(r?.inMbps),
    mbit(r?.outMbps),
    l.connections === null ? '?' : String(l.connections),
    rtt(l),
    l.probe ? `${Math.round(l.probe.loss * 100)}%` : '-',
  ];
}

/**
 * A dual-stack link's IPv6 line: what ip6tables' chains and the monitor keep per family. The
 * weight is the link's, throughput (the interface's) and connections (conntrack's) count both
 * families, the probes are IPv4's: all on the line above, blank here.
 */
function ipv6Cells(l: LinkStatus, v: FamilyLinkStatus, r: LinkRate | undefined, now: number): string[] {
  return [`${l.link} (IPv6)`, health(v, l.operstate, now), '', formatShare(v.share), newConns(r?.ipv6), '', '', '', '', ''];
}

function hostLine(h: WatchHost, o: FrameOptions): string {
  const parts = [h.host];
  if (h.status?.method) parts.push(h.status.method);
  if (h.state === 'connecting') parts.push('connecting…');
  else if (h.state !== 'ok') parts.push(`${h.state}: ${plainText(h.message ?? '')}`.trim(), ...(h.final ? [] : ['retrying']));
  if (h.answeredAt !== undefined && (h.state !== 'ok' || o.now - h.answeredAt > 2 * o.intervalS * 1000 + 1000)) {
    parts.push(`last answer ${formatAge(o.now - h.answeredAt)} ago`);
  }
  return parts.join(' · ');
}

function cut(line: string, width: number): string {
  return [...line].slice(0, Math.max(1, width)).join('');
}

/** The frame's lines for these routers. */
export function watchFrame(hosts: readonly WatchHost[], o: FrameOptions): string[] {
  const title = [
    'multilink status',
    `${hosts.length} router${hosts.length === 1 ? '' : 's'}`,
    `every ${o.intervalS} s`,
    clock(o.now),
    ...(o.interactive ? ['q quits'] : []),
  ].join(' · ');
  /** A row without a trend (a link's IPv6 line) has no sparkline. */
  const rows: { host: WatchHost; cells: string[]; trend?: TimedValue[] }[] = [];
  for (const h of hosts) {
    for (const l of h.status?.links ?? []) {
      const r = h.rates?.links.find((x) => x.link === l.link);
      rows.push({ host: h, cells: linkCells(l, r, o.now), trend: h.trend[l.link] ?? [] });
      if (l.ipv6) rows.push({ host: h, cells: ipv6Cells(l, l.ipv6, r, o.now) });
    }
  }
  const widths = HEAD.map((t, i) => Math.max(t.length, ...rows.map((r) => r.cells[i].length)));
  const align = (cells: string[]): string => cells.map((c, i) => (RIGHT.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  const used = 2 + widths.reduce((a, b) => a + b + 2, 0);
  const sparkWidth = Math.max(MIN_SPARK, Math.min(MAX_SPARK, o.width - used));
  const head = `  ${align(HEAD)}  LAST ${TREND_SPAN_MS / 60_000} MIN (IN+OUT)`;

  const out = [title];
  for (const h of hosts) {
    out.push('', hostLine(h, o));
    if (!h.status || h.status.links.length === 0) continue;
    out.push(head);
    // One scale per router, so its links compare at a glance.
    const mine = rows.filter((r) => r.host === h);
    const buckets = mine.map((r) => (r.trend ? bucketed(r.trend, o.now, TREND_SPAN_MS, sparkWidth) : undefined));
    const top = Math.max(0, ...buckets.flatMap((b) => b ?? []).map((v) => v ?? 0));
    mine.forEach((r, i) => {
      const b = buckets[i];
      out.push(b ? `  ${align(r.cells)}  ${sparkline(b, top)}` : `  ${align(r.cells)}`.trimEnd());
    });
  }
  return out.map((l) => cut(l, o.width));
}
