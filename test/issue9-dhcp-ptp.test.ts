// Issue 9 §4, shown on the lab: uplinks whose gateway is not a fixed address. r1's wifi link
// (wan4) is leased by DHCP from ISP 4, whose server moves it to a new subnet and gateway on
// renewal; its ptp link (wan5) is point-to-point with no gateway. Today `gateway:` must be
// a fixed IPv4 address, so the playbook below (`gateway: auto` and `gateway: none`) cannot be
// deployed. Acceptance: a renewal is followed within interval + 2 s with no failed connection
// after that and no drift; the point-to-point link carries its share.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabInfo } from '../src/lab/lab.js';
import { addClientAddresses, connectionLinks, probeSequence, startProbe } from '../src/lab/dataplane-traffic.js';
import { cli } from './helpers/cli.js';
import { stopTestLab } from './helpers/lab.js';
import { dhcpLease, deployToR1, extraLinks, hostileLabSupport, issue9Playbook, renewDhcp, startHostileLab } from './helpers/hostile-lab.js';

const can = hostileLabSupport();
if (!can.ok) console.warn(`skipping issue 9 §4 tests: ${can.reason}`);
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));
const HEALTH = { targets: ['198.51.100.1'], intervalS: 1, downAfter: 3, upAfter: 3, quorum: 1 };

describe.skipIf(!can.ok)('issue 9 §4: DHCP (`gateway: auto`) and point-to-point (`gateway: none`) uplinks', () => {
  let lab: LabInfo;

  beforeAll(async () => {
    lab = await startHostileLab({ uplinks: ['dhcp', 'ptp'] });
    await addClientAddresses(lab, ['192.0.2.20', '192.0.2.21']);
    expect((await dhcpLease(lab)).gateway).toBe('100.64.4.1');
  }, 120_000);

  afterAll(async () => {
    if (lab) await stopTestLab(lab);
  });

  // issue 9 §4
  it('a DHCP renewal to a new gateway and subnet is followed within interval + 2 s, with no failed connection after that and no drift', async () => {
    // wifi takes half of the new connections, so the probe keeps using it.
    const d = await deployToR1(lab, 'auto', issue9Playbook(lab, { weights: [1, 1, 1], extraLinks: extraLinks(lab, { wifi: 3 }), health: HEALTH }));
    expect(d.outcome, d.result.stdout + d.result.stderr).toMatch(/^(changed|unchanged)$/);
    await sleep(2000);
    const probe = startProbe(lab, { source: '192.0.2.20', count: 600, intervalMs: 50, totalMs: 20_000 });
    await sleep(2000);
    const renewal = await renewDhcp(lab);
    expect(renewal.gateway).toBe('100.64.14.1');
    await sleep(HEALTH.intervalS * 1000 + 2000 + 4000);
    const { attempts } = await probe.stop();
    const links = await connectionLinks(lab, { dport: lab.dataplane!.tcpPort, source: '192.0.2.20' });
    const settled = renewal.leasedAt + HEALTH.intervalS * 1000 + 2000;
    const after = attempts.filter((a) => a.start >= settled);
    expect(after.length).toBeGreaterThan(20);
    expect(after.filter((a) => !a.ok)).toEqual([]);
    expect(after.filter((a) => links.get(a.port) === 'wifi').length).toBeGreaterThan(0);
    const drift = await cli('drift', d.inventory, '--json');
    expect(drift.code, drift.stdout).toBe(0);
  }, 120_000);

  // issue 9 §4
  it('a `gateway: none` point-to-point link carries its share (nth: exactly 1 in 5)', async () => {
    const d = await deployToR1(lab, 'nth', issue9Playbook(lab, { method: 'nth', weights: [1, 1, 1], health: HEALTH }));
    expect(d.outcome, d.result.stdout + d.result.stderr).toMatch(/^(changed|unchanged)$/);
    const attempts = await probeSequence(lab, '192.0.2.21', 50);
    expect(attempts.filter((a) => !a.ok)).toEqual([]);
    const links = await connectionLinks(lab, { dport: lab.dataplane!.tcpPort, source: '192.0.2.21' });
    const counts: Record<string, number> = {};
    for (const a of attempts) counts[links.get(a.port) ?? 'unknown'] = (counts[links.get(a.port) ?? 'unknown'] ?? 0) + 1;
    // nth gives exactly 10 each to 50 connections in a row; another new connection through
    // ML_BALANCE while the probe runs (the router's own traffic is balanced too) can take one
    // turn of the counter and shift one of ours by a link ({dsl: 11, ptp: 9} once in 10 runs).
    expect(Object.keys(counts).sort(), JSON.stringify(counts)).toEqual(['cable', 'dsl', 'lte', 'ptp', 'wifi']);
    for (const n of Object.values(counts)) expect(Math.abs(n - 10), JSON.stringify(counts)).toBeLessThanOrEqual(1);
  }, 120_000);
});
