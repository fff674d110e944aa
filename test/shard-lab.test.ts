// --shard K/N on the fleet commands against a lab of 3 real routers, and `report merge` of
// the shards' --json documents: each router is worked on by exactly one shard (an empty
// shard is fine), and the merged document and exit code are what the unsharded command
// gives for the whole fleet.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabInfo } from '../src/lab/lab.js';
import type { DriftReport } from '../src/model/drift.js';
import type { StatusReport } from '../src/model/status.js';
import { shardOf } from '../src/util/shard.js';
import { cli, type CliResult } from './helpers/cli.js';
import { inRouter, labSupport, startTestLab, stopTestLab } from './helpers/lab.js';

const support = labSupport();
if (!support.ok) console.warn(`skipping --shard lab tests: ${support.reason}`);

interface ShardRun {
  res: CliResult;
  file: string;
  doc: { command: string; hosts: { host: string }[]; shard?: { index: number; count: number } };
}

describe.skipIf(!support.ok)('--shard K/N and report merge on a lab of 3 routers', () => {
  let lab: LabInfo;
  let dir = '';
  let files = 0;
  const names = (): string[] => lab.routers.map((r) => r.name);

  /** Runs `args --json --shard k/N` for every k, each document saved to a file. */
  const shards = async (args: string[], count: number): Promise<ShardRun[]> => {
    const runs: ShardRun[] = [];
    for (let k = 1; k <= count; k++) {
      const res = await cli(...args, '--json', '--shard', `${k}/${count}`);
      const file = join(dir, `doc-${++files}.json`);
      writeFileSync(file, res.stdout);
      runs.push({ res, file, doc: JSON.parse(res.stdout) as ShardRun['doc'] });
    }
    return runs;
  };
  const merge = async (runs: ShardRun[]): Promise<{ res: CliResult; doc: Record<string, unknown> & { hosts: { host: string }[] } }> => {
    const res = await cli('report', 'merge', ...runs.map((r) => r.file));
    return { res, doc: JSON.parse(res.stdout) as Record<string, unknown> & { hosts: { host: string }[] } };
  };
  /** Each shard held exactly the routers the hash gives it, and said which shard it was. */
  const expectPartition = (runs: ShardRun[], count: number): void => {
    runs.forEach((run, i) => {
      expect(run.doc.shard).toEqual({ index: i + 1, count });
      expect(run.doc.hosts.map((h) => h.host)).toEqual(names().filter((n) => shardOf(n, count) === i + 1));
      expect(run.res.stderr).toContain(`note: shard ${i + 1}/${count}: ${run.doc.hosts.length} of the 3 targeted hosts`);
    });
  };

  beforeAll(async () => {
    lab = await startTestLab(3);
    dir = mkdtempSync(join(tmpdir(), 'multilink-shard-'));
  }, 180_000);

  afterAll(async () => {
    if (lab) await stopTestLab(lab);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('deploy in 2 shards: each router deployed once; merged, all changed and exit 0', async () => {
    const runs = await shards(['deploy', lab.inventory], 2);
    expectPartition(runs, 2);
    for (const r of runs) expect(r.res.code, r.res.stderr).toBe(0);
    const { res, doc } = await merge(runs);
    expect(res.code).toBe(0);
    expect(doc.command).toBe('deploy');
    expect(doc.hosts.map((h) => h.host)).toEqual(names());
    expect(doc.summary).toEqual({ unchanged: 0, changed: 3, rolled_back: 0, failed: 0, unreachable: 0, skipped: 0, would_change: 0 });
    expect(doc).not.toHaveProperty('shard');
    expect(res.stderr).toBe('merged 2 shards of deploy: 3 hosts: changed=3; exit 0\n');
  });

  it('drift in 4 shards (one empty) merges into exactly the unsharded document and exit code: 0, then 2', async () => {
    const compare = async (want: number): Promise<void> => {
      const whole = await cli('drift', lab.inventory, '--json');
      expect(whole.code).toBe(want);
      const runs = await shards(['drift', lab.inventory], 4);
      expectPartition(runs, 4);
      expect(runs.some((r) => r.doc.hosts.length === 0)).toBe(true);
      const { res, doc } = await merge(runs);
      expect(res.code).toBe(want);
      expect(doc).toEqual(JSON.parse(whole.stdout) as DriftReport);
    };
    await compare(0);
    const r = lab.routers[2].name;
    expect(inRouter(lab, r, 'sysctl', ['-qw', 'net.ipv4.conf.wan1.rp_filter=0']).code).toBe(0);
    await compare(2);
  });

  it('deploy --check in 2 shards: merged exit 2 while one router needs changes, as the unsharded check', async () => {
    const whole = await cli('deploy', lab.inventory, '--check', '--json');
    expect(whole.code).toBe(2);
    const runs = await shards(['deploy', lab.inventory, '--check'], 2);
    const { res, doc } = await merge(runs);
    expect(res.code).toBe(2);
    expect(doc.command).toBe('deploy --check');
    expect(doc.summary).toEqual({ unchanged: 2, changed: 0, rolled_back: 0, failed: 0, unreachable: 0, skipped: 0, would_change: 1 });
    // A merge of documents from different commands is refused.
    const drift = await shards(['drift', lab.inventory], 2);
    const mixed = await cli('report', 'merge', runs[0].file, drift[1].file);
    expect(mixed.code).toBe(1);
    expect(mixed.stderr).toContain('cannot merge documents of different commands');
  });

  it('status in 3 shards: the same hosts and statuses as unsharded, exit 0', async () => {
    const whole = JSON.parse((await cli('status', lab.inventory, '--json')).stdout) as StatusReport;
    const runs = await shards(['status', lab.inventory], 3);
    expectPartition(runs, 3);
    const { res, doc } = await merge(runs);
    expect(res.code).toBe(0);
    // Counters move between runs; hosts, statuses and summary do not.
    const statuses = (hosts: { host: string }[]): unknown => hosts.map((h) => [h.host, (h as { status?: string }).status]);
    expect(statuses(doc.hosts)).toEqual(statuses(whole.hosts));
    expect(doc.summary).toEqual(whole.summary);
  });

  it('weights and rollback take --shard too; their merged documents exit as the commands do', async () => {
    expect((await cli('deploy', lab.inventory)).code).toBe(0); // weights refuses hosts with other drift
    const weights = await shards(['weights', lab.inventory, 'dsl=2', '--no-write'], 2);
    expectPartition(weights, 2);
    const w = await merge(weights);
    expect(w.res.code).toBe(0);
    expect(w.doc.hosts.map((h) => h.host)).toEqual(names());
    const back = await shards(['rollback', lab.inventory, '--limit', 'all'], 2);
    expectPartition(back, 2);
    const b = await merge(back);
    expect(b.res.code, b.res.stdout).toBe(0);
    expect(b.doc.summary).toEqual({ unchanged: 0, changed: 3, rolled_back: 0, failed: 0, unreachable: 0, skipped: 0, would_change: 0 });
  });

  it('a bad --shard is a usage error before any host is contacted', async () => {
    for (const bad of ['0/2', '3/2', 'two']) {
      const res = await cli('drift', lab.inventory, '--shard', bad);
      expect(res.code).toBe(1);
      expect(res.stdout).toBe('');
      expect(res.stderr).toContain(`--shard takes K/N, the K-th of N shares with 1 ≤ K ≤ N ≤ 10000 (e.g. 2/4), not "${bad}"`);
    }
  });
});
