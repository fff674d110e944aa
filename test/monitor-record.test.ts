// What the link monitor records, run as shipped (lib.sh + src/remote/monitor-record.sh) under
// dash and BusyBox ash: 300 flaps of a link leave a log that never passed its bound, a
// history ring of the last N changes per link, and one syslog line per change; probe
// statistics from iputils and BusyBox ping summaries.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shellLib } from '../src/shell/lib.js';
import { monitorRecordLib } from '../src/remote/programs.js';
import { lines } from '../src/shell/lib.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const SHELLS = [['dash'], ['busybox', 'ash']].filter((s) => has(s[0]));
if (SHELLS.length < 2) console.log('monitor-record tests: dash or busybox missing, run with what there is (apt-get install dash busybox)');

const root = mkdtempSync(join(tmpdir(), 'ml-record-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Runs the record functions with the monitor's parameters, then `body`, in a fresh folder. */
function runRecord(shell: string[], name: string, params: Record<string, string>, body: string): { dir: string; stdout: string } {
  const dir = mkdtempSync(join(root, `${name}-`));
  const head = Object.entries({ R: dir, ML_N: '2', ML_LINKS: 'dsl cable', ML_STATS_EVERY: '5', ...params })
    .map(([k, v]) => `${k}='${v}'`)
    .join('\n');
  const script = [
    lines(shellLib('none'), monitorRecordLib()).text,
    head,
    'ml_link() { case "$1" in 1) ml_name=dsl ;; 2) ml_name=cable ;; esac; }',
    // The router's syslog, as logger would deliver it: one line per call, appended.
    'logger() { printf \'%s\\n\' "$*" >> "$R/syslog"; }',
    body,
  ].join('\n');
  const r = spawnSync(shell[0], [...shell.slice(1), '-c', script], { encoding: 'utf8', timeout: 120_000 });
  expect(r.status, `${shell.join(' ')}: ${r.stderr}`).toBe(0);
  return { dir, stdout: r.stdout };
}

const size = (f: string): number => {
  try {
    return readFileSync(f).length;
  } catch {
    return 0;
  }
};

describe.skipIf(SHELLS.length === 0)('monitor-record.sh', () => {
  for (const shell of SHELLS) {
    const name = shell.join(' ');

    it(`${name}: learnt weights are told when a share moved 5 points or more since the last told, not for smaller moves`, () => {
      const { dir } = runRecord(shell, 'weights', { ML_LOG_MAX: '65536', ML_HISTORY: '5', ML_LINKS: 'dsl cable lte' }, `
learn() { printf 'start dsl cable lte / 1:1 2:1 3:1\\nweight 1 %s cap 0\\nweight 2 %s cap 0\\nweight 3 %s cap 0\\n' "$1" "$2" "$3" > "$R/weights"; ml_weights_event "$R/weights"; }
learn 0.333333 0.333333 0.333334
learn 0.300000 0.350000 0.350000
learn 0.250000 0.350000 0.400000
learn 0.220000 0.340000 0.440000
learn 0.180000 0.330000 0.490000
`);
      const told = readFileSync(join(dir, 'syslog'), 'utf8').trim().split('\n');
      expect(told).toEqual(['-t multilink -p daemon.notice -- weights learnt: dsl 25%, cable 35%, lte 40%', '-t multilink -p daemon.notice -- weights learnt: dsl 18%, cable 33%, lte 49%']);
      expect(readFileSync(join(dir, 'log'), 'utf8')).toMatch(/Z weights learnt: dsl 25%, cable 35%, lte 40%\n.*Z weights learnt: dsl 18%, cable 33%, lte 49%\n$/);
    });

    it(`${name}: 300 flaps (about 7 rotations): the log never passes its bound, the ring keeps the last N, syslog gets every change`, () => {
      const max = 4096;
      // After every change the sizes of log and log.1 are measured; the largest is printed.
      const { dir, stdout } = runRecord(shell, 'flaps', { ML_LOG_MAX: String(max), ML_HISTORY: '5' }, `
big=0; big1=0
measure() {
  s=$(wc -c < "$R/log"); [ "$s" -gt "$big" ] && big=$s
  if [ -f "$R/log.1" ]; then s=$(wc -c < "$R/log.1"); [ "$s" -gt "$big1" ] && big1=$s; fi
}
i=0
while [ "$i" -lt 300 ]; do
  ml_event dsl up down "3 failed rounds"; measure
  ml_event dsl down up "3 good rounds"; measure
  i=$((i + 1))
done
ml_event cable up down "no default route on wan2"
ml_event gone up down "a link of an older play"
echo "max $big $big1"`);
      const [, big, big1] = stdout.trim().split(' ').map(Number);
      expect(big).toBeLessThanOrEqual(max);
      expect(big1).toBeLessThanOrEqual(max);
      // The log did rotate: its last lines are the latest changes.
      expect(big1).toBeGreaterThan(max - 200);
      const log = (readFileSync(join(dir, 'log.1'), 'utf8') + readFileSync(join(dir, 'log'), 'utf8')).trim().split('\n');
      expect(log.at(-1)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ link gone down \(a link of an older play\)$/);
      expect(log.at(-3)).toMatch(/Z link dsl up \(3 good rounds\)$/);
      expect(size(join(dir, 'log')) + size(join(dir, 'log.1'))).toBeLessThanOrEqual(2 * max);

      const history = readFileSync(join(dir, 'history'), 'utf8').trim().split('\n');
      expect(history.map((l) => l.split(' ').slice(1).join(' '))).toEqual([
        'dsl down up 3 good rounds',
        'dsl up down 3 failed rounds',
        'dsl down up 3 good rounds',
        'dsl up down 3 failed rounds',
        'dsl down up 3 good rounds',
        'cable up down no default route on wan2',
      ]);

      // Detached loggers: give the last ones a moment.
      const wantLines = 602;
      const deadline = Date.now() + 5000;
      let syslog: string[] = [];
      while (Date.now() < deadline) {
        syslog = readFileSync(join(dir, 'syslog'), 'utf8').trim().split('\n');
        if (syslog.length >= wantLines) break;
        spawnSync('sleep', ['0.1']);
      }
      expect(syslog.length).toBe(wantLines);
      expect(syslog.filter((l) => l === '-t multilink -p daemon.notice -- link dsl down (3 failed rounds)')).toHaveLength(300);
      expect(syslog.filter((l) => l === '-t multilink -p daemon.notice -- link dsl up (3 good rounds)')).toHaveLength(300);
    }, 120_000);

    it(`${name}: a restarted monitor counts the log it finds; tier changes go to the log and syslog`, () => {
      const { dir } = runRecord(shell, 'restart', { ML_LOG_MAX: '280', ML_HISTORY: '3' }, `
printf '%0250d\\n' 0 > "$R/log"
ml_tier_event 1 2`);
      // 251 bytes found + a line of 47 is past 280: the old log became log.1.
      expect(size(join(dir, 'log.1'))).toBe(251);
      expect(readFileSync(join(dir, 'log'), 'utf8')).toMatch(/^\S+Z tier 2 in use \(was tier 1\)\n$/);
      const deadline = Date.now() + 3000;
      while (size(join(dir, 'syslog')) === 0 && Date.now() < deadline) spawnSync('sleep', ['0.1']);
      expect(readFileSync(join(dir, 'syslog'), 'utf8')).toBe('-t multilink -p daemon.notice -- tier 2 in use (was tier 1)\n');
    });

    it(`${name}: changes noted during a round are recorded, in order, only when asked (after the chain is loaded)`, () => {
      const { dir, stdout } = runRecord(shell, 'notes', { ML_LOG_MAX: '4096', ML_HISTORY: '3' }, `
ml_note dsl up down "3 failed rounds"
ml_note cable up down "no default route on wan2"
[ -e "$R/history" ] && echo early
ml_record_notes
ml_record_notes
echo "notes $ml_notes"`);
      expect(stdout.trim()).toBe('notes 0');
      expect(readFileSync(join(dir, 'history'), 'utf8').trim().split('\n').map((l) => l.split(' ').slice(1).join(' '))).toEqual([
        'dsl up down 3 failed rounds',
        'cable up down no default route on wan2',
      ]);
      expect(readFileSync(join(dir, 'log'), 'utf8')).toMatch(/Z link dsl down \(3 failed rounds\)\n\S+Z link cable down \(no default route on wan2\)\n$/);
    });

    it(`${name}: probe statistics from iputils and BusyBox summaries, smoothed, as state file lines`, () => {
      const { stdout } = runRecord(shell, 'probes', { ML_LOG_MAX: '4096', ML_HISTORY: '3' }, `
cat > "$R/probe.1.1" <<'EOF'
PING 198.51.100.1 (198.51.100.1) from 100.64.1.2 wan1: 56(84) bytes of data.

--- 198.51.100.1 ping statistics ---
1 packets transmitted, 1 received, 0% packet loss, time 0ms
rtt min/avg/max/mdev = 10.000/10.000/10.000/0.000 ms
EOF
cat > "$R/probe.1.2" <<'EOF'
PING 198.51.100.2 (198.51.100.2): 56 data bytes

--- 198.51.100.2 ping statistics ---
1 packets transmitted, 1 packets received, 0% packet loss
round-trip min/avg/max = 20.000/20.000/20.000 ms
EOF
ml_probe_stats 1 2 2
ml_probe_lines
rm -f "$R"/probe.1.*
ml_probe_stats 1 2 0
ml_probe_lines
printf '%s\\n' 'round-trip min/avg/max = 40.000/40.000/40.000 ms' > "$R/probe.1.1"
# Left by a configuration with more targets (issue 23 §11): not one of this round's probes.
printf '%s\\n' 'round-trip min/avg/max = 900.000/900.000/900.000 ms' > "$R/probe.1.3"
ml_probe_stats 1 2 1
ml_probe_lines
n=0; while [ "$n" -lt 4 ]; do ml_stats_due && echo due; echo round; n=$((n + 1)); done
ml_stats_due && echo due`);
      expect(stdout.split('\n').filter((l) => l.startsWith('probe'))).toEqual([
        // Round 1: both answered, 10 and 20 ms: 15 ms, no loss.
        'probe dsl sent=2 lost=0 rtt_us=15000 loss_pm=0',
        // Round 2: none answered: the time stays, loss 1000 weighs 1/4.
        'probe dsl sent=4 lost=2 rtt_us=15000 loss_pm=250',
        // Round 3: one of two, 40 ms: (3 × 15000 + 40000) / 4, (3 × 250 + 500) / 4.
        'probe dsl sent=6 lost=3 rtt_us=21250 loss_pm=312',
      ]);
      // cable was never probed: no line. Every fifth round is due.
      expect(stdout.split('\n').filter((l) => l === 'due' || l === 'round').join(' ')).toBe('round round round round due');
    });

    it(`${name}: a change's time is the wall clock and the uptime, "-" for a clock not yet set; a restarted monitor keeps a link's since from the state file of this boot and the same health`, () => {
      const up = Math.floor(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]));
      const { stdout } = runRecord(shell, 'since', { ML_LOG_MAX: '4096', ML_HISTORY: '5' }, `
ml_stamp; echo "stamp $ml_sw $ml_su"
ml_now() { echo 2018-03-01T00:00:07Z; }
ml_stamp; echo "unset $ml_sw"
cat > "$R/state" <<END
mask 1
links dsl cable
link dsl up 2026-12-07T10:00:00Z 5
link cable down - 7
link6 dsl down 2026-12-07T10:01:00Z 6
link lte up 2026-12-07T10:00:00Z ${up + 100000}
END
if ml_kept_since link dsl 1; then echo "dsl kept $ml_ksw $ml_ksu"; fi
if ml_kept_since link dsl 0; then echo "dsl down kept"; else echo "dsl down not kept"; fi
if ml_kept_since link cable 0; then echo "cable kept $ml_ksw $ml_ksu"; fi
if ml_kept_since link6 dsl 0; then echo "dsl6 kept $ml_ksw $ml_ksu"; fi
if ml_kept_since link lte 1; then echo "lte kept"; else echo "lte of another boot not kept"; fi
`);
      const lines = stdout.trim().split('\n');
      const stamp = /^stamp (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (\d+)$/.exec(lines[0]);
      expect(stamp, lines[0]).not.toBeNull();
      expect(Math.abs(Number(stamp?.[2]) - up)).toBeLessThanOrEqual(5);
      expect(lines.slice(1)).toEqual(['unset -', 'dsl kept 2026-12-07T10:00:00Z 5', 'dsl down not kept', 'cable kept - 7', 'dsl6 kept 2026-12-07T10:01:00Z 6', 'lte of another boot not kept']);
    });
  }
});
