// The link monitor's sub-second probes (src/remote/monitor-stream.sh, issue 20 §1), run as
// shipped under dash and BusyBox ash: how lost probes are counted from the last reply (a reply
// missing for an interval is a lost probe; the quorum-th best target decides), when the next
// round is due, ping's reply lines read as they come, a ping that ends started again (at most
// once a second), and nothing left running once the monitor stops its probes.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lines, shellLib } from '../src/shell/lib.js';
import { monitorStreamLib } from '../src/remote/programs.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const SHELLS = [['dash'], ['busybox', 'ash']].filter((s) => has(s[0]));
if (SHELLS.length < 2) console.log('monitor-stream tests: dash or busybox missing, run with what there is (apt-get install dash busybox)');

const root = mkdtempSync(join(tmpdir(), 'ml-stream-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Runs monitor-stream.sh with a 250 ms interval (25 cs, 10 cs lateness) in a fresh run folder R, then `body`. */
function run(shell: string[], name: string, body: string): { dir: string; stdout: string } {
  const dir = mkdtempSync(join(root, `${name}-`));
  const script = [lines(shellLib('none'), monitorStreamLib()).text, `R='${dir}'`, 'ML_IVL_CS=25', 'ML_TOL_CS=10', body].join('\n');
  const r = spawnSync(shell[0], [...shell.slice(1), '-c', script], { encoding: 'utf8', timeout: 30_000 });
  expect(r.status, `${shell.join(' ')}: ${r.stderr}`).toBe(0);
  expect(r.stderr).toBe('');
  return { dir, stdout: r.stdout };
}

const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));

describe.skipIf(SHELLS.length === 0)('monitor-stream.sh', () => {
  for (const shell of SHELLS) {
    const name = shell.join(' ');

    it(`${name}: lost probes are counted from the last reply, the quorum-th best target decides, and the next round is due when a count grows`, () => {
      const { stdout } = run(shell, 'count', `
show() { echo "lost=$ml_lost ans=$ml_ans new=$ml_new rtt=$ml_rtt_us next=$ml_next"; }
s0_4_1_1=900; s0_4_1_2=900; s0_4_1_3=900
echo '1000 0.186 4' > "$R/reply.4_1_1"
echo '950 1.2 7' > "$R/reply.4_1_2"
# Target 3 never answered: it counts from its ping's start (900).
ml_up=1030; ml_next=1055
ml_stream_link 4 1 '192.0.2.1 192.0.2.2 192.0.2.3' 1; show
ml_next=1055
ml_stream_link 4 1 '192.0.2.1 192.0.2.2 192.0.2.3' 2; show
ml_next=1055
ml_stream_link 4 1 '192.0.2.1 192.0.2.2 192.0.2.3' 3; show
# A reply up to ML_TOL_CS late is no loss; one interval more is.
ml_up=1034; ml_next=9999; ml_stream_link 4 1 '192.0.2.1' 1; show
ml_up=1035; ml_next=9999; ml_stream_link 4 1 '192.0.2.1' 1; show
ml_up=1084; ml_next=9999; ml_stream_link 4 1 '192.0.2.1' 1; show
ml_up=1085; ml_next=9999; ml_stream_link 4 1 '192.0.2.1' 1; show
echo '1080 12.5 5' > "$R/reply.4_1_1"
ml_up=1085; ml_next=9999; ml_stream_link 4 1 '192.0.2.1' 1; show
# Three replies since the last round (the monitor woke late): all three count.
echo '1088 0.5 8' > "$R/reply.4_1_1"
ml_up=1090; ml_next=9999; ml_stream_link 4 1 '192.0.2.1' 1; show
# Its ping started again: the count starts from 1.
echo '1095 0.5 1' > "$R/reply.4_1_1"
ml_up=1096; ml_next=9999; ml_stream_link 4 1 '192.0.2.1' 1; show
# Quorum 2 of 3: the second best target decides both counts.
for q in 1 2 3; do ml_pick 1 ' 4 0 2' $q; printf 'lost%s=%s ' $q $ml_pk; ml_pick -1 ' 1 5 3' $q; printf 'new%s=%s ' $q $ml_pk; done; echo
# An unreadable reply (a write under way) counts as none.
: > "$R/reply.6_2_1"; s0_6_2_1=1000
ml_up=1110; ml_next=9999; ml_stream_link 6 2 '2001:db8::1' 1; show
`);
      expect(stdout.split('\n')).toEqual([
        // 1: 0 lost (its next due at 1035), 2: (1030-950-10)/25 = 2, 3: (1030-900-10)/25 = 4.
        // new: the replies the best target had since its ping started (7, target 2).
        'lost=0 ans=1 new=7 rtt=693 next=1035',
        'lost=2 ans=1 new=0 rtt= next=1035',
        'lost=4 ans=1 new=0 rtt= next=1035',
        'lost=0 ans=1 new=0 rtt= next=1035',
        'lost=1 ans=0 new=0 rtt= next=1060',
        'lost=2 ans=0 new=0 rtt= next=1085',
        'lost=3 ans=0 new=0 rtt= next=1110',
        'lost=0 ans=1 new=1 rtt=12500 next=1115',
        'lost=0 ans=1 new=3 rtt=500 next=1123',
        'lost=0 ans=1 new=1 rtt=500 next=1130',
        'lost1=0 new1=5 lost2=2 new2=3 lost3=4 new3=1 ',
        'lost=4 ans=0 new=0 rtt= next=1135',
        '',
      ]);
    });

    it(`${name}: round-trip times as ping prints them, the uptime, and the sleep to 30 ms past the next due count (at most an interval; whole seconds where sleep takes no fraction)`, () => {
      const { stdout } = run(shell, 'units', `
for t in 0.186 12.3 103 0.05 1.2345 007.5 x 1e3; do ml_ms_us "$t"; printf '%s ' "$t=$ml_us"; done; echo
ml_uptime; case $ml_up in ''|0*|*[!0-9]*) echo "bad uptime $ml_up" ;; *) echo uptime ok ;; esac
sleep() { echo "$1" > "$R/slept"; }
for n in 1000 1001 1012 1020 1100; do ml_up=1000; ml_next=$n; ml_stream_sleep; wait "$ml_sleep"; printf '%s ' "$(cat "$R/slept")"; done; echo
ml_bound_s=1; ml_up=1000; ml_next=1012; ml_stream_sleep; wait "$ml_sleep"; cat "$R/slept"
`);
      expect(stdout).toBe('0.186=186 12.3=12300 103=103000 0.05=50 1.2345=1234 007.5=7500 x= 1e3= \nuptime ok\n0.03 0.04 0.15 0.23 0.25 \n1\n');
    });

    it(`${name}: a ping's reply lines are read as they come; one that ends is started again, at most once a second; stopping leaves nothing running`, () => {
      const { dir, stdout } = run(shell, 'life', `
ml_k=1; ml_if=wan1; ml_mark=256; ml_iputils=
# A ping of BusyBox's kind: a header, three replies 0.1 s apart, then (target .1) it ends; target .2 then hangs.
ml_stream_ping() {
  exec sh -c 'echo "PING $1 ($1): 56 data bytes"; for s in 0 1 2; do echo "64 bytes from $1: seq=$s ttl=64 time=0.$s$s ms"; sleep 0.1; done; [ "$1" = 192.0.2.1 ] || exec sleep 600' sh "$2"
}
ml_uptime; ml_stream_keep 4_1_1 4 192.0.2.1; first=$sp_4_1_1
ml_stream_keep 4_1_2 4 192.0.2.2
sleep 0.6
ml_uptime; ml_stream_keep 4_1_1 4 192.0.2.1; [ "$sp_4_1_1" = "$first" ] && echo "not again within a second"
read -r at rtt n < "$R/reply.4_1_1"; echo "reply rtt $rtt n $n"
sleep 0.6
ml_uptime; ml_stream_keep 4_1_1 4 192.0.2.1; [ "$sp_4_1_1" != "$first" ] && echo "started again"
read -r hung < "$R/ping.4_1_2"; echo "$hung" > "$R/hung"; echo "$sp_4_1_2" > "$R/reader"
ml_stream_stop
echo "keys$ml_skeys"
`);
      expect(stdout).toBe('not again within a second\nreply rtt 0.22 n 3\nstarted again\nkeys 4_1_1 4_1_2\n');
      const hung = Number(readFileSync(join(dir, 'hung'), 'utf8'));
      const reader = Number(readFileSync(join(dir, 'reader'), 'utf8'));
      expect(hung).toBeGreaterThan(1);
      // The shell has exited: the stopped ping and reader are gone (not left to init).
      for (let i = 0; i < 20 && (alive(hung) || alive(reader)); i++) spawnSync('sleep', ['0.1']);
      expect([alive(hung), alive(reader)]).toEqual([false, false]);
    });
  }
});
