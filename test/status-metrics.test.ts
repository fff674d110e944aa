// status --format openmetrics|prometheus: the texts pass parsers written to their specs
// (test/helpers/openmetrics.ts, which are shown to refuse what the specs forbid), carry every
// link of every router that answered with `router` and `link` labels, and a router that did
// not answer as multilink_router_up 0; a dual-stack link's IPv6 side in multilink_link6_*
// families beside the IPv4 ones, which stay as they were.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileHost } from '../src/compile/desired-state.js';
import { hostStatus, statusRequest } from '../src/deploy/status.js';
import { parseStatus } from '../src/facts/status-gather.js';
import { openMetricsText, prometheusText, statusMetrics } from '../src/report/status-metrics.js';
import type { StatusReport } from '../src/model/status.js';
import { FakeTransport } from '../src/transport/fake-transport.js';
import { hostConfig, link } from './fixtures/render/host-config.js';
import { MANGLE6, runStatus, statusOutput, statusProject } from './helpers/status-output.js';
import { parseOpenMetrics, parsePrometheusText } from './helpers/openmetrics.js';

const health = { targets: ['198.51.100.1'], intervalMs: 1000, downAfter: 3, upAfter: 3, quorum: 1 };
const cfg = hostConfig({ links: [link('dsl', 1, 1), link('cable', 2, 2), link('lte', 3, 3)], health });
const desired = compileHost(cfg);
const monitor = 'mask 5\nlinks dsl cable lte\nlink dsl up 2026-11-30T10:00:00Z\nlink cable down 2026-11-30T10:01:00Z\nlink lte up 2026-11-30T10:00:00Z\nprobe dsl sent=120 lost=2 rtt_us=12500 loss_pm=62\nprobe cable sent=120 lost=40 rtt_us=- loss_pm=1000';

function report(): StatusReport {
  const ok = hostStatus(desired, parseStatus(statusOutput({ monitor }), statusRequest(desired)));
  return {
    command: 'status',
    hosts: [ok, { host: 'r2 "edge"\\west', status: 'unreachable', message: 'connection refused', method: 'random', links: [], notes: [] }],
    summary: { ok: 1, unreachable: 1, error: 0 },
  };
}

const value = (families: ReturnType<typeof parseOpenMetrics>, family: string, labels: Record<string, string>): number | undefined =>
  families.get(family)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('OpenMetrics text', () => {
  const text = openMetricsText(statusMetrics(report()));
  const om = parseOpenMetrics(text);

  it('parses as OpenMetrics 1.0 and ends with # EOF', () => {
    expect(text.endsWith('\n# EOF\n')).toBe(true);
    expect([...om.keys()]).toContain('multilink_link_transmit_bytes');
  });

  it('every link of the router that answered, in every per-link family it has a value for; the other router as down', () => {
    for (const name of ['multilink_link_weight', 'multilink_link_tier', 'multilink_link_share_configured_ratio', 'multilink_link_share_in_force_ratio', 'multilink_link_connections', 'multilink_link_new_connections', 'multilink_link_out_bytes', 'multilink_link_out_packets']) {
      expect(om.get(name)?.samples.map((s) => `${s.labels.router}/${s.labels.link}`), name).toEqual(['r1/dsl', 'r1/cable', 'r1/lte']);
    }
    expect(om.get('multilink_router_up')?.samples).toEqual([
      { name: 'multilink_router_up', labels: { router: 'r1' }, value: 1 },
      { name: 'multilink_router_up', labels: { router: 'r2 "edge"\\west' }, value: 0 },
    ]);
  });

  it('types, units and values: health, weights and shares, counters as _total, probes, last change', () => {
    const r1 = (link: string) => ({ router: 'r1', link });
    expect(om.get('multilink_link_out_bytes')).toMatchObject({ type: 'counter', unit: 'bytes' });
    expect(om.get('multilink_link_out_bytes')!.samples.map((s) => [s.name, s.value])).toEqual([['multilink_link_out_bytes_total', 228], ['multilink_link_out_bytes_total', 798], ['multilink_link_out_bytes_total', 1254]]);
    expect(om.get('multilink_link_up')?.samples.map((s) => [s.labels.link, s.value])).toEqual([['dsl', 1], ['cable', 0], ['lte', 1]]);
    expect(value(om, 'multilink_link_weight', r1('cable'))).toBe(2);
    expect(value(om, 'multilink_link_share_in_force_ratio', r1('lte'))).toBe(0.5);
    expect(value(om, 'multilink_link_receive_bytes', r1('cable'))).toBe(3_000_000);
    expect(value(om, 'multilink_link_transmit_packets', r1('dsl'))).toBe(900);
    // wan3 has no counters in this reading: no sample rather than a made-up zero.
    expect(value(om, 'multilink_link_receive_bytes', r1('lte'))).toBeUndefined();
    expect(value(om, 'multilink_link_probe_rtt_seconds', r1('dsl'))).toBe(0.0125);
    expect(value(om, 'multilink_link_probe_rtt_seconds', r1('cable'))).toBeUndefined();
    expect(value(om, 'multilink_link_probe_loss_ratio', r1('cable'))).toBe(1);
    expect(value(om, 'multilink_link_probes_lost', r1('cable'))).toBe(40);
    expect(om.get('multilink_link_probe_rtt_seconds')).toMatchObject({ type: 'gauge', unit: 'seconds' });
    expect(value(om, 'multilink_link_last_change_timestamp_seconds', r1('cable'))).toBe(Date.parse('2026-11-30T10:01:00Z') / 1000);
    expect(value(om, 'multilink_link_carrier_up', r1('lte'))).toBe(0);
  });
});

describe('a dual-stack router: the IPv6 side in multilink_link6_* families', () => {
  // dsl and cable carry IPv6 (1:2 among them), lte IPv4 only; cable's IPv6 is down while its IPv4 is up.
  const cfg6 = hostConfig({ links: [link('dsl', 1, 1, { gateway6: 'auto' }), link('cable', 2, 2, { gateway6: 'fe80::1' }), link('lte', 3, 3)], health: { ...health, targets: ['198.51.100.1', '2001:db8:ff::1'] } });
  const desired6 = compileHost(cfg6);
  const monitor6 = [
    'mask 7',
    'mask6 1',
    'links dsl cable lte',
    'link dsl up 2026-11-30T10:00:00Z',
    'link cable up 2026-11-30T10:00:00Z',
    'link lte up 2026-11-30T10:00:00Z',
    'link6 dsl up 2026-11-30T10:00:30Z',
    'link6 cable down 2026-11-30T10:02:00Z',
    'gateway6 dsl via fe80::1',
    'probe dsl sent=120 lost=2 rtt_us=12500 loss_pm=62',
  ].join('\n');
  const dual = (ipv6 = true): StatusReport => {
    const h = hostStatus(desired6, parseStatus(statusOutput({ monitor: monitor6, mangle6: MANGLE6 }), statusRequest(desired6)));
    const links = ipv6 ? h.links : h.links.map(({ ipv6: _v6, ...l }) => l);
    return { command: 'status', hosts: [{ ...h, links }], summary: { ok: 1, unreachable: 0, error: 0 } };
  };
  const text = openMetricsText(statusMetrics(dual()));
  const om = parseOpenMetrics(text);
  const per = (name: string) => om.get(name)?.samples.map((s) => [s.labels.link, s.value]);

  it('parses as OpenMetrics 1.0 and as the Prometheus text format; same labels as IPv4 (router, link), the IPv4-only link absent', () => {
    const v6 = [...om.values()].filter((f) => f.name.startsWith('multilink_link6_'));
    expect(v6.map((f) => f.name)).toEqual([
      'multilink_link6_up',
      'multilink_link6_last_change_timestamp_seconds',
      'multilink_link6_share_configured_ratio',
      'multilink_link6_share_in_force_ratio',
      'multilink_link6_new_connections',
      'multilink_link6_out_bytes',
      'multilink_link6_out_packets',
    ]);
    for (const f of v6) {
      expect(f.samples.map((s) => s.labels), f.name).toEqual([{ router: 'r1', link: 'dsl' }, { router: 'r1', link: 'cable' }]);
      expect(f.help, f.name).toMatch(/IPv6/);
    }
    const p = parsePrometheusText(prometheusText(statusMetrics(dual())));
    expect(p.get('multilink_link6_out_bytes_total')).toMatchObject({ type: 'counter' });
    expect(p.get('multilink_link6_out_bytes_total')!.samples).toEqual(om.get('multilink_link6_out_bytes')!.samples);
  });

  it('IPv6 health and since, shares configured and in force, new connections, ML_ACCT packets and bytes from ip6tables', () => {
    expect(per('multilink_link6_up')).toEqual([['dsl', 1], ['cable', 0]]);
    expect(per('multilink_link_up')).toEqual([['dsl', 1], ['cable', 1], ['lte', 1]]);
    expect(per('multilink_link6_last_change_timestamp_seconds')).toEqual([['dsl', Date.parse('2026-11-30T10:00:30Z') / 1000], ['cable', Date.parse('2026-11-30T10:02:00Z') / 1000]]);
    expect(per('multilink_link6_share_configured_ratio')).toEqual([['dsl', 0.333333], ['cable', 0.666667]]);
    expect(per('multilink_link6_share_in_force_ratio')).toEqual([['dsl', 0.333333], ['cable', 0.666667]]);
    expect(per('multilink_link6_new_connections')).toEqual([['dsl', 12], ['cable', 18]]);
    expect(om.get('multilink_link6_new_connections')!.samples.map((s) => s.name)).toEqual(['multilink_link6_new_connections_total', 'multilink_link6_new_connections_total']);
    expect(om.get('multilink_link6_out_bytes')).toMatchObject({ type: 'counter', unit: 'bytes' });
    expect(per('multilink_link6_out_bytes')).toEqual([['dsl', 960], ['cable', 1440]]);
    expect(per('multilink_link6_out_packets')).toEqual([['dsl', 12], ['cable', 18]]);
    // IPv4's numbers of the same links, from iptables: unchanged by IPv6.
    expect(per('multilink_link_new_connections')).toEqual([['dsl', 6], ['cable', 21], ['lte', 33]]);
    expect(per('multilink_link_share_configured_ratio')).toEqual([['dsl', 0.166667], ['cable', 0.333333], ['lte', 0.5]]);
  });

  it('every IPv4 sample is what it was without the IPv6 side: same names, same labels, same values', () => {
    const ipv4Lines = (t: string) => t.split('\n').filter((l) => !l.startsWith('#') && !l.startsWith('multilink_link6_'));
    expect(ipv4Lines(text)).toEqual(ipv4Lines(openMetricsText(statusMetrics(dual(false)))));
    expect(text).not.toContain('family=');
    // An IPv4-only play has no multilink_link6_ family at all.
    expect(openMetricsText(statusMetrics(dual(false)))).not.toContain('multilink_link6_');
    expect(openMetricsText(statusMetrics(report()))).not.toContain('multilink_link6_');
  });

  it('an IPv6 side without a monitor verdict or a deployed IPv6 chain has no made-up samples', () => {
    const h = hostStatus(desired6, parseStatus(statusOutput({ mangle6: '*mangle\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n' }), statusRequest(desired6)));
    const bare = parseOpenMetrics(openMetricsText(statusMetrics({ command: 'status', hosts: [h], summary: { ok: 1, unreachable: 0, error: 0 } })));
    expect([...bare.keys()].filter((k) => k.startsWith('multilink_link6_'))).toEqual(['multilink_link6_share_configured_ratio']);
  });
});

describe('Prometheus text (node_exporter textfile collector)', () => {
  it('parses, counters typed as NAME_total, no UNIT and no EOF', () => {
    const text = prometheusText(statusMetrics(report()));
    const p = parsePrometheusText(text);
    expect(p.get('multilink_link_out_bytes_total')).toMatchObject({ type: 'counter' });
    expect(p.get('multilink_link_up')).toMatchObject({ type: 'gauge' });
    expect(p.get('multilink_link_out_bytes_total')!.samples).toHaveLength(3);
    expect(text).not.toMatch(/^# (UNIT|EOF)/m);
    // The same values as the OpenMetrics text.
    const om = parseOpenMetrics(openMetricsText(statusMetrics(report())));
    expect(p.get('multilink_link_probes_total')!.samples).toEqual(om.get('multilink_link_probes')!.samples);
  });
});

describe('the spec parsers refuse what the specs forbid', () => {
  it.each([
    ['no # EOF', '# TYPE a gauge\na 1\n', /does not end with "# EOF"/],
    ['text after # EOF', '# TYPE a gauge\na 1\n# EOF\na 2\n', /does not end with/],
    ['an empty line', '# TYPE a gauge\n\na 1\n# EOF\n', /empty line/],
    ['a comment', '# a comment\n# EOF\n', /OpenMetrics has no comments/],
    ['a counter sample without _total', '# TYPE a counter\na 1\n# EOF\n', /sample a after its family ended|clashes/],
    ['a negative counter', '# TYPE a counter\na_total -1\n# EOF\n', /counter total must be a number ≥ 0/],
    ['a unit the name does not end with', '# TYPE a_bytes counter\n# UNIT a_bytes seconds\n# EOF\n', /must be named \*_seconds/],
    ['interleaved families', '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x="1"} 2\n# EOF\n', /after its family ended/],
    ['the same labels twice', '# TYPE a gauge\na{x="1"} 1\na{x="1"} 2\n# EOF\n', /same label set twice/],
    ['a bad escape', '# TYPE a gauge\na{x="\\t"} 1\n# EOF\n', /invalid escape/],
    ['two spaces', '# TYPE a gauge\na  1\n# EOF\n', /invalid value/],
    ['a TYPE after samples', '# TYPE a gauge\na 1\n# TYPE a gauge\n# EOF\n', /appears twice/],
    ['an unknown type', '# TYPE a histo\n# EOF\n', /unknown metric type/],
  ])('OpenMetrics: %s', (_what, text, why) => {
    expect(() => parseOpenMetrics(text)).toThrow(why);
  });

  it.each([
    ['a TYPE after samples', 'a 1\n# TYPE a gauge\n', /TYPE after samples/],
    ['two TYPE lines', '# TYPE a gauge\n# TYPE a counter\n', /second TYPE/],
    ['the same labels twice', 'a{x="1"} 1\na{x="1"} 2\n', /twice/],
    ['an unknown type (info)', '# TYPE a info\na 1\n', /unknown metric type/],
    ['a float timestamp', 'a 1 1.5\n', /invalid timestamp/],
  ])('Prometheus text: %s', (_what, text, why) => {
    expect(() => parsePrometheusText(text)).toThrow(why);
  });
});

describe('multilink status --format openmetrics, in-process', () => {
  let project: ReturnType<typeof statusProject>;
  beforeAll(() => {
    project = statusProject(['r1', 'r2']);
  });
  afterAll(() => project.remove());

  it('prints one exposition on stdout (every link of both routers); exit 1 when a router did not answer, still with its metrics', async () => {
    const t = new FakeTransport(() => ({ stdout: statusOutput(), stderr: '', code: 0 }));
    const first = await runStatus(project.inventory, t, '--format', 'openmetrics');
    expect(first.code, first.stderr).toBe(0);
    const om = parseOpenMetrics(first.stdout);
    expect(om.get('multilink_link_weight')!.samples.map((s) => `${s.labels.router}/${s.labels.link}`)).toEqual(['r1/dsl', 'r1/cable', 'r1/lte', 'r2/dsl', 'r2/cable', 'r2/lte']);
    t.setUnreachable('r2');
    const down = await runStatus(project.inventory, t, '--format', 'prometheus');
    expect(down.code).toBe(1);
    expect(parsePrometheusText(down.stdout).get('multilink_router_up')!.samples.map((s) => s.value)).toEqual([1, 0]);
  });
});
