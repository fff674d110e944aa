// Issue 18's acceptance on the dual-stack data-plane lab: ISPs that advertise their own /64 by
// RA and drop other IPv6 sources, r1's WANs by SLAAC, a ULA LAN (so NAT66 per link), every
// link `gateway6: auto`. IPv6 is balanced like IPv4 in the same run, in both directions the
// router's own and inbound connections work, and path-MTU discovery works through NAT66.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabInfo } from '../src/lab/lab.js';
import { inClient, openConnections } from '../src/lab/dataplane-traffic.js';
import { inNamespace } from '../src/lab/lab-process.js';
import { cli, jsonHosts } from './helpers/cli.js';
import { parseOpenMetrics } from './helpers/openmetrics.js';
import { deployPlaybook } from './helpers/dataplane.js';
import { stopTestLab } from './helpers/lab.js';
import { breakIsp6, CLIENT_ADDRESS6, perLinkOf, timeUntil, inR1, ipv6LabSupport, ipv6Playbook, isp6Of, LAN_ADDRESS6, repairIsp6, replaceIspRouter6, SERVER_ADDRESS6, startIpv6Lab } from './helpers/ipv6-lab.js';
import { SERVER_ADDRESS } from '../src/lab/dataplane-plan.js';
import type { StatusReport } from '../src/model/status.js';



const support = ipv6LabSupport();
if (!support.ok) console.warn(`skipping IPv6 data-plane tests: ${support.reason}`);

describe.skipIf(!support.ok)('IPv6 balanced, answered and translated like IPv4 (issue 18)', () => {
  let lab: LabInfo;
  let inventory = '';

  const perLink = (family: 4 | 6, fn: () => Promise<unknown>) => perLinkOf(lab, family, fn);

  beforeAll(async () => {
    lab = await startIpv6Lab();
    await deployPlaybook(lab, 'v6-random', ipv6Playbook());
    inventory = `${lab.dir}/inventory-v6-random.yaml`;
  }, 180_000);

  afterAll(async () => {
    if (lab) await stopTestLab(lab);
  });

  it('a second deploy is unchanged and drift finds nothing; forwarding and accept_ra are set', async () => {
    const again = await cli('deploy', inventory, '--json');
    expect(jsonHosts(again).r1.outcome, again.stdout).toBe('unchanged');
    const drift = await cli('drift', inventory);
    expect(drift.code, drift.stdout + drift.stderr).toBe(0);
    expect(inR1(lab, 'cat', ['/proc/sys/net/ipv6/conf/all/forwarding']).stdout.trim()).toBe('1');
    expect(inR1(lab, 'cat', ['/proc/sys/net/ipv6/conf/wan2/accept_ra']).stdout.trim()).toBe('2');
    // Each link's table holds the gateway its ISP advertises.
    for (const k of [1, 2, 3]) expect(inR1(lab, 'ip', ['-6', 'route', 'show', 'table', String(100 + k)]).stdout).toContain(`default via ${isp6Of(lab, k).gateway} dev wan${k}`);
  });

  it('a deleted ip -6 rule is drift and deploy repairs it; a flushed IPv6 table the monitor puts back', async () => {
    expect(inR1(lab, 'ip', ['-6', 'rule', 'del', 'priority', '1001']).code).toBe(0);
    expect(inR1(lab, 'ip', ['-6', 'route', 'flush', 'table', '103']).code).toBe(0);
    const drift = await cli('drift', inventory, '--json');
    expect(drift.code, drift.stdout).toBe(2);
    expect(drift.stdout).toContain('ip6 rule 1001');
    const fix = await cli('deploy', inventory, '--json');
    expect(jsonHosts(fix).r1.outcome, fix.stdout).toBe('changed');
    expect(await timeUntil(() => inR1(lab, 'ip', ['-6', 'route', 'show', 'table', '103']).stdout.includes('default via'), 5)).toBeLessThan(Infinity);
    expect((await cli('drift', inventory)).code).toBe(0);
  });

  it('1,200 IPv6 and 1,200 IPv4 connections from the LAN in the same run: both split 1:2:3', async () => {
    const dp = lab.dataplane!;
    let v4 = { ok: 0, failed: 0, notStarted: 0 };
    let v6 = { ok: 0, failed: 0, notStarted: 0 };
    const shares6: Record<string, number> = {};
    const shares4 = await perLink(4, async () => {
      Object.assign(
        shares6,
        await perLink(6, async () => {
          [v4, v6] = await Promise.all([
            openConnections(lab, { count: 1200, concurrency: 20, perMs: 5000 }),
            openConnections(lab, { count: 1200, concurrency: 20, perMs: 5000, host: SERVER_ADDRESS6, port: dp.tcpPort }),
          ]);
        }),
      );
    });
    expect(v6).toEqual({ ok: 1200, failed: 0, notStarted: 0 });
    expect(v4).toEqual({ ok: 1200, failed: 0, notStarted: 0 });
    for (const [family, shares] of [[6, shares6], [4, shares4]] as const) {
      const total = shares.dsl + shares.cable + shares.lte;
      // Ours, and the router's own few (traffic: local is balanced too).
      expect(total).toBeGreaterThanOrEqual(1200);
      const pct = { dsl: (100 * shares.dsl) / total, cable: (100 * shares.cable) / total, lte: (100 * shares.lte) / total };
      console.log(`IPv${family} shares over ${total} new connections: dsl ${pct.dsl.toFixed(1)}% cable ${pct.cable.toFixed(1)}% lte ${pct.lte.toFixed(1)}% (weights 1:2:3)`);
      // Four standard deviations of a binomial share over 1,200 (lte: 5.8 pp): random, never flaky.
      for (const [link, want] of [['dsl', 100 / 6], ['cable', 200 / 6], ['lte', 50]] as const) {
        const sd = 100 * Math.sqrt((want / 100) * (1 - want / 100) / total);
        expect(Math.abs(pct[link] - want), `${link} IPv${family}`).toBeLessThanOrEqual(4 * sd);
      }
    }
  });

  it('nth 1:2:3: 1,200 IPv6 connections split exactly', async () => {
    await deployPlaybook(lab, 'v6-nth', ipv6Playbook({ method: 'nth' }));
    const dp = lab.dataplane!;
    let r = { ok: 0, failed: 0, notStarted: 0 };
    const shares = await perLink(6, async () => {
      r = await openConnections(lab, { count: 1200, concurrency: 1, perMs: 5000, host: SERVER_ADDRESS6, port: dp.tcpPort });
    });
    expect(r).toEqual({ ok: 1200, failed: 0, notStarted: 0 });
    // nth's promise: every counter turn is one new connection, ours or the router's own.
    const total = shares.dsl + shares.cable + shares.lte;
    const cycles = Math.floor(total / 6);
    for (const [link, w] of [['dsl', 1], ['cable', 2], ['lte', 3]] as const) expect(Math.abs(shares[link] - cycles * w), `${link} of ${JSON.stringify(shares)}`).toBeLessThanOrEqual(w);
    await deployPlaybook(lab, 'v6-random', ipv6Playbook());
  });

  it('LAN → router and router → LAN over IPv6: 10 of 10 each', async () => {
    const dp = lab.dataplane!;
    expect(await openConnections(lab, { count: 10, concurrency: 10, host: LAN_ADDRESS6, port: dp.routerServicePort })).toEqual({ ok: 10, failed: 0, notStarted: 0 });
    expect(await openConnections(lab, { count: 10, concurrency: 10, from: dp.routerNamespace, host: CLIENT_ADDRESS6, port: dp.lanServicePort })).toEqual({ ok: 10, failed: 0, notStarted: 0 });
  });

  it("inbound IPv6 to each link's address is answered by that link (BCP38 ISPs drop any other way): 10 of 10 each", async () => {
    const dp = lab.dataplane!;
    for (const k of [1, 2, 3]) {
      const r = await openConnections(lab, { count: 10, concurrency: 10, from: dp.serverNamespace, source: SERVER_ADDRESS6, host: isp6Of(lab, k).routerAddress, port: dp.routerServicePort });
      expect(r, `wan${k}`).toEqual({ ok: 10, failed: 0, notStarted: 0 });
    }
  });

  it('an upload through ISPs with a 1,400-byte hop completes: Packet Too Big reaches the LAN host through NAT66', async () => {
    const dp = lab.dataplane!;
    // Only the ISPs' side of their link to the server is narrower: the server still says MSS
    // 1440, so the LAN host's full-size segments meet the hop and only Packet Too Big helps.
    const hop = (mtu: number) =>
      Promise.all(dp.isps.map((isp) => inNamespace(dp.upstreamNamespace, 'ip', ['link', 'set', isp.serverPort, 'mtu', String(mtu)], { timeoutMs: 10_000 })));
    await hop(1400);
    try {
      const r = await inClient(lab, 'iperf3', ['-6', '-c', SERVER_ADDRESS6, '-p', String(dp.iperfPorts[0]), '-t', '2', '-P', '3', '-J'], { timeoutMs: 30_000 });
      const sent = (JSON.parse(r.stdout) as { end?: { sum_received?: { bytes?: number } } }).end?.sum_received?.bytes ?? 0;
      expect(sent, r.stdout.slice(0, 400) + r.stderr).toBeGreaterThan(1_000_000);
      // The client learnt the smaller path MTU from the router's forwarded Packet Too Big.
      const route = (await inClient(lab, 'ip', ['-6', 'route', 'get', SERVER_ADDRESS6])).stdout;
      const pmtu = (await inClient(lab, 'ip', ['-6', 'route', 'show', 'cache'])).stdout;
      console.log(`upload through the 1,400-byte hop: ${sent} bytes; the LAN host's route to the server: ${route.trim()}`);
      expect(route + pmtu).toMatch(/mtu 1400/);
    } finally {
      await hop(1500);
    }
  });

  it("ISP 2's router is replaced (a new link-local gateway): the link carries IPv6 again within interval + 2 s, no deploy, no drift", async () => {
    const table = () => inR1(lab, 'ip', ['-6', 'route', 'show', 'table', '102']).stdout;
    const { gateway } = await replaceIspRouter6(lab, 2);
    const t = await timeUntil(() => table().includes(`default via ${gateway} dev wan2`), 10);
    console.log(`IPv6 gateway of cable followed to ${gateway} in ${t.toFixed(1)} s`);
    expect(t).toBeLessThanOrEqual(3);
    const dp = lab.dataplane!;
    let r = { ok: 0, failed: 0, notStarted: 0 };
    const shares = await perLink(6, async () => {
      r = await openConnections(lab, { count: 120, concurrency: 10, host: SERVER_ADDRESS6, port: dp.tcpPort });
    });
    expect(r).toEqual({ ok: 120, failed: 0, notStarted: 0 });
    expect(shares.cable).toBeGreaterThan(10);
    const drift = await cli('drift', inventory);
    expect(drift.code, drift.stdout + drift.stderr).toBe(0);
  });

  it("ISP 3's IPv6 breaks while its IPv4 works: IPv6 avoids it within interval × down_after + 1 s, IPv4 keeps it, status tells both; repaired, it is back", async () => {
    await deployPlaybook(lab, 'v6-health', ipv6Playbook({ health: { targets: [SERVER_ADDRESS], intervalS: 1, downAfter: 3, upAfter: 3, quorum: 1 } }));
    const health = `${lab.dir}/inventory-v6-health.yaml`;
    const r = lab.routers[0];
    const balance = (family: 4 | 6) => inR1(lab, `ip${family === 6 ? '6' : ''}tables-${r.iptables}-save`, ['-t', 'mangle']).stdout.split('\n').filter((l) => l.startsWith('-A ML_BALANCE'));
    const lte = (family: 4 | 6) => balance(family).some((l) => l.includes('0x300/0xff00'));
    expect(await timeUntil(() => lte(6) && lte(4), 10)).toBeLessThan(Infinity);
    await breakIsp6(lab, 3);
    try {
      const out = await timeUntil(() => !lte(6), 10);
      console.log(`IPv6 of lte taken out ${out.toFixed(1)} s after its ISP's IPv6 broke`);
      expect(out).toBeLessThanOrEqual(4.5);
      expect(lte(4)).toBe(true);
      const st = await cli('status', health, '--json');
      const link = (JSON.parse(st.stdout) as StatusReport).hosts[0].links.find((l) => l.link === 'lte')!;
      expect(link.health).toBe('up');
      expect(link.ipv6?.health).toBe('down');
      // OpenMetrics tells both too: IPv6 in multilink_link6_*, IPv4's series as they were.
      const om = parseOpenMetrics((await cli('status', health, '--format', 'openmetrics')).stdout);
      const lteSample = (name: string) => om.get(name)?.samples.find((s) => s.labels.link === 'lte')?.value;
      expect([lteSample('multilink_link_up'), lteSample('multilink_link6_up'), lteSample('multilink_link6_share_in_force_ratio')]).toEqual([1, 0, 0]);
      expect(om.get('multilink_link6_new_connections')?.samples.map((s) => s.labels)).toEqual(['dsl', 'cable', 'lte'].map((l) => ({ router: 'r1', link: l })));
      const dp = lab.dataplane!;
      let v6 = { ok: 0, failed: 0, notStarted: 0 };
      const shares = await perLink(6, async () => {
        v6 = await openConnections(lab, { count: 60, concurrency: 10, host: SERVER_ADDRESS6, port: dp.tcpPort });
      });
      expect(v6).toEqual({ ok: 60, failed: 0, notStarted: 0 });
      expect(shares.lte).toBe(0);
    } finally {
      await repairIsp6(lab, 3);
    }
    const back = await timeUntil(() => lte(6), 10);
    console.log(`IPv6 of lte back ${back.toFixed(1)} s after the repair`);
    expect(back).toBeLessThanOrEqual(4.5);
  });
});
