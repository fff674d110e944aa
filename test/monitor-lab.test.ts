// The link monitor on a lab router: failover and recovery times, quorum, tiers, conntrack
// entries of the failed link only, link state (not drift), restart when it died, removal.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inRouter, labSupport, sh, startTestLab, stopTestLab } from './helpers/lab.js';
import { cli, jsonHosts } from './helpers/cli.js';
import type { LabInfo } from '../src/lab/lab.js';
import { labRunDir } from '../src/lab/lab-files.js';
import { RunLayout } from '../src/shell/layout.js';

const support = labSupport();
if (!support.ok) console.warn(`skipping monitor lab tests: ${support.reason}`);

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

describe.skipIf(!support.ok)('link monitor on a lab router', () => {
  let lab: LabInfo;
  let inv: string;
  let plain: string;
  const r = () => lab.routers[0];
  const up = (...args: string[]) => sh('ip', ['netns', 'exec', lab.upstreamNamespace, ...args]);
  const breakIsp = (k: number) => expect(up('iptables-nft', '-I', 'INPUT', '-i', `isp${k}`, '-j', 'DROP').code).toBe(0);
  const repairIsp = (k: number) => expect(up('iptables-nft', '-D', 'INPUT', '-i', `isp${k}`, '-j', 'DROP').code).toBe(0);
  const state = () => readFileSync(new RunLayout(labRunDir(r())).monitorState, 'utf8');
  const linkUp = (name: string) => new RegExp(`^link ${name} up`, 'm').test(state());
  const balance = () =>
    inRouter(lab, r().name, `iptables-${r().iptables}-save`, ['-t', 'mangle']).stdout.split('\n').filter((l) => l.startsWith('-A ML_BALANCE'));
  /** Seconds until `cond` holds, polling every 100 ms, at most `limit` s. */
  async function timeUntil(cond: () => boolean, limit: number): Promise<number> {
    const start = Date.now();
    while (!cond()) {
      if (Date.now() - start > limit * 1000) return Infinity;
      await sleep(100);
    }
    return (Date.now() - start) / 1000;
  }

  beforeAll(async () => {
    lab = await startTestLab(1);
    // Two probe targets behind every ISP, inside the lab's upstream namespace.
    for (const a of ['198.51.100.2/32', '198.51.100.3/32']) expect(up('ip', 'addr', 'add', a, 'dev', 'lo').code).toBe(0);
    const pb = readFileSync(lab.playbook, 'utf8').replace(
      '  rp_filter: loose',
      '  rp_filter: loose\n  health: { targets: [198.51.100.2, 198.51.100.3], interval: 1s, down_after: 3, up_after: 3, quorum: 1 }',
    );
    writeFileSync(join(lab.dir, 'health.yaml'), pb);
    inv = join(lab.dir, 'health-inventory.yaml');
    writeFileSync(inv, readFileSync(lab.inventory, 'utf8').split(lab.playbook).join(join(lab.dir, 'health.yaml')));
    plain = lab.inventory;
    const res = await cli('deploy', inv, '--json');
    expect(res.code, res.stdout + res.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    if (lab) await stopTestLab(lab);
  });

  it('runs after deploy with every link up; a second deploy is unchanged', async () => {
    await sleep(1500);
    expect(state()).toMatch(/^mask 7$/m);
    expect(['dsl', 'cable', 'lte'].every(linkUp)).toBe(true);
    const again = await cli('deploy', inv, '--json');
    expect(jsonHosts(again)[r().name].outcome).toBe('unchanged');
  });

  it('a broken upstream is taken out within interval × down_after + 1 s; only its conntrack entries go; it is link state, not drift', async () => {
    const ct = (args: string[]) => inRouter(lab, r().name, 'conntrack', args);
    expect(ct(['-I', '-p', 'udp', '-s', '192.0.2.10', '-d', '198.51.100.9', '--sport', '1000', '--dport', '2000', '--mark', '512', '-t', '120']).code).toBe(0);
    expect(ct(['-I', '-p', 'udp', '-s', '192.0.2.10', '-d', '198.51.100.9', '--sport', '1001', '--dport', '2000', '--mark', '256', '-t', '120']).code).toBe(0);
    const full = balance();
    breakIsp(2);
    const t = await timeUntil(() => !linkUp('cable'), 10);
    console.log(`failover: cable taken out ${t.toFixed(1)} s after its upstream broke`);
    expect(t).toBeLessThanOrEqual(4.5);
    await sleep(300);
    // Only dsl is left in tier 1: every new connection goes there.
    expect(balance()).toEqual(['-A ML_BALANCE -m mark --mark 0x0/0xff00 -j MARK --set-xmark 0x100/0xff00']);
    const entries = ct(['-L', '-p', 'udp', '--dport', '2000']).stdout;
    expect(entries).not.toMatch(/sport=1000 /);
    expect(entries).toMatch(/sport=1001 .*mark=256/);
    const check = await cli('deploy', inv, '--check', '--json');
    expect(check.code, check.stdout).toBe(0);
    const drift = await cli('drift', inv, '--json');
    expect(drift.code, drift.stdout).toBe(0);
    const host = (JSON.parse(drift.stdout) as { hosts: { status: string; links: { link: string; state: string }[] }[] }).hosts[0];
    expect(host.status).toBe('in_sync');
    expect(host.links.map((l) => `${l.link}:${l.state}`)).toEqual(['dsl:up', 'cable:down', 'lte:up']);

    repairIsp(2);
    const back = await timeUntil(() => linkUp('cable'), 10);
    console.log(`recovery: cable back ${back.toFixed(1)} s after repair`);
    expect(back).toBeLessThanOrEqual(4.5);
    await sleep(300);
    expect(balance()).toEqual(full);
  }, 120_000);

  it('a weight change while the monitor holds a link out keeps it out and loads the new weights', async () => {
    breakIsp(3);
    expect(await timeUntil(() => !linkUp('lte'), 10)).toBeLessThan(10);
    const res = await cli('weights', inv, 'dsl=3', 'cable=1', '--json');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(jsonHosts(res)[r().name].changes.map((c) => c.object).sort()).toEqual([`${r().stateDir}/monitor/monitor.sh`, 'mangle ML_BALANCE']);
    await sleep(1500);
    expect(linkUp('lte')).toBe(false);
    expect(balance()).toEqual([
      '-A ML_BALANCE -m mark --mark 0x0/0xff00 -m statistic --mode random --probability 0.75000000000 -j MARK --set-xmark 0x100/0xff00',
      '-A ML_BALANCE -m mark --mark 0x0/0xff00 -j MARK --set-xmark 0x200/0xff00',
    ]);
    expect((await cli('deploy', inv, '--check')).code).toBe(0);
    repairIsp(3);
    expect(await timeUntil(() => linkUp('lte'), 10)).toBeLessThan(10);
  }, 120_000);

  it('one of two targets down with quorum 1 causes no failover', async () => {
    expect(up('iptables-nft', '-I', 'INPUT', '-d', '198.51.100.3', '-j', 'DROP').code).toBe(0);
    await sleep(5000);
    expect(['dsl', 'cable', 'lte'].every(linkUp)).toBe(true);
    expect(up('iptables-nft', '-D', 'INPUT', '-d', '198.51.100.3', '-j', 'DROP').code).toBe(0);
  }, 20_000);

  it('with every tier-1 link broken the tier-2 link carries new connections, and gives them back', async () => {
    breakIsp(1);
    breakIsp(2);
    expect(await timeUntil(() => !linkUp('dsl') && !linkUp('cable'), 10)).toBeLessThan(10);
    await sleep(300);
    expect(balance()).toEqual(['-A ML_BALANCE -m mark --mark 0x0/0xff00 -j MARK --set-xmark 0x300/0xff00']);
    repairIsp(1);
    repairIsp(2);
    expect(await timeUntil(() => linkUp('dsl') && linkUp('cable'), 10)).toBeLessThan(10);
    await sleep(300);
    expect(balance().some((l) => l.includes('0x300/0xff00'))).toBe(false);
  }, 40_000);

  it('a monitor that died is seen by --check and restarted by deploy; removing health stops it', async () => {
    const pid = Number(readFileSync(join(r().stateDir, 'monitor', 'pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    await sleep(200);
    const check = await cli('deploy', inv, '--check');
    expect(check.code).toBe(2);
    expect(check.stdout).toMatch(/monitor not running/);
    const restart = await cli('deploy', inv, '--json');
    expect(restart.code, restart.stdout).toBe(0);
    const again = Number(readFileSync(join(r().stateDir, 'monitor', 'pid'), 'utf8'));
    expect(again).not.toBe(pid);
    expect(() => process.kill(again, 0)).not.toThrow();
    const off = await cli('deploy', plain, '--json');
    expect(off.code, off.stdout).toBe(0);
    await sleep(200);
    // Stopped: gone, or a zombie its new parent has not reaped yet (this machine's PID 1 reaps late).
    const state = (() => {
      try {
        return readFileSync(`/proc/${again}/stat`, 'utf8').split(') ')[1][0];
      } catch {
        return 'gone';
      }
    })();
    expect(['gone', 'Z']).toContain(state);
    expect((await cli('deploy', plain, '--check')).code).toBe(0);
  }, 120_000);
});
