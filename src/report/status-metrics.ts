// `status --format openmetrics|prometheus`: per router and link, gauges and counters with
// `router` and `link` labels, for a Prometheus scrape or node_exporter's textfile collector
// (e.g. written by a cron job). One list of metric families, two texts: OpenMetrics 1.0
// (UNIT lines, counters as NAME_total samples, `# EOF`) and the Prometheus text format 0.0.4
// that the textfile collector parses (counter families named NAME_total, no UNIT, no EOF).
// A dual-stack link's IPv6 side is in multilink_link6_* families of its own, the IPv4 ones
// left exactly as they were (see FAMILY_METRICS).
import type { FamilyLinkStatus, HostStatus, LinkStatus, StatusReport } from '../model/status.js';

type MetricType = 'gauge' | 'counter';

interface Sample {
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  /** Without the _total of a counter's samples. */
  name: string;
  type: MetricType;
  help: string;
  /** OpenMetrics unit; the name ends with _UNIT. */
  unit?: 'bytes' | 'seconds' | 'ratio';
  samples: Sample[];
}

interface LinkMetric {
  name: string;
  type: MetricType;
  help: string;
  unit?: MetricFamily['unit'];
  value: (l: LinkStatus) => number | null | undefined;
}

const bool = (b: boolean): number => (b ? 1 : 0);

/** One family of a link: IPv4's is at the top level of LinkStatus, IPv6's in its ipv6 object. */
type FamilySide = Pick<FamilyLinkStatus, 'health' | 'since' | 'configuredShare' | 'share' | 'newConnections' | 'packets' | 'bytes'>;

interface FamilyMetric {
  /** After multilink_link_ (IPv4) or multilink_link6_ (IPv6). */
  suffix: string;
  type: MetricType;
  /** The help text; `family` is "IPv4" or "IPv6". */
  help: (family: string) => string;
  unit?: MetricFamily['unit'];
  value: (f: FamilySide) => number | null | undefined;
}

/**
 * What the router keeps per address family: health, balance and ML_ACCT counters. IPv4's are
 * multilink_link_* (as before IPv6 existed: their series, and every query on them, stay as
 * they were); a dual-stack link's IPv6 side is the same metric as multilink_link6_*, with the
 * same router and link labels. Not one name with a family label: that label would either be
 * new on the existing IPv4 series (each a new series, and joins with the per-interface
 * families on all labels broken) or missing from them (IPv4 selected by family="", and sums
 * and alerts over a name silently mixing both families).
 */
const FAMILY_METRICS: FamilyMetric[] = [
  { suffix: 'up', type: 'gauge', help: (v) => `${v} health of the link as the router's link monitor last decided it (1 up, 0 down); absent for an unmonitored link.`, value: (f) => (f.health === 'unmonitored' ? undefined : bool(f.health === 'up')) },
  { suffix: 'last_change_timestamp_seconds', type: 'gauge', unit: 'seconds', help: (v) => `When the link monitor last changed the link's ${v} health (Unix time).`, value: (f) => (f.since && !Number.isNaN(Date.parse(f.since)) ? Date.parse(f.since) / 1000 : undefined) },
  { suffix: 'share_configured_ratio', type: 'gauge', unit: 'ratio', help: (v) => `Share of new ${v} connections the configured weights give the link.`, value: (f) => f.configuredShare },
  { suffix: 'share_in_force_ratio', type: 'gauge', unit: 'ratio', help: (v) => `Share of new ${v} connections the live balancing chain gives the link (the monitor takes down links out).`, value: (f) => f.share },
  { suffix: 'new_connections', type: 'counter', help: (v) => `New ${v} connections the balancing chain sent to the link (restarts when the chain is reloaded).`, value: (f) => f.newConnections },
  { suffix: 'out_bytes', type: 'counter', unit: 'bytes', help: (v) => `${v} bytes sent out of the link, counted by multilink's ML_ACCT chain.`, value: (f) => f.bytes },
  { suffix: 'out_packets', type: 'counter', help: (v) => `${v} packets sent out of the link, counted by multilink's ML_ACCT chain.`, value: (f) => f.packets },
];

/** A family metric's IPv4 side, as a per-link metric (in its place among them, as before IPv6). */
function ipv4(suffix: string): LinkMetric {
  const m = FAMILY_METRICS.find((f) => f.suffix === suffix);
  if (!m) throw new Error(`no family metric ${suffix}`);
  return { name: `multilink_link_${m.suffix}`, type: m.type, help: m.help('IPv4'), ...(m.unit ? { unit: m.unit } : {}), value: (l) => m.value(l) };
}

/** Its IPv6 side: a dual-stack link's ipv6 object; links without one have no sample. */
function ipv6(m: FamilyMetric): LinkMetric {
  return { name: `multilink_link6_${m.suffix}`, type: m.type, help: m.help('IPv6'), ...(m.unit ? { unit: m.unit } : {}), value: (l) => (l.ipv6 ? m.value(l.ipv6) : undefined) };
}

const LINK_METRICS: LinkMetric[] = [
  ipv4('up'),
  ipv4('last_change_timestamp_seconds'),
  { name: 'multilink_link_carrier_up', type: 'gauge', help: 'The link interface\'s operstate is up (1) or not (0); absent when there is no such interface.', value: (l) => (l.operstate === null ? undefined : bool(l.operstate === 'up')) },
  { name: 'multilink_link_tier', type: 'gauge', help: 'The link\'s tier (a higher tier is used only while every lower one is down).', value: (l) => l.tier },
  { name: 'multilink_link_weight', type: 'gauge', help: 'The link\'s weight in the configuration (0: drained).', value: (l) => l.weight },
  ipv4('share_configured_ratio'),
  ipv4('share_in_force_ratio'),
  { name: 'multilink_link_connections', type: 'gauge', help: 'Conntrack entries marked for the link (IPv4 and IPv6 alike: the marks are the same).', value: (l) => l.connections },
  ipv4('new_connections'),
  ipv4('out_bytes'),
  ipv4('out_packets'),
  { name: 'multilink_link_receive_bytes', type: 'counter', unit: 'bytes', help: 'Bytes the link interface received.', value: (l) => l.counters?.rxBytes },
  { name: 'multilink_link_transmit_bytes', type: 'counter', unit: 'bytes', help: 'Bytes the link interface transmitted.', value: (l) => l.counters?.txBytes },
  { name: 'multilink_link_receive_packets', type: 'counter', help: 'Packets the link interface received.', value: (l) => l.counters?.rxPackets },
  { name: 'multilink_link_transmit_packets', type: 'counter', help: 'Packets the link interface transmitted.', value: (l) => l.counters?.txPackets },
  { name: 'multilink_link_probe_rtt_seconds', type: 'gauge', unit: 'seconds', help: 'Round-trip time of the link monitor\'s probes through the link, smoothed.', value: (l) => (l.probe?.rttMs === null || l.probe === undefined ? undefined : l.probe.rttMs / 1000) },
  { name: 'multilink_link_probe_loss_ratio', type: 'gauge', unit: 'ratio', help: 'Share of the link monitor\'s probes lost on the link, smoothed.', value: (l) => l.probe?.loss },
  { name: 'multilink_link_learnt_weight_ratio', type: 'gauge', unit: 'ratio', help: 'method adaptive: the weight the router learnt for the link, as a share of all links\'.', value: (l) => l.adaptive?.weight },
  { name: 'multilink_link_capacity_bytes_per_second', type: 'gauge', help: 'method adaptive: the link\'s capacity as the router estimates it (in and out, bytes/s; 0 until measured busy).', value: (l) => l.adaptive?.capacityBps },
  { name: 'multilink_link_per_connection_bytes_per_second', type: 'gauge', help: 'method adaptive: what each active connection of the link got over the router\'s last period (bytes/s).', value: (l) => l.adaptive?.perConnectionBps },
  { name: 'multilink_link_probes', type: 'counter', help: 'Probes the link monitor sent through the link since it started.', value: (l) => l.probe?.sent },
  { name: 'multilink_link_probes_lost', type: 'counter', help: 'Probes through the link that got no answer, since the monitor started.', value: (l) => l.probe?.lost },
  ...FAMILY_METRICS.map(ipv6),
];

/** The metric families of a status report; families without a sample are left out. */
export function statusMetrics(report: StatusReport): MetricFamily[] {
  const up: MetricFamily = {
    name: 'multilink_router_up',
    type: 'gauge',
    help: 'The router answered the status reading (1) or not (0).',
    samples: report.hosts.map((h) => ({ labels: { router: h.host }, value: bool(h.status === 'ok') })),
  };
  const ok = report.hosts.filter((h): h is HostStatus => h.status === 'ok');
  const links = LINK_METRICS.map((m): MetricFamily => ({
    name: m.name,
    type: m.type,
    help: m.help,
    ...(m.unit ? { unit: m.unit } : {}),
    samples: ok.flatMap((h) =>
      h.links.flatMap((l) => {
        const v = m.value(l);
        return v === null || v === undefined || !Number.isFinite(v) ? [] : [{ labels: { router: h.host, link: l.link }, value: v }];
      }),
    ),
  }));
  return [up, ...links].filter((f) => f.samples.length > 0);
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function sampleLine(name: string, s: Sample): string {
  const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return `${name}${labels.length ? `{${labels.join(',')}}` : ''} ${s.value}`;
}

/** OpenMetrics 1.0 text (application/openmetrics-text; version=1.0.0). */
export function openMetricsText(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# TYPE ${f.name} ${f.type}`);
    if (f.unit) out.push(`# UNIT ${f.name} ${f.unit}`);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    const sampleName = f.type === 'counter' ? `${f.name}_total` : f.name;
    for (const s of f.samples) out.push(sampleLine(sampleName, s));
  }
  out.push('# EOF');
  return `${out.join('\n')}\n`;
}

/** The Prometheus text format 0.0.4 (text/plain; version=0.0.4), as node_exporter's textfile collector reads it. */
export function prometheusText(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    const name = f.type === 'counter' ? `${f.name}_total` : f.name;
    out.push(`# HELP ${name} ${escapeHelp(f.help)}`);
    out.push(`# TYPE ${name} ${f.type}`);
    for (const s of f.samples) out.push(sampleLine(name, s));
  }
  return `${out.join('\n')}\n`;
}
