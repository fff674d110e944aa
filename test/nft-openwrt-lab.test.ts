// The nft backend on an OpenWrt-like router (BusyBox userland, /var in RAM) behind the data
// plane's three ISPs (issue 19): deploy with health, unchanged, drift 0, status from the
// table's own counters, a dead upstream taken out of the numgen map within
// interval × down_after + 1 s and put back, and a reboot that restores table and monitor.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabInfo } from '../src/lab/lab.js';
import { addServerAddress, openConnections } from '../src/lab/dataplane-traffic.js';
import { waitFor } from '../src/lab/lab-process.js';
import { cli } from './helpers/cli.js';
import { stopTestLab } from './helpers/lab.js';
import { breakIsp, deployToR1, hostileLabSupport, issue9Playbook, monitorStateOn, repairIsp, runOnRouter, expectRebootRestores, startHostileLab } from './helpers/hostile-lab.js';

const can = hostileLabSupport();
if (!can.ok) console.warn(`skipping the nft backend's OpenWrt-like router tests: ${can.reason}`);
const HEALTH = { targets: ['198.51.100.1', '198.51.100.2'], intervalS: 1, downAfter: 3, upAfter: 3, quorum: 1 };
const LINKS = ['dsl', 'cable', 'lte'];

interface StatusLink {
  link: string;
  health?: string;
  share: number | null;
  configuredShare: number;
  newConnections: number | null;
  packets: number | null;
}

describe.skipIf(!can.ok)('the nft backend on an OpenWrt-like router with health', () => {
  let lab: LabInfo;
  let inventory = '';
  const allUp = async (): Promise<boolean> => {
    const s = await monitorStateOn(lab);
    return s !== undefined && LINKS.every((l) => s.links[l] === 'up');
  };
  const balance = async (): Promise<string> => (await runOnRouter(lab, 'r1', 'nft -s list chain inet multilink ML_BALANCE')).stdout;
  const deploy = async (): Promise<string | undefined> => {
    const d = await deployToR1(lab, 'nft', issue9Playbook(lab, { weights: [1, 2, 3], health: HEALTH, extraLinks: [] }));
    inventory = d.inventory;
    expect(d.outcome, d.result.stdout + d.result.stderr).toMatch(/^(changed|unchanged)$/);
    return d.outcome;
  };

  beforeAll(async () => {
    lab = await startHostileLab({ openwrt: true, firewall: 'nft' });
    await addServerAddress(lab, '198.51.100.2');
  }, 120_000);
  afterAll(async () => {
    if (lab) await stopTestLab(lab);
  });

  it('deploys the table, then nothing to do; drift 0; status reads the table: shares, new connections, counters', async () => {
    expect(await deploy()).toBe('changed');
    expect(await deploy()).toBe('unchanged');
    const drift = await cli('drift', inventory, '--json');
    expect(drift.code, drift.stdout + drift.stderr).toBe(0);
    expect(await balance()).toMatch(/numgen random mod 6 vmap \{ 0 : jump ML_BAL_100, 1-2 : jump ML_BAL_200, 3-5 : jump ML_BAL_300 \}/);
    const ipt = await runOnRouter(lab, 'r1', 'iptables-save; ip6tables-save');
    expect(ipt.stdout).not.toMatch(/ML_/);
    expect(await waitFor(allUp, 10_000, 100)).toBeDefined();
    const opened = await openConnections(lab, { count: 30, concurrency: 10 });
    expect(opened.ok).toBe(30);
    const status = await cli('status', inventory, '--json');
    expect(status.code, status.stdout + status.stderr).toBe(0);
    const r1 = (JSON.parse(status.stdout) as { hosts: { host: string; firewall?: string; links: StatusLink[] }[] }).hosts[0];
    expect(r1.firewall).toBe('nft');
    expect(r1.links.map((l) => [l.link, l.health, l.share, l.configuredShare])).toEqual([
      ['dsl', 'up', 0.166667, 0.166667],
      ['cable', 'up', 0.333333, 0.333333],
      ['lte', 'up', 0.5, 0.5],
    ]);
    expect(r1.links.reduce((a, l) => a + (l.newConnections ?? 0), 0)).toBeGreaterThanOrEqual(30);
    expect(r1.links.every((l) => (l.packets ?? 0) > 0)).toBe(true);
  }, 120_000);

  it('a dead upstream leaves the numgen map within interval × down_after + 1 s, and comes back after repair', async () => {
    expect(await waitFor(allUp, 10_000, 100)).toBeDefined();
    const breakAt = Date.now();
    await breakIsp(lab, 2);
    try {
      const downAt = await waitFor(async () => !(await balance()).includes('ML_BAL_200'), 10_000, 100);
      expect(downAt).toBeDefined();
      expect(((downAt ?? Infinity) - breakAt) / 1000).toBeLessThanOrEqual(HEALTH.intervalS * HEALTH.downAfter + 1 + 0.5);
      expect(await balance()).toMatch(/numgen random mod 4 vmap \{ 0 : jump ML_BAL_100, 1-3 : jump ML_BAL_300 \}/);
      // Link state, not drift.
      const drift = await cli('drift', inventory, '--json');
      expect(drift.code, drift.stdout).toBe(0);
    } finally {
      await repairIsp(lab, 2);
    }
    expect(await waitFor(async () => (await balance()).includes('ML_BAL_200'), 10_000, 100)).toBeDefined();
  }, 60_000);

  it('a reboot restores the table and the monitor from the last generation', async () => {
    await expectRebootRestores(lab, 'r1', inventory, balance, allUp);
  }, 60_000);

  // Issue 19 §3: another tool's reload deletes multilink's rules; the router puts them back.
  it('after `nft flush ruleset` the table is back within 2 s (interval 1 s), status says so, drift 0', async () => {
    expect(await waitFor(allUp, 10_000, 100)).toBeDefined();
    const flushAt = Date.now();
    expect((await runOnRouter(lab, 'r1', 'nft flush ruleset')).code).toBe(0);
    const backAt = await waitFor(async () => /numgen random mod 6/.test(await balance()), 10_000, 50);
    expect(backAt).toBeDefined();
    expect(((backAt ?? Infinity) - flushAt) / 1000).toBeLessThanOrEqual(2);
    const drift = await cli('drift', inventory, '--json');
    expect(drift.code, drift.stdout).toBe(0);
    const status = await cli('status', inventory, '--json');
    const notes = (JSON.parse(status.stdout) as { hosts: { notes: string[] }[] }).hosts[0].notes;
    expect(notes.join('\n')).toMatch(/restored after a foreign flush at \S+ \(generation \d+\)/);
  }, 60_000);

  it('moves back to iptables with the monitor running; an iptables-restore that flushes nat and mangle is repaired within 2 s', async () => {
    writeFileSync(inventory, readFileSync(inventory, 'utf8').replace('multilink_firewall: nft', 'multilink_firewall: iptables'));
    const res = await cli('deploy', inventory, '--json');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect((await runOnRouter(lab, 'r1', 'nft list table inet multilink')).code).not.toBe(0);
    const jumped = async (): Promise<boolean> => {
      const out = (await runOnRouter(lab, 'r1', 'iptables-save')).stdout;
      return /-A PREROUTING -j ML_PRE/.test(out) && /-A POSTROUTING -j ML_MASQ/.test(out);
    };
    expect(await jumped()).toBe(true);
    expect(await waitFor(allUp, 10_000, 100)).toBeDefined();
    const flushAt = Date.now();
    const flush = await runOnRouter(lab, 'r1', "printf '*nat\\nCOMMIT\\n*mangle\\nCOMMIT\\n' | iptables-restore");
    expect(flush.code, flush.stderr).toBe(0);
    const backAt = await waitFor(jumped, 10_000, 50);
    expect(backAt).toBeDefined();
    expect(((backAt ?? Infinity) - flushAt) / 1000).toBeLessThanOrEqual(2);
    const drift = await cli('drift', inventory, '--json');
    expect(drift.code, drift.stdout).toBe(0);
  }, 90_000);

  it('a tool that deletes the rules again and again is not fought: three restores a minute, then the monitor says so and drift shows it', async () => {
    const jumped = async (): Promise<boolean> => /-A PREROUTING -j ML_PRE/.test((await runOnRouter(lab, 'r1', 'iptables-save -t mangle')).stdout);
    const flush = async (): Promise<void> => {
      expect((await runOnRouter(lab, 'r1', "printf '*mangle\\nCOMMIT\\n' | iptables-restore")).code).toBe(0);
    };
    // Restored after each flush until the fourth within a minute (one may date from the test before).
    let restored = 0;
    for (let i = 0; i < 5; i++) {
      expect(await waitFor(jumped, 5_000, 50)).toBeDefined();
      await flush();
      if ((await waitFor(jumped, 3_000, 50)) === undefined) break;
      restored++;
    }
    expect(restored).toBeGreaterThanOrEqual(2);
    expect(restored).toBeLessThanOrEqual(3);
    expect(await jumped()).toBe(false);
    const log = (await runOnRouter(lab, 'r1', 'cat /var/run/multilink/log')).stdout;
    expect(log).toMatch(/guard stopped: multilink's rules were deleted again after 3 restores within a minute/);
    const drift = await cli('drift', inventory, '--json');
    expect(drift.code, drift.stdout).toBe(2);
    // A deploy puts them back and starts a monitor that guards again.
    const res = await cli('deploy', inventory, '--json');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(await jumped()).toBe(true);
  }, 90_000);
});

