// The data-plane lab's DHCP uplink as a lab: r1's BusyBox udhcpc holds a lease from ISP 4 and
// keeps a default route via wan4 in the main table; renewDhcp moves ISP 4 to another subnet
// and gateway and r1's main table really follows (old address and route gone, traffic flows
// with the new ones). Timing-dependent: run it 20 times after a change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabInfo } from '../src/lab/lab.js';
import { openConnections } from '../src/lab/dataplane-traffic.js';
import { sh, stopTestLab } from './helpers/lab.js';
import { dhcpLease, hostileLabSupport, renewDhcp, startHostileLab } from './helpers/hostile-lab.js';

const can = hostileLabSupport();
if (!can.ok) console.warn(`skipping DHCP uplink tests: ${can.reason}`);

describe.skipIf(!can.ok)('DHCP uplink of the data-plane lab', () => {
  let lab: LabInfo;
  const inR1 = (...args: string[]) => sh('ip', ['netns', 'exec', lab.routers[0].namespace, ...args]).stdout;
  const inUpstream = (...args: string[]) => sh('ip', ['netns', 'exec', lab.upstreamNamespace, ...args]).stdout;
  /** Connections from r1 to the server sent out of wan4 with its current address. */
  const viaWan4 = async (address: string, gateway: string) => {
    const r1 = (script: string) => expect(sh('ip', ['netns', 'exec', lab.routers[0].namespace, 'sh', '-ec', script]).code).toBe(0);
    r1(`ip rule add from ${address} lookup 254 priority 54 2>/dev/null || true; ip route replace default via ${gateway} dev wan4 table 254`);
    try {
      return await openConnections(lab, { from: lab.routers[0].namespace, source: address, count: 10, concurrency: 10, perMs: 2000, totalMs: 20_000 });
    } finally {
      r1('ip rule del priority 54; ip route flush table 254');
    }
  };

  beforeAll(async () => {
    lab = await startHostileLab({ uplinks: ['dhcp'] });
  }, 120_000);

  afterAll(async () => {
    if (lab) await stopTestLab(lab);
  });

  it('r1 holds a lease in 100.64.4.0/24 and a main-table default route via wan4 after its own', async () => {
    const lease = await dhcpLease(lab);
    expect(lease.gateway).toBe('100.64.4.1');
    expect(lease.address).toMatch(/^100\.64\.4\.1\d\d$/);
    expect(inR1('ip', '-4', 'route', 'show', 'default')).toMatch(/^default via 100\.64\.1\.1 dev wan1 \ndefault via 100\.64\.4\.1 dev wan4 metric 10 $/m);
    expect(await viaWan4(lease.address!, lease.gateway!)).toEqual({ ok: 10, failed: 0, notStarted: 0 });
  });

  it('a renewal to a new subnet and gateway changes wan4’s address and its main-table default route; traffic flows with them', async () => {
    const before = await dhcpLease(lab);
    for (const [subnet, gateway] of [['100.64.14.0/24', '100.64.14.1'], ['100.64.24.0/24', '100.64.24.1']]) {
      const r = await renewDhcp(lab);
      expect([r.subnet, r.gateway]).toEqual([subnet, gateway]);
      expect(r.leasedAt - r.renewAt).toBeLessThan(10_000);
      const lease = await dhcpLease(lab);
      expect(lease).toEqual({ address: r.address, gateway });
      expect(r.address.startsWith(gateway.slice(0, -1))).toBe(true);
      const addrs = inR1('ip', '-4', '-o', 'addr', 'show', 'dev', 'wan4');
      expect(addrs.trim().split('\n')).toHaveLength(1);
      expect(addrs).not.toContain(` ${before.address}/`);
      expect(inR1('ip', '-4', 'route', 'show', 'default', 'dev', 'wan4').trim()).toBe(`default via ${gateway} metric 10`);
      // The ISP's old gateway is gone: nothing answers there any more.
      expect(inUpstream('ip', '-4', '-o', 'addr', 'show', 'dev', 'isp4')).toContain(` ${gateway}/24`);
      expect(inUpstream('ip', '-4', '-o', 'addr', 'show', 'dev', 'isp4').trim().split('\n')).toHaveLength(1);
      expect(await viaWan4(r.address, gateway)).toEqual({ ok: 10, failed: 0, notStarted: 0 });
      before.address = r.address;
    }
  }, 60_000);
});
