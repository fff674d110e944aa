// report merge: shard documents of each fleet command merged into one of the same shape with
// the command's exit code; refusals for mixed commands, overlaps and incomplete shard sets.
// Also through the command line, with files.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { mergeReports, type ReportInput } from '../src/report/merge.js';
import { cli } from './helpers/cli.js';

type Doc = Record<string, unknown>;
let n = 0;
const input = (doc: Doc | string): ReportInput => ({ file: `shard-${++n}.json`, text: typeof doc === 'string' ? doc : JSON.stringify(doc) });
const host = (name: string, outcome: string): Doc => ({ host: name, outcome, changes: [], durationMs: 12, diagnostics: [] });
const run = (command: string, hosts: Doc[], shard?: [number, number]): Doc => ({
  command,
  hosts,
  summary: {},
  ...(shard ? { shard: { index: shard[0], count: shard[1] } } : {}),
});
const drift = (name: string, status: string): Doc => ({ host: name, status, differences: [] });
const status = (name: string, s: string): Doc => ({ host: name, status: s, method: 'random', links: [], notes: [] });
const refusal = (inputs: ReportInput[]): string => {
  try {
    mergeReports(inputs);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('merged, but should have refused');
};

describe('mergeReports', () => {
  it('deploy: hosts of every shard in name order, entries kept as they were, outcomes counted; 0 when all ended unchanged/changed', () => {
    const merged = mergeReports([
      input(run('deploy', [host('r10', 'changed'), host('r2', 'unchanged')], [2, 2])),
      input(run('deploy', [host('r1', 'changed')], [1, 2])),
    ]);
    expect(merged.document).toEqual({
      command: 'deploy',
      hosts: [host('r1', 'changed'), host('r2', 'unchanged'), host('r10', 'changed')],
      summary: { unchanged: 1, changed: 2, rolled_back: 0, failed: 0, unreachable: 0, skipped: 0, would_change: 0 },
    });
    expect(merged.exitCode).toBe(0);
    expect(merged.shards).toBe(2);
  });

  it.each([
    ['deploy', ['changed', 'rolled_back'], 1],
    ['deploy', ['unchanged', 'unreachable'], 1],
    ['deploy', ['skipped', 'changed'], 1],
    ['deploy --check', ['unchanged', 'unchanged'], 0],
    ['deploy --check', ['unchanged', 'would_change'], 2],
    ['deploy --check', ['would_change', 'failed'], 1],
    ['weights', ['changed', 'unchanged'], 0],
    ['weights', ['changed', 'failed'], 1],
    ['rollback', ['changed', 'changed'], 0],
    ['rollback', ['changed', 'unreachable'], 1],
  ] as const)('%s with %j across two shards exits %i', (command, [a, b], code) => {
    const merged = mergeReports([input(run(command, [host('a', a)], [1, 2])), input(run(command, [host('b', b)], [2, 2]))]);
    expect(merged.exitCode).toBe(code);
    expect(merged.document.command).toBe(command);
  });

  it.each([
    [['in_sync', 'in_sync'], 0],
    [['in_sync', 'drift'], 2],
    [['drift', 'unreachable'], 1],
    [['error', 'in_sync'], 1],
  ] as const)('drift %j exits %i, with every status counted', (statuses, code) => {
    const merged = mergeReports([input(run('drift', [drift('r2', statuses[1])], [2, 2])), input(run('drift', [drift('r1', statuses[0])], [1, 2]))]);
    expect(merged.exitCode).toBe(code);
    const summary = { in_sync: 0, drift: 0, unreachable: 0, error: 0 };
    for (const s of statuses) summary[s]++;
    expect(merged.document).toEqual({ command: 'drift', hosts: [drift('r1', statuses[0]), drift('r2', statuses[1])], summary });
  });

  it('status: 0 when every host answered, else 1', () => {
    const ok = mergeReports([input(run('status', [status('r1', 'ok')], [1, 2])), input(run('status', [status('r2', 'ok')], [2, 2]))]);
    expect(ok.exitCode).toBe(0);
    expect(ok.document.summary).toEqual({ ok: 2, unreachable: 0, error: 0 });
    const bad = mergeReports([input(run('status', [status('r1', 'ok')], [1, 2])), input(run('status', [status('r2', 'unreachable')], [2, 2]))]);
    expect(bad.exitCode).toBe(1);
  });

  it('an empty shard (no host of its share) merges as nothing', () => {
    const merged = mergeReports([input(run('drift', [drift('r1', 'in_sync')], [1, 3])), input(run('drift', [], [2, 3])), input(run('drift', [], [3, 3]))]);
    expect(merged.document.hosts).toHaveLength(1);
    expect(merged.exitCode).toBe(0);
  });

  it('documents made without --shard merge too (e.g. one per --limit), when no host overlaps', () => {
    const merged = mergeReports([input(run('deploy', [host('a', 'changed')])), input(run('deploy', [host('b', 'changed')]))]);
    expect(merged.document.hosts.map((h) => h.host)).toEqual(['a', 'b']);
    expect(merged.shards).toBeUndefined();
  });

  it('refuses documents of different commands, naming each', () => {
    const a = input(run('deploy', [host('a', 'changed')], [1, 2]));
    const b = input(run('drift', [drift('b', 'in_sync')], [2, 2]));
    expect(refusal([a, b])).toContain(`cannot merge documents of different commands: ${a.file} is deploy, ${b.file} is drift`);
    // deploy and deploy --check exit by different rules: different commands.
    const c = input(run('deploy --check', [host('b', 'would_change')], [2, 2]));
    expect(refusal([a, c])).toContain(`${c.file} is deploy --check`);
  });

  it('refuses overlapping hosts, naming host and documents', () => {
    const a = input(run('drift', [drift('r1', 'in_sync'), drift('r2', 'in_sync')]));
    const b = input(run('drift', [drift('r2', 'drift')]));
    expect(refusal([a, b])).toContain(`host r2 is in both ${a.file} and ${b.file}`);
    const twice = input(run('drift', [drift('r1', 'in_sync'), drift('r1', 'drift')]));
    expect(refusal([twice])).toContain(`host r1 is in ${twice.file} twice`);
    const same = input(run('drift', [drift('r3', 'in_sync')]));
    expect(refusal([same, same])).toBe(`cannot merge these reports: ${same.file} given more than once`);
  });

  it('refuses an incomplete, repeated or mixed set of shards: a missing shard never reads as all well', () => {
    const s = (k: number, count: number, name: string): ReportInput => input(run('deploy', [host(name, 'unchanged')], [k, count]));
    expect(refusal([s(1, 3, 'a'), s(3, 3, 'c')])).toContain('shard 2/3 is missing');
    expect(refusal([s(1, 4, 'a')])).toContain('shards 2/4, 3/4, 4/4 are missing');
    const dup1 = s(1, 2, 'a');
    const dup2 = s(1, 2, 'b');
    expect(refusal([dup1, dup2, s(2, 2, 'c')])).toContain(`${dup1.file} and ${dup2.file} are both shard 1/2`);
    expect(refusal([s(1, 2, 'a'), s(2, 3, 'b')])).toMatch(/shards are of different N: .* is 1\/2, .* is 2\/3/);
    const plain = input(run('deploy', [host('z', 'unchanged')]));
    expect(refusal([s(1, 1, 'a'), plain])).toContain(`${plain.file} was made without --shard`);
  });

  it('refuses what is not a fleet command document, saying which file and why', () => {
    const notJson = input('{"command": "deploy", ');
    expect(refusal([notJson])).toContain(`${notJson.file}: not a JSON document`);
    const inventory = input({ all: { hosts: {} } });
    expect(refusal([inventory])).toContain(`${inventory.file}: not the --json document of a multilink fleet command`);
    const render = input({ command: 'render', hosts: [] });
    expect(refusal([render])).toContain(`${render.file}: "render" documents cannot be merged`);
    const badOutcome = input(run('deploy', [host('a', 'in_sync')]));
    expect(refusal([badOutcome])).toContain(`${badOutcome.file}: host a has outcome "in_sync", not one of unchanged, changed`);
    const noName = input(run('drift', [{ status: 'in_sync' }]));
    expect(refusal([noName])).toContain(`${noName.file}: hosts[0] has no host name`);
    const badShard = input({ ...run('drift', []), shard: { index: 3, count: 2 } });
    expect(refusal([badShard])).toContain(`${badShard.file}: "shard" is not {"index": K, "count": N}`);
  });
});

describe('multilink report merge (command line)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'multilink-merge-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, doc: Doc): string => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(doc));
    return path;
  };

  it('prints the merged document alone on stdout, a summary line on stderr, and exits as drift would', async () => {
    const a = file('drift-1.json', run('drift', [drift('r1', 'in_sync')], [1, 2]));
    const b = file('drift-2.json', run('drift', [drift('r2', 'drift')], [2, 2]));
    const res = await cli('report', 'merge', a, b);
    expect(res.code).toBe(2);
    expect(JSON.parse(res.stdout)).toEqual({ command: 'drift', hosts: [drift('r1', 'in_sync'), drift('r2', 'drift')], summary: { in_sync: 1, drift: 1, unreachable: 0, error: 0 } });
    expect(res.stderr).toBe('merged 2 shards of drift: 2 hosts: in_sync=1 drift=1; exit 2\n');
  });

  it('a refusal or an unreadable file is an error (exit 1) with the reason, and nothing on stdout', async () => {
    const a = file('deploy-1.json', run('deploy', [host('r1', 'changed')], [1, 2]));
    const refused = await cli('report', 'merge', a);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('cannot merge these reports:\n  shard 2/2 is missing');
    const missing = await cli('report', 'merge', a, join(dir, 'nope.json'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`cannot read ${join(dir, 'nope.json')}: no such file`);
    const none = await cli('report', 'merge');
    expect(none.code).toBe(1);
  });
});
