// Issue 18 on the OpenWrt-like router (BusyBox ash, ping and awk; its IPv6 as the dual-stack
// lab gives it: SLAAC WANs, RA gateways): deploy, a second deploy unchanged, drift 0, IPv6
// balanced by weight, a replaced ISP router followed without a deploy, an ISP's broken IPv6
// taken out while its IPv4 stays.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabInfo } from '../src/lab/lab.js';
import { SERVER_ADDRESS } from '../src/lab/dataplane-plan.js';
import { openConnections } from '../src/lab/dataplane-traffic.js';
import { cli, jsonHosts } from './helpers/cli.js';
import { deployPlaybook } from './helpers/dataplane.js';
import { stopTestLab } from './helpers/lab.js';
import { breakIsp6, inR1, perLinkOf, timeUntil, ipv6LabSupport, ipv6Playbook, repairIsp6, replaceIspRouter6, SERVER_ADDRESS6, startIpv6Lab } from './helpers/ipv6-lab.js';

const support = ipv6LabSupport();
if (!support.ok) console.warn(`skipping IPv6 OpenWrt-like tests: ${support.reason}`);


describe.skipIf(!support.ok)('IPv6 on the OpenWrt-like router (issue 18)', () => {
  let lab: LabInfo;
  let inventory = '';

  beforeAll(async () => {
    lab = await startIpv6Lab({ openwrt: true });
    await deployPlaybook(lab, 'v6-health', ipv6Playbook({ health: { targets: [SERVER_ADDRESS], intervalS: 1, downAfter: 3, upAfter: 3, quorum: 1 } }));
    inventory = `${lab.dir}/inventory-v6-health.yaml`;
  }, 180_000);

  afterAll(async () => {
    if (lab) await stopTestLab(lab);
  });

  const lte6 = () => inR1(lab, `ip6tables-${lab.routers[0].iptables}-save`, ['-t', 'mangle']).stdout.split('\n').some((l) => l.startsWith('-A ML_BALANCE') && l.includes('0x300/0xff00'));

  it('a second deploy is unchanged, drift 0, and 600 IPv6 connections split 1:2:3', async () => {
    const again = await cli('deploy', inventory, '--json');
    expect(jsonHosts(again).r1.outcome, again.stdout).toBe('unchanged');
    expect((await cli('drift', inventory)).code).toBe(0);
    let r = { ok: 0, failed: 0, notStarted: 0 };
    const shares = await perLinkOf(lab, 6, async () => {
      r = await openConnections(lab, { count: 600, concurrency: 20, perMs: 5000, host: SERVER_ADDRESS6, port: lab.dataplane!.tcpPort });
    });
    expect(r).toEqual({ ok: 600, failed: 0, notStarted: 0 });
    const total = shares.dsl + shares.cable + shares.lte;
    console.log(`OpenWrt-like IPv6 shares over ${total}: ${JSON.stringify(shares)}`);
    for (const [link, want] of [['dsl', 1 / 6], ['cable', 2 / 6], ['lte', 3 / 6]] as const) {
      expect(Math.abs(shares[link] / total - want), link).toBeLessThanOrEqual(4 * Math.sqrt((want * (1 - want)) / total));
    }
  });

  it("a replaced ISP router is followed within interval + 2 s; a broken ISP IPv6 is taken out and put back", async () => {
    const { gateway } = await replaceIspRouter6(lab, 2);
    const t = await timeUntil(() => inR1(lab, 'ip', ['-6', 'route', 'show', 'table', '102']).stdout.includes(`default via ${gateway} dev wan2`), 10);
    expect(t).toBeLessThanOrEqual(3);
    expect(await timeUntil(lte6, 10)).toBeLessThan(Infinity);
    await breakIsp6(lab, 3);
    try {
      const out = await timeUntil(() => !lte6(), 10);
      console.log(`OpenWrt-like: gateway followed in ${t.toFixed(1)} s; lte IPv6 out in ${out.toFixed(1)} s`);
      expect(out).toBeLessThanOrEqual(4.5);
    } finally {
      await repairIsp6(lab, 3);
    }
    expect(await timeUntil(lte6, 10)).toBeLessThanOrEqual(4.5);
  });
});
