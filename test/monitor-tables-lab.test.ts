// Issue 23 §1, on lab routers: the kernel empties a link's table behind multilink's back —
// a point-to-point device deleted and made again (a PPPoE reconnect), an interface address
// removed and put back (OpenWrt's ifup, a DHCP re-lease) — and the link monitor puts the
// table's route back within one interval, says the link is down while its device is absent,
// and leaves nothing for drift; without probes too. r1 of a data-plane lab (Debian-like) has
// the `gateway: none` point-to-point uplink; a plain lab's OpenWrt-like router (BusyBox
// userland) shows the fixed-gateway case there too. Both labs start together.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabInfo } from '../src/lab/lab.js';
import { addClientAddresses, probeSequence } from '../src/lab/dataplane-traffic.js';
import { dropPtpUplink, restorePtpUplink } from '../src/lab/dataplane-faults.js';
import { labRunDir } from '../src/lab/lab-files.js';
import { waitFor } from '../src/lab/lab-process.js';
import type { HostStatus } from '../src/model/status.js';
import { cli } from './helpers/cli.js';
import { inRouter, sh, startTestLab, stopTestLab } from './helpers/lab.js';
import { deployToR1, extraLinks, hostileLabSupport, issue9Playbook, monitorStateOn, readOnRouter, startHostileLab } from './helpers/hostile-lab.js';

const can = hostileLabSupport();
if (!can.ok) console.warn(`skipping issue 23 §1 tests: ${can.reason}`);
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));
const HEALTH = { targets: ['198.51.100.1'], intervalS: 1, downAfter: 3, upAfter: 3, quorum: 1 };
const INTERVAL_MS = HEALTH.intervalS * 1000;
/** What a round may take beyond its interval on a busy 2-core machine (a chain load, recording). */
const SLACK_MS = 1500;
/** Link k uses table multilink_table_base (100) + k. */
const table = (k: number): number => 100 + k;

/** The routes of table T on the lab router, as iproute2 prints them (trimmed). */
function routes(lab: LabInfo, router: string, t: number): string[] {
  const r = inRouter(lab, router, 'ip', ['-4', 'route', 'show', 'table', String(t)]);
  return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

async function hostStatus(inventory: string): Promise<HostStatus> {
  const res = await cli('status', inventory, '--json');
  expect(res.code, res.stdout + res.stderr).toBe(0);
  return (JSON.parse(res.stdout) as { hosts: HostStatus[] }).hosts[0];
}

async function drift(inventory: string): Promise<{ code: number; detail: string }> {
  const res = await cli('drift', inventory, '--json');
  return { code: res.code, detail: res.stdout + res.stderr };
}

/** The monitor's log on the router (its run folder), for failure messages and its repair lines. */
async function monitorLog(lab: LabInfo, runDir: string): Promise<string> {
  return (await readOnRouter(lab, 'r1', `${runDir}/log`)) ?? '';
}

/**
 * The fixed-gateway case on any lab router: link k's interface address is removed (the
 * kernel drops the table's route through it) and put back a few rounds later; the link is
 * out meanwhile, the table holds its route again within one interval of the address's return,
 * the link is back up, and drift finds nothing.
 */
async function addressRemovedAndBack(lab: LabInfo, inventory: string, runDir: string, k: number, link: string): Promise<void> {
  const r1 = lab.routers[0];
  const dev = `wan${k}`;
  const address = `${r1.wanAddresses[k - 1]}/24`;
  const want = `default via 100.64.${k}.1 dev ${dev}`;
  const up = async (): Promise<boolean> => (await monitorStateOn(lab))?.links[link] === 'up';
  expect(await waitFor(up, 15_000, 100), await monitorLog(lab, runDir)).toBeDefined();
  expect(routes(lab, 'r1', table(k))).toEqual([want]);
  const readd = () => sh('ip', ['-n', r1.namespace, 'addr', 'replace', address, 'dev', dev]);
  expect(sh('ip', ['-n', r1.namespace, 'addr', 'del', address, 'dev', dev]).code).toBe(0);
  try {
    expect(routes(lab, 'r1', table(k)), 'the kernel dropped the route with the address').toEqual([]);
    // A few rounds without the address: the route cannot be put back (its gateway is not on
    // the link), so the link is out meanwhile.
    const out = await waitFor(async () => (await monitorStateOn(lab))?.links[link] === 'down', INTERVAL_MS + SLACK_MS, 50);
    expect(out, `${link} not down without its address:\n${await monitorLog(lab, runDir)}`).toBeDefined();
  } finally {
    expect(readd().code).toBe(0);
  }
  const back = Date.now();
  const restored = await waitFor(() => routes(lab, 'r1', table(k)).includes(want), INTERVAL_MS + SLACK_MS, 50);
  expect(restored, `table ${table(k)} still ${JSON.stringify(routes(lab, 'r1', table(k)))}:\n${await monitorLog(lab, runDir)}`).toBeDefined();
  console.log(`${r1.openwrt ? 'OpenWrt-like' : 'Debian-like'} r1: table ${table(k)} back ${(restored ?? 0) - back} ms after ${dev}'s address`);
  expect(await waitFor(up, HEALTH.upAfter * INTERVAL_MS + SLACK_MS + 1000, 100), await monitorLog(lab, runDir)).toBeDefined();
  const d = await drift(inventory);
  expect(d.code, d.detail).toBe(0);
  expect(await monitorLog(lab, runDir)).toMatch(new RegExp(`link ${link} table ${table(k)} restored: ${want}$`, 'm'));
}

describe.skipIf(!can.ok)('issue 23 §1: link tables are repaired after the kernel empties them', () => {
  let lab: LabInfo;
  let openwrt: LabInfo;
  let inventory = '';
  let openwrtInventory = '';
  const runDir = () => labRunDir(lab.routers[0]);

  beforeAll(async () => {
    [lab, openwrt] = await Promise.all([startHostileLab({ uplinks: ['ptp'] }), startTestLab(1, { openwrt: ['r1'] })]);
    await addClientAddresses(lab, ['192.0.2.20']);
    // nth: a new connection in every four goes to ptp, whatever else happens.
    const d = await deployToR1(lab, 'tables', issue9Playbook(lab, { method: 'nth', weights: [1, 1, 1], extraLinks: extraLinks(lab), health: HEALTH }));
    expect(d.outcome, d.result.stdout + d.result.stderr).toMatch(/^(changed|unchanged)$/);
    inventory = d.inventory;
    // The OpenWrt-like router: the lab's own playbook plus health, probing a target behind every ISP.
    expect(sh('ip', ['netns', 'exec', openwrt.upstreamNamespace, 'ip', 'addr', 'add', '198.51.100.2/32', 'dev', 'lo']).code).toBe(0);
    const playbook = join(openwrt.dir, 'health.yaml');
    writeFileSync(
      playbook,
      readFileSync(openwrt.playbook, 'utf8').replace('  rp_filter: loose', '  rp_filter: loose\n  health: { targets: [198.51.100.2], interval: 1s, down_after: 3, up_after: 3, quorum: 1 }'),
    );
    openwrtInventory = join(openwrt.dir, 'health-inventory.yaml');
    writeFileSync(openwrtInventory, readFileSync(openwrt.inventory, 'utf8').split(openwrt.playbook).join(playbook));
    const res = await cli('deploy', openwrtInventory, '--json');
    expect(res.code, res.stdout + res.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await Promise.all([lab && stopTestLab(lab), openwrt && stopTestLab(openwrt)]);
  });

  it('a `gateway: none` device deleted and made again (PPP reconnect): down while absent, its table back within one interval, new connections leave by it again', async () => {
    const ptp = lab.dataplane!.isps.find((i) => i.kind === 'ptp')!;
    const want = `default dev ${ptp.routerInterface} scope link`;
    const state = async () => (await monitorStateOn(lab))?.links.ptp;
    expect(await waitFor(async () => (await state()) === 'up', 15_000, 100), await monitorLog(lab, runDir())).toBeDefined();
    expect(routes(lab, 'r1', table(4))).toEqual([want]);

    await dropPtpUplink(lab);
    try {
      const gone = Date.now();
      const down = await waitFor(async () => (await state()) === 'down', INTERVAL_MS + SLACK_MS, 50);
      expect(down, `ptp not down without its device:\n${await monitorLog(lab, runDir())}`).toBeDefined();
      console.log(`ptp down ${(down ?? 0) - gone} ms after its device went`);
      const absent = (await hostStatus(inventory)).links.find((l) => l.link === 'ptp');
      expect(absent).toMatchObject({ health: 'down', operstate: null, share: 0 });
      // Drift cannot compare a link whose device is absent, and says so; the oif rule of that
      // device (iproute2: `[detached]`) is still multilink's rule, not a foreign one.
      const meanwhile = await drift(inventory);
      expect(meanwhile.detail).toContain(`is there an interface ${ptp.routerInterface}?`);
      expect(meanwhile.detail).not.toContain('"clash"');
    } finally {
      await restorePtpUplink(lab);
    }
    const back = Date.now();
    const restored = await waitFor(() => routes(lab, 'r1', table(4)).includes(want), INTERVAL_MS + SLACK_MS, 50);
    expect(restored, `table ${table(4)} still ${JSON.stringify(routes(lab, 'r1', table(4)))}:\n${await monitorLog(lab, runDir())}`).toBeDefined();
    console.log(`ptp table back ${(restored ?? 0) - back} ms after its device`);
    expect(await waitFor(async () => (await state()) === 'up', HEALTH.upAfter * INTERVAL_MS + SLACK_MS + 1000, 100), await monitorLog(lab, runDir())).toBeDefined();
    expect((await hostStatus(inventory)).links.find((l) => l.link === 'ptp')).toMatchObject({ health: 'up', share: 0.25 });

    // New connections: those balanced to ptp leave by its device (masqueraded to its address),
    // not by main's default route.
    const attempts = await probeSequence(lab, '192.0.2.20', 8, 3000);
    expect(attempts.filter((a) => !a.ok)).toEqual([]);
    const ct = inRouter(lab, 'r1', 'conntrack', ['-L', '-p', 'tcp', '--dport', String(lab.dataplane!.tcpPort), '-s', '192.0.2.20']);
    const ptpMark = 4 * 0x100;
    const ours = new Set(attempts.map((a) => a.port));
    const onPtp = ct.stdout
      .split('\n')
      .map((l) => ({ sport: Number(/\bsport=(\d+)/.exec(l)?.[1]), mark: Number(/\bmark=(\d+)/.exec(l)?.[1]), replyTo: [...l.matchAll(/\bdst=(\S+)/g)][1]?.[1] }))
      .filter((c) => ours.has(c.sport) && (c.mark & 0xff00) === ptpMark);
    expect(onPtp.length, ct.stdout).toBeGreaterThanOrEqual(1);
    expect(onPtp.map((c) => c.replyTo), ct.stdout).toEqual(onPtp.map(() => ptp.routerAddress));
    expect(await monitorLog(lab, runDir())).toMatch(new RegExp(`link ptp table ${table(4)} restored: default dev ${ptp.routerInterface}$`, 'm'));
    const d = await drift(inventory);
    expect(d.code, d.detail + (await monitorLog(lab, runDir()))).toBe(0);
  }, 120_000);

  it('a fixed-gateway link whose address is removed and put back: its table back within one interval, no drift', async () => {
    await addressRemovedAndBack(lab, inventory, runDir(), 2, 'cable');
  }, 120_000);

  // Last on this lab: it deploys another playbook.
  // Without `health` the monitor runs for method adaptive (or a `gateway: auto` link), with
  // no probes: a link's health is then its route alone.
  it('without probes (method adaptive, no health) a device deleted is down at once too, and up again with its table when it is back', async () => {
    const d = await deployToR1(lab, 'no-probes', issue9Playbook(lab, { method: 'adaptive', weights: [1, 1, 1], extraLinks: extraLinks(lab) }));
    expect(d.outcome, d.result.stdout + d.result.stderr).toBe('changed');
    const ptp = lab.dataplane!.isps.find((i) => i.kind === 'ptp')!;
    const state = async () => (await monitorStateOn(lab))?.links.ptp;
    expect(await waitFor(async () => (await state()) === 'up', 15_000, 100), await monitorLog(lab, runDir())).toBeDefined();
    await dropPtpUplink(lab);
    try {
      expect(await waitFor(async () => (await state()) === 'down', INTERVAL_MS + SLACK_MS, 50), await monitorLog(lab, runDir())).toBeDefined();
    } finally {
      await restorePtpUplink(lab);
    }
    const up = await waitFor(async () => (await state()) === 'up' && routes(lab, 'r1', table(4)).includes(`default dev ${ptp.routerInterface} scope link`), INTERVAL_MS + SLACK_MS, 50);
    expect(up, await monitorLog(lab, runDir())).toBeDefined();
    const drifted = await drift(d.inventory);
    expect(drifted.code, drifted.detail).toBe(0);
  }, 120_000);

  it('the same on the OpenWrt-like router (BusyBox userland)', async () => {
    await addressRemovedAndBack(openwrt, openwrtInventory, labRunDir(openwrt.routers[0]), 2, 'cable');
  }, 120_000);
});
