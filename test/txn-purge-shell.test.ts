// A remove's confirmation (txn-purge.sh, run as confirm.sh) under dash and BusyBox ash in a
// temp state folder: one whose process died right after it disarmed is finished by whoever
// takes the lock next (txn-lock.sh ml_settle), who then takes the lock again (txn-begin.sh);
// the boot hook, the run folder and the state folder go; a state folder that holds someone
// else's file keeps it, and only multilink's entries go; an interrupted purge's leftover goes.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { confirmScript } from '../src/apply/transaction.js';
import type { PurgeOps } from '../src/model/plan.js';
import { NOTHING_OWNED, planRemove, removalDesired } from '../src/plan/remove.js';
import { pristineFacts, twoLinkDesired } from './helpers/desired.js';
import { txnLockLib } from '../src/remote/programs.js';
import { shellLib } from '../src/shell/lib.js';

const shells = [['dash'], ['busybox', 'ash']].filter((s) => spawnSync('sh', ['-c', `command -v ${s[0]}`]).status === 0);
const root = mkdtempSync(join(tmpdir(), 'ml-purge-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const ID = '0123456789abcdef';

/** A state folder as a remove leaves it when its process dies right after `armed` became `disarmed`. */
function disarmedRemove(extra: (state: string) => void = () => undefined): { state: string; run: string; hook: string } {
  const base = join(root, `h${++n}`);
  const state = join(base, 'state');
  const run = join(base, 'run');
  const hook = join(base, 'hook');
  const t = join(state, 'txn', ID);
  for (const d of [t, run, join(state, 'generations', '3'), join(state, 'locks', '7'), join(state, 'monitor')]) mkdirSync(d, { recursive: true });
  writeFileSync(join(state, 'owned.json'), JSON.stringify(NOTHING_OWNED));
  writeFileSync(join(state, 'owned.list'), '');
  writeFileSync(join(state, 'current'), '2\n');
  writeFileSync(join(state, 'iptables.restore'), '*mangle\nCOMMIT\n');
  writeFileSync(join(run, 'state'), 'links 3\n');
  writeFileSync(hook, '#!/bin/sh\n');
  writeFileSync(join(state, 'locks', '7', 'owner'), `id ${ID}\nboot x\nlease 1\nplanby 1\nholder gone\n`);
  for (const f of ['received', 'applied', 'apply.done', 'disarmed']) writeFileSync(join(t, f), '');
  writeFileSync(join(t, 'gen'), '3\n');
  writeFileSync(join(t, 'epoch'), '7\n');
  const purge: PurgeOps = { bootFiles: [hook], initd: false, runDir: run, stateDir: state, leftovers: [`${state}.purge-fedcba9876543210`] };
  mkdirSync(`${state}.purge-fedcba9876543210/generations`, { recursive: true });
  const desired = removalDesired('r1', { ...twoLinkDesired().settings, stateDir: state, runDir: run });
  const ops = { ...planRemove('r1', desired.settings, { ...pristineFacts(), paths: { state: true, run: true, leftovers: [] } }).ops!, purge };
  writeFileSync(join(t, 'confirm.sh'), `${confirmScript({ id: ID, ops, desired }).text}\n`);
  extra(state);
  return { state, run, hook };
}

/** What the next transaction does first: take the lock, settle what dead ones left, take it again if a remove took it. */
function nextTaker(shell: string[], state: string): { code: number | null; stdout: string; stderr: string } {
  const text = [
    shellLib('none').text,
    txnLockLib({ stateDir: state, id: 'aaaaaaaaaaaaaaaa', holder: 'next', leaseS: 300, waitS: 30 }).text,
    'ml_lock || exit 9',
    "ml_settle_all 'its processes died'",
    '[ -d "$ml_epoch" ] || { echo took-again; ml_lock || exit 8; }',
    'echo "epoch ${ml_epoch##*/}"',
  ].join('\n');
  const r = spawnSync(shell[0], [...shell.slice(1), '-c', text], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.each(shells)('a remove\'s confirmation under %s', (...shell) => {
  it('died right after it disarmed: the next taker finishes it, says so, and takes the lock again', () => {
    const { state, run, hook } = disarmedRemove();
    const r = nextTaker(shell, state);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`@@ML recovered ${ID}\nconfirmed a remove: the state folder is gone\n@@ML-rc 0\ntook-again\nepoch 1\n`);
    expect(r.stderr).toBe('');
    expect(existsSync(hook)).toBe(false);
    expect(existsSync(run)).toBe(false);
    expect(existsSync(`${state}.purge-fedcba9876543210`)).toBe(false);
    expect(existsSync(`${state}.purge-${ID}`)).toBe(false);
    // Only the new lock is there (a deploy goes on; a remove's look then finds that much to delete).
    expect(readdirSync(state).sort()).toEqual(['locks', 'txn']);
  });

  it('a state folder that holds someone else\'s file keeps it: only multilink\'s entries go', () => {
    const { state } = disarmedRemove((s) => writeFileSync(join(s, 'notes.txt'), 'mine\n'));
    const r = nextTaker(shell, state);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('confirmed a remove: the state folder is gone');
    expect(readdirSync(state).sort()).toEqual(['locks', 'notes.txt', 'txn']);
  });
});
