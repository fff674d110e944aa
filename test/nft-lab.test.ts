// The nft backend on real lab routers (issue 19): `auto` chooses nft where the router has it,
// a router deployed by iptables moves to nft in one transaction (no ML_ chain left in
// iptables-save), a second deploy is unchanged, drift is 0, and rollback puts back exactly
// what iptables held; a weight change replaces only the balancing chain, so the per-link
// counters and the table itself survive it.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inRouter, labSupport, startTestLab, stopTestLab } from './helpers/lab.js';
import { cli, jsonHosts } from './helpers/cli.js';
import type { LabInfo } from '../src/lab/lab.js';
import { labRunDir } from '../src/lab/lab-files.js';
import { RunLayout } from '../src/shell/layout.js';

const support = labSupport();
const nft = support.ok && inRouterless('nft');
if (!support.ok || !nft) console.warn(`skipping the nft backend lab tests: ${support.reason ?? 'nft is not installed (apt-get install nftables)'}`);

function inRouterless(cmd: string): boolean {
  try {
    return readFileSync('/usr/sbin/' + cmd).length > 0;
  } catch {
    return false;
  }
}

describe.skipIf(!support.ok || !nft)('the nft backend on lab routers (iptables-nft and iptables-legacy userland)', () => {
  let lab: LabInfo;
  let inventory: string;
  const flavour = (r: string): string => lab.routers.find((x) => x.name === r)!.iptables;
  /** multilink's part of iptables-save, both families: ML_ chains and the jumps to them. */
  const ipt = (r: string): string => {
    const out: string[] = [];
    for (const tool of [`iptables-${flavour(r)}-save`, `ip6tables-${flavour(r)}-save`]) {
      const res = inRouter(lab, r, tool, []);
      expect(res.code, res.stderr).toBe(0);
      out.push(...res.stdout.split('\n').filter((l) => /ML_/.test(l)).map((l) => l.replace(/ \[\d+:\d+\]$/, '')));
    }
    return out.join('\n');
  };
  const table = (r: string): { code: number | null; text: string } => {
    const res = inRouter(lab, r, 'nft', ['-s', '-t', 'list', 'table', 'inet', 'multilink']);
    return { code: res.code, text: res.stdout };
  };
  const setFirewall = (value: string, weights?: string): void => {
    let text = readFileSync(lab.inventory, 'utf8').replace(/multilink_firewall: \w+/g, `multilink_firewall: ${value}`);
    if (weights) text = text.replace('multilink_boot: none', `multilink_boot: none\n        multilink_weights: ${weights}`);
    writeFileSync(inventory, text);
  };

  beforeAll(async () => {
    lab = await startTestLab(2);
    inventory = join(lab.dir, 'nft.yaml');
    expect(readFileSync(lab.inventory, 'utf8')).toMatch(/multilink_firewall: iptables/);
  }, 180_000);
  afterAll(async () => {
    if (lab) await stopTestLab(lab);
  });

  let before: Record<string, string>;
  it('moves routers deployed by iptables to nft in one transaction, then changes nothing', async () => {
    setFirewall('iptables');
    const first = await cli('deploy', inventory, '--json');
    expect(first.code, first.stdout + first.stderr).toBe(0);
    before = Object.fromEntries(lab.routers.map((r) => [r.name, ipt(r.name)]));
    for (const r of lab.routers) {
      expect(before[r.name]).toMatch(/ML_BALANCE/);
      expect(table(r.name).code).not.toBe(0);
    }

    setFirewall('auto');
    const check = await cli('deploy', inventory, '--check', '--json');
    expect(check.code, check.stdout).toBe(2);
    const moved = await cli('deploy', inventory, '--json');
    expect(moved.code, moved.stdout + moved.stderr).toBe(0);
    expect(Object.values(jsonHosts(moved)).map((h) => h.outcome)).toEqual(['changed', 'changed']);
    for (const r of lab.routers) {
      expect(ipt(r.name)).toBe('');
      const t = table(r.name);
      expect(t.code).toBe(0);
      expect(t.text).toMatch(/numgen random mod 3 vmap \{ 0 : jump ML_BAL_100, 1-2 : jump ML_BAL_200 \}/);
      expect(t.text).toMatch(/type route hook output priority mangle/);
    }
    const again = await cli('deploy', inventory, '--json');
    expect(again.code, again.stdout).toBe(0);
    expect(Object.values(jsonHosts(again)).map((h) => h.outcome), again.stdout).toEqual(['unchanged', 'unchanged']);
    const drift = await cli('drift', inventory, '--json');
    expect(drift.code, drift.stdout).toBe(0);
  }, 180_000);

  it('a weight change replaces only the balancing chain: the counters of the other chains go on', async () => {
    // Some packets out of wan1 from the router itself, counted in mangle_postrouting's ML_ACCT.
    inRouter(lab, 'r1', 'ping', ['-c', '2', '-W', '1', '-I', 'wan1', '100.64.1.1']);
    const counted = (): number => Number(/oifname "wan1" counter packets (\d+)/.exec(inRouter(lab, 'r1', 'nft', ['list', 'chain', 'inet', 'multilink', 'ML_ACCT']).stdout)?.[1] ?? -1);
    const n = counted();
    expect(n).toBeGreaterThan(0);
    setFirewall('auto', '{ dsl: 3, cable: 1 }');
    const res = await cli('deploy', inventory, '--json');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(jsonHosts(res).r1.changes?.map((c) => c.object)).toEqual(['chain ML_BALANCE']);
    expect(table('r1').text).toMatch(/numgen random mod 4 vmap \{ 0-2 : jump ML_BAL_100, 3 : jump ML_BAL_200 \}/);
    expect(counted()).toBeGreaterThanOrEqual(n);
    // `multilink weights` replaces only that chain too (it refuses any other difference).
    const w = await cli('weights', inventory, 'dsl=1', 'cable=2', '--limit', 'lab');
    expect(w.code, w.stdout + w.stderr).toBe(0);
    for (const r of lab.routers) expect(table(r.name).text).toMatch(/numgen random mod 3 vmap \{ 0 : jump ML_BAL_100, 1-2 : jump ML_BAL_200 \}/);
  }, 120_000);

  // Issue 19 §3 without health: the guard-only monitor (every second) puts the generation's
  // netfilter objects back after another tool deleted them, and a table deleted again and again
  // is left alone and reported as drift.
  /** Milliseconds until check() holds (polled every 50 ms), or undefined after limitMs. */
  async function within(check: () => boolean, limitMs: number): Promise<number | undefined> {
    const start = Date.now();
    for (;;) {
      if (check()) return Date.now() - start;
      if (Date.now() - start > limitMs) return undefined;
      await new Promise((ok) => setTimeout(ok, 50));
    }
  }
  const nftFile = (name: string, text: string): string => {
    const f = join(lab.dir, name);
    writeFileSync(f, text);
    return f;
  };
  const monitorLog = (r: string): string => {
    try {
      return readFileSync(new RunLayout(labRunDir(lab.routers.find((x) => x.name === r)!)).monitorLog, 'utf8');
    } catch {
      return '';
    }
  };

  it('without health: an fw4-style rebuild of another table leaves it in sync; after `nft flush ruleset` it is back within 2 s, and status says so', async () => {
    const synced = table('r1').text;
    expect(synced).toMatch(/numgen random mod 3/);
    // fw4 start/reload/restart: only table inet fw4 is deleted and made again.
    const fw4 = nftFile('fw4.nft', 'table inet fw4\nflush table inet fw4\ntable inet fw4 {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n');
    for (let i = 0; i < 2; i++) {
      expect(inRouter(lab, 'r1', 'nft', ['-f', fw4]).code).toBe(0);
      expect(inRouter(lab, 'r1', 'nft', ['delete', 'table', 'inet', 'fw4']).code).toBe(0);
      expect(inRouter(lab, 'r1', 'nft', ['-f', fw4]).code).toBe(0);
    }
    await new Promise((ok) => setTimeout(ok, 1500));
    expect(table('r1').text).toBe(synced);
    expect(monitorLog('r1')).not.toMatch(/foreign flush/);
    const quiet = await cli('drift', inventory, '--limit', 'r1', '--json');
    expect(quiet.code, quiet.stdout).toBe(0);

    // nftables.service's `flush ruleset` (and fw4 flush): every table goes, fw4's too.
    expect(inRouter(lab, 'r1', 'nft', ['flush', 'ruleset']).code).toBe(0);
    const ms = await within(() => table('r1').text === synced, 2000);
    expect(ms, `not back within 2 s:\n${monitorLog('r1')}`).toBeDefined();
    console.log(`nft flush ruleset: table inet multilink back in ${ms} ms`);
    // The log line follows the restore's last command.
    expect(await within(() => /restored generation \d+'s rules after a foreign flush/.test(monitorLog('r1')), 1000), monitorLog('r1')).toBeDefined();
    const drift = await cli('drift', inventory, '--limit', 'r1', '--json');
    expect(drift.code, drift.stdout).toBe(0);
    const status = await cli('status', inventory, '--limit', 'r1');
    expect(status.stdout + status.stderr).toMatch(/restored after a foreign flush at \S+ \(generation \d+\)/);
  }, 120_000);

  it('without health: a table deleted again and again is put back three times a minute, then left alone and reported as drift', async () => {
    const synced = table('r1').text;
    // The flush before was the first restore of this minute: two more, then the guard stops.
    for (let i = 0; i < 2; i++) {
      expect(inRouter(lab, 'r1', 'nft', ['delete', 'table', 'inet', 'multilink']).code).toBe(0);
      expect(await within(() => table('r1').text === synced, 3000), monitorLog('r1')).toBeDefined();
    }
    expect(inRouter(lab, 'r1', 'nft', ['delete', 'table', 'inet', 'multilink']).code).toBe(0);
    expect(await within(() => /guard stopped/.test(monitorLog('r1')), 3000), monitorLog('r1')).toBeDefined();
    await new Promise((ok) => setTimeout(ok, 1500));
    expect(table('r1').code).not.toBe(0);
    const drift = await cli('drift', inventory, '--limit', 'r1', '--json');
    expect(drift.code, drift.stdout).toBe(2);
    expect(drift.stdout).toMatch(/multilink/);
    // A deploy puts the table back without restarting the monitor (its script is the same): the
    // guard resumes, and puts back the next deletion.
    const res = await cli('deploy', inventory, '--limit', 'r1', '--json');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(jsonHosts(res).r1.changes?.map((c) => c.object)).toEqual(['table inet multilink']);
    expect(await within(() => /guard resumed/.test(monitorLog('r1')), 3000), monitorLog('r1')).toBeDefined();
    expect(inRouter(lab, 'r1', 'nft', ['delete', 'table', 'inet', 'multilink']).code).toBe(0);
    expect(await within(() => table('r1').text === synced, 2000), monitorLog('r1')).toBeDefined();
  }, 120_000);

  it('rollback to the iptables generation puts back exactly what iptables held and removes the table', async () => {
    // Generations: 1 iptables, 2 nft, 3 and 4 nft with other weights.
    const res = await cli('rollback', inventory, '--limit', 'all', '--generation', '1', '--json');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    for (const r of lab.routers) {
      expect(ipt(r.name)).toBe(before[r.name]);
      expect(table(r.name).code).not.toBe(0);
    }
  }, 120_000);

  it('iptables backend without health: after an iptables-restore that flushed nat and mangle, back in sync within 2 s', async () => {
    // The rollback left generation 1 (iptables, guard-only monitor) in force.
    const rules = nftFile(
      'nat-mangle.rules',
      ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', 'COMMIT', '*mangle', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', 'COMMIT', ''].join('\n'),
    );
    const res = inRouter(lab, 'r1', `iptables-${flavour('r1')}-restore`, [rules]);
    expect(res.code, res.stderr).toBe(0);
    expect(ipt('r1')).not.toBe(before.r1);
    const ms = await within(() => ipt('r1') === before.r1, 2000);
    expect(ms, `not back within 2 s:\n${monitorLog('r1')}`).toBeDefined();
    console.log(`iptables-restore of nat+mangle (${flavour('r1')}): ML_ chains back in ${ms} ms`);
    setFirewall('iptables');
    const drift = await cli('drift', inventory, '--limit', 'r1', '--json');
    expect(drift.code, drift.stdout).toBe(0);
  }, 120_000);

  it('remove takes the table away (issue 22 §2 on the nft backend); a second remove is unchanged', async () => {
    setFirewall('auto');
    const deployed = await cli('deploy', inventory, '--json');
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
    for (const r of lab.routers) expect(table(r.name).code).toBe(0);
    const removed = await cli('remove', inventory, '--limit', 'all', '--json');
    expect(removed.code, removed.stdout + removed.stderr).toBe(0);
    expect(Object.values(jsonHosts(removed)).map((h) => h.outcome)).toEqual(['changed', 'changed']);
    for (const r of lab.routers) {
      expect(table(r.name).code).not.toBe(0);
      expect(ipt(r.name)).toBe('');
    }
    const again = await cli('remove', inventory, '--limit', 'all', '--json');
    expect(again.code, again.stdout).toBe(0);
    expect(Object.values(jsonHosts(again)).map((h) => h.outcome), again.stdout).toEqual(['unchanged', 'unchanged']);
  }, 120_000);
});

