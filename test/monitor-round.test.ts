// How a link monitor round waits for its probes (src/remote/monitor-round.sh), run as shipped
// under dash and BusyBox ash (issue 23 §3): a probe that never returns is killed at ML_WAIT
// and counts as failed, an answered one keeps its summary; a round whose probes are all back
// does not wait for the bound, and the bound leaves no process behind; only the monitor's own
// children are ever killed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lines, shellLib } from '../src/shell/lib.js';
import { monitorRoundLib } from '../src/remote/programs.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const SHELLS = [['dash'], ['busybox', 'ash']].filter((s) => has(s[0]));
if (SHELLS.length < 2) console.log('monitor-round tests: dash or busybox missing, run with what there is (apt-get install dash busybox)');

const root = mkdtempSync(join(tmpdir(), 'ml-round-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Runs the round functions with ML_WAIT in a fresh run folder R, then `body`; how long it took. */
function runRound(shell: string[], name: string, wait: string, body: string): { dir: string; stdout: string; seconds: number } {
  const dir = mkdtempSync(join(root, `${name}-`));
  const script = [lines(shellLib('none'), monitorRoundLib()).text, `R='${dir}'`, `ML_WAIT='${wait}'`, body].join('\n');
  const start = Date.now();
  const r = spawnSync(shell[0], [...shell.slice(1), '-c', script], { encoding: 'utf8', timeout: 30_000 });
  const seconds = (Date.now() - start) / 1000;
  expect(r.status, `${shell.join(' ')}: ${r.stderr}`).toBe(0);
  expect(r.stderr).toBe('');
  return { dir, stdout: r.stdout, seconds };
}

/** Pids of processes whose command line is exactly ARGV. */
function processes(argv: string[]): number[] {
  const want = `${argv.join('\0')}\0`;
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return readFileSync(`/proc/${e}/cmdline`, 'utf8') === want;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.skipIf(SHELLS.length === 0)('monitor-round.sh', () => {
  for (const shell of SHELLS) {
    const name = shell.join(' ');

    it(`${name}: a probe that never returns is killed at ML_WAIT and fails; an answered one keeps its summary, a lost one fails`, () => {
      const { dir, stdout, seconds } = runRound(shell, 'stuck', '0.5', `
sh -c 'echo "rtt min/avg/max/mdev = 1.0/1.0/1.0/0.0 ms"' > "$R/probe.1.1" & a=$!
sleep 600 > "$R/probe.1.2" & b=$!
sh -c 'exit 1' > "$R/probe6.2.1" & c=$!
ml_round_wait "probe.1.1:$a" "probe.1.2:$b" "probe6.2.1:$c"
kill -0 "$b" 2>/dev/null && echo "still running: $b"
echo done
`);
      expect(stdout).toBe('done\n');
      expect(seconds).toBeGreaterThanOrEqual(0.5);
      expect(seconds).toBeLessThan(3);
      expect(readdirSync(dir).sort()).toEqual(['probe.1.1']);
      expect(readFileSync(join(dir, 'probe.1.1'), 'utf8')).toMatch(/min\/avg\/max/);
      expect(processes(['sleep', '600'])).toEqual([]);
    });

    it(`${name}: a round whose probes are all back does not wait for the bound, which leaves no process behind`, () => {
      const { dir, seconds } = runRound(shell, 'early', '7.31', `
sleep 0.2 > "$R/probe.1.1" & a=$!
sleep 0.3 > "$R/probe6.2.1" & b=$!
ml_round_wait "probe.1.1:$a" "probe6.2.1:$b"
ml_round_wait
`);
      expect(seconds).toBeLessThan(3);
      expect(readdirSync(dir).sort()).toEqual(['probe.1.1', 'probe6.2.1']);
      expect(processes(['sleep', '7.31'])).toEqual([]);
    });

    it(`${name}: only the monitor's own children are killed (a pid recorded once may name another process since)`, () => {
      const { dir, stdout } = runRound(shell, 'cut', '0.5', `
sh -c 'sleep 30 >/dev/null 2>&1 & echo $! > "$1"' sh "$R/other"
other=$(cat "$R/other")
sleep 30 & mine=$!
ml_cut "probe.1.1:$other" "$mine" 999999999
wait "$mine" 2>/dev/null; echo "mine $?"
kill -0 "$other" && echo "other alive" && kill "$other"
`);
      expect(stdout).toBe('mine 137\nother alive\n');
      expect(existsSync(join(dir, 'other'))).toBe(true);
    });
  }
});
