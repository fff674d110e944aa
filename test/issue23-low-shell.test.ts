// Issue 23's low items on the router side, run by dash and by BusyBox ash:
// §7  uptime in hundredths of a second is read by the shell (64-bit arithmetic), not by awk's
//     %d: past 248.5 days it keeps counting (BusyBox awk wraps, mawk clamps);
// §13 transaction folders are pruned by every deploy that takes the lock, not only by
//     confirmations: failed deploys leave at most eight that ended.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { txnBeginProgram, txnLockLib } from '../src/remote/programs.js';
import { shellLib } from '../src/shell/lib.js';
import { sh } from '../src/shell/sh.js';

const which = (cmd: string): string => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
const shells = [['dash'], ['busybox', 'ash']].filter((s) => which(s[0]) !== '');
if (shells.length < 2) console.warn('issue 23 low shell tests: dash or busybox missing, running under what there is');

const root = mkdtempSync(join(tmpdir(), 'ml-i23low-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => {
  const d = join(root, `t${++n}`);
  mkdirSync(d);
  return d;
};

function run(shell: string[], script: string, input = ''): { code: number | null; out: string } {
  const r = spawnSync(shell[0], [...shell.slice(1), '-c', script], { encoding: 'utf8', timeout: 30_000, input });
  return { code: r.status, out: (r.stdout ?? '') + (r.stderr ?? '') };
}

describe.each(shells)('issue 23 low items (%s)', (...shell) => {
  it('§7: ml_centis reads uptime in the shell, past 248.5 days too', () => {
    const d = fresh();
    const cases: [string, number][] = [
      ['21474836.48 100.00', 2147483648],
      ['30000000.05 100.00', 3000000005],
      ['123.4 1.00', 12340],
      ['0.07 0.00', 7],
      ['5 0.00', 500],
    ];
    for (const [uptime, want] of cases) {
      const f = join(d, 'uptime');
      writeFileSync(f, `${uptime}\n`);
      const r = run(shell, `${shellLib('none').text}\nml_centis ${f}; echo "$ml_cs"; echo $((ml_cs + 100))`);
      expect(r.code, r.out).toBe(0);
      expect(r.out.trim().split('\n').map(Number), uptime).toEqual([want, want + 100]);
    }
    // Without the file: seconds since the epoch, in hundredths.
    const r = run(shell, `${shellLib('none').text}\nml_centis ${join(d, 'absent')}; echo "$ml_cs"`);
    expect(Math.abs(Number(r.out.trim()) / 100 - Date.now() / 1000)).toBeLessThan(5);
    // The monitor's rate clock is that one (no awk %d on /proc/uptime left).
    expect(readFileSync(new URL('../src/remote/monitor.sh', import.meta.url), 'utf8')).not.toMatch(/uptime/);
  });

  it('§13: a deploy that takes the lock prunes the folders of failed deploys, down to the newest four', () => {
    const s = fresh();
    const now = Date.now() / 1000;
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const id = `0000000${i.toString(16)}deadbeef`;
      ids.push(id);
      const t = join(s, 'txn', id);
      mkdirSync(t, { recursive: true });
      // Failed deploys: restored, or ended before they were armed.
      writeFileSync(join(t, i % 2 ? 'result' : 'ended'), 'x\n');
      utimesSync(t, now - 1000 + i, now - 1000 + i);
    }
    const p = { stateDir: s, id: 'abcdef0123456789', holder: 'test', leaseS: 300, waitS: 5 };
    // The first execution of a deploy with nothing to do: lock, settle, prune, gather, no plan.
    const script = [shellLib('none').text, sh`ml_gather() { :; }`.text, txnLockLib(p).text, txnBeginProgram(p).text].join('\n');
    const r = run(shell, script);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/@@ML-R ended nothing/);
    expect(readdirSync(join(s, 'txn')).sort()).toEqual(ids.slice(8).sort());
  });
});
