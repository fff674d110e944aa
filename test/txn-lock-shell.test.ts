// The deploy lock (lib.sh, txn-lock.sh) run by dash and by BusyBox ash in a temp state folder:
// a lock is freed as soon as its holder is dead (pid gone, pid reused by another process, other
// boot), held while it lives, taken by exactly one of many at once; a recorded pid (the
// dead-man timer's, the link monitor's) is signalled only while it is still that process.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shellLib } from '../src/shell/lib.js';
import { monitorControlLib, txnLockLib } from '../src/remote/programs.js';

const shells = [['dash'], ['busybox', 'ash']].filter((s) => spawnSync('sh', ['-c', `command -v ${s[0]}`]).status === 0);
if (shells.length < 2) console.log('txn lock shell tests: dash or busybox missing, running under what there is');

const root = mkdtempSync(join(tmpdir(), 'ml-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

function stateDir(): string {
  const d = join(root, `s${++n}`);
  mkdirSync(d);
  return d;
}

/** lib.sh and txn-lock.sh for state folder `state` and transaction `id`, then `body`. */
function script(state: string, id: string, body: string, waitS = 30): string {
  return [shellLib('none').text, txnLockLib({ stateDir: state, id, holder: `holder of ${id}`, leaseS: 300, waitS }).text, body].join('\n');
}

function run(shell: string[], text: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(shell[0], [...shell.slice(1), '-c', text], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const bootId = (): string => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
const startOf = (pid: number): string => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
};

/** An epoch as another deploy would have left it. */
function epoch(state: string, k: number, o: { id: string; pid: number; start: string; boot?: string; planby?: number; released?: boolean }): void {
  const dir = join(state, 'locks', String(k));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'owner'), `id ${o.id}\nboot ${o.boot ?? bootId()}\nlease 999999999\nplanby ${o.planby ?? 999999999}\nholder holder of ${o.id}\n`);
  writeFileSync(join(dir, 'pid.main'), `${o.pid} ${o.start}\n`);
  if (o.released) writeFileSync(join(dir, 'released'), '');
}

const TAKE = 'if ml_lock; then echo "took ${ml_epoch##*/}"; else echo refused; fi';

describe.each(shells)('the deploy lock under %s', (...shell) => {
  it('no lock yet, or the last one released: taken, as epoch N+1', () => {
    const s = stateDir();
    expect(run(shell, script(s, 'aaaaaaaaaaaaaaaa', TAKE)).stdout).toBe('took 1\n');
    writeFileSync(join(s, 'locks', '1', 'released'), '');
    expect(run(shell, script(s, 'bbbbbbbbbbbbbbbb', TAKE)).stdout).toBe('took 2\n');
  });

  it('held while its holder lives: refused, naming the holder', () => {
    const s = stateDir();
    const holder = spawn('sleep', ['30']);
    try {
      epoch(s, 1, { id: 'cccccccccccccccc', pid: holder.pid!, start: startOf(holder.pid!) });
      const r = run(shell, script(s, 'dddddddddddddddd', TAKE));
      expect(r.stdout).toBe('@@ML-R locked holder of cccccccccccccccc\nrefused\n');
    } finally {
      holder.kill();
    }
  });

  it('freed at once when its holder is dead: gone, its pid now another process (other start time), or another boot', () => {
    const s = stateDir();
    const other = spawn('sleep', ['30']);
    try {
      epoch(s, 1, { id: 'eeeeeeeeeeeeeeee', pid: 2 ** 22 - 3, start: '1' });
      expect(run(shell, script(s, 'ffffffffffffffff', TAKE)).stdout).toBe('took 2\n');
      rmSync(join(s, 'locks', '2'), { recursive: true });
      epoch(s, 2, { id: 'eeeeeeeeeeeeeee1', pid: other.pid!, start: String(Number(startOf(other.pid!)) - 5) });
      expect(run(shell, script(s, 'ffffffffffffffff', TAKE)).stdout).toBe('took 3\n');
      rmSync(join(s, 'locks', '3'), { recursive: true });
      epoch(s, 3, { id: 'eeeeeeeeeeeeeee2', pid: other.pid!, start: startOf(other.pid!), boot: '00000000-0000-0000-0000-000000000000' });
      expect(run(shell, script(s, 'ffffffffffffffff', TAKE)).stdout).toBe('took 4\n');
    } finally {
      other.kill();
    }
  });

  it('a live holder that waited for its plan past its planby time (a silent controller) is taken over', () => {
    const s = stateDir();
    const holder = spawn('sleep', ['30']);
    try {
      epoch(s, 1, { id: '1111111111111111', pid: holder.pid!, start: startOf(holder.pid!), planby: 1 });
      expect(run(shell, script(s, '2222222222222222', TAKE)).stdout).toBe('took 2\n');
      // With its plan received it is working, not waiting: held.
      epoch(s, 3, { id: '3333333333333333', pid: holder.pid!, start: startOf(holder.pid!), planby: 1 });
      mkdirSync(join(s, 'txn', '3333333333333333'), { recursive: true });
      writeFileSync(join(s, 'txn', '3333333333333333', 'received'), '');
      expect(run(shell, script(s, '4444444444444444', TAKE)).stdout).toMatch(/refused/);
    } finally {
      holder.kill();
    }
  });

  it('twenty deploys at once: exactly one takes the lock, the others are refused, nothing is left half made', async () => {
    const s = stateDir();
    // Each holds the lock (sleeps) a moment, so the others find it held.
    const runs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        new Promise<string>((resolve) => {
          const id = `${i}`.padStart(16, 'a');
          const p = spawn(shell[0], [...shell.slice(1), '-c', script(s, id, `${TAKE}; sleep 1`)]);
          let out = '';
          p.stdout.on('data', (d: Buffer) => (out += d.toString()));
          p.on('close', () => resolve(out));
        }),
      ),
    );
    expect(runs.filter((o) => o.includes('took ')).length).toBe(1);
    expect(runs.filter((o) => o.includes('refused')).length).toBe(19);
    expect(readdirSync(join(s, 'locks')).sort()).toEqual(['1']);
  });

  it('signals a recorded pid only while it is still that process running that command', async () => {
    const s = stateDir();
    const sleeper = spawn('sleep', ['30']);
    const other = spawn('sleep', ['31']);
    try {
      const file = join(s, 'pid');
      // Another start time: the pid is someone else's now.
      writeFileSync(file, `${sleeper.pid} ${Number(startOf(sleeper.pid!)) + 1}\n`);
      run(shell, script(s, '5555555555555555', `ml_kill_recorded ${file} sleep`));
      // Another command line.
      writeFileSync(file, `${other.pid} ${startOf(other.pid!)}\n`);
      run(shell, script(s, '5555555555555555', `ml_kill_recorded ${file} monitor.sh`));
      expect([sleeper.exitCode, sleeper.signalCode, other.exitCode, other.signalCode]).toEqual([null, null, null, null]);
      // Itself: signalled.
      writeFileSync(file, `${sleeper.pid} ${startOf(sleeper.pid!)}\n`);
      const gone = new Promise((ok) => sleeper.once('exit', ok));
      run(shell, script(s, '5555555555555555', `ml_kill_recorded ${file} sleep`));
      await gone;
      expect(sleeper.signalCode).toBe('SIGTERM');
    } finally {
      sleeper.kill();
      other.kill();
    }
  });

  it('stops the link monitor only when the pid in its file is still that monitor (command line and start time)', async () => {
    const s = stateDir();
    const dir = join(s, 'monitor');
    mkdirSync(dir);
    writeFileSync(join(dir, 'monitor.sh'), 'sleep 30\n');
    const stop = (): void => void run(shell, [shellLib('none').text, monitorControlLib(s).text, 'ml_monitor_stop'].join('\n'));
    // Another process now has the pid the file names: left alone.
    const stranger = spawn('sleep', ['30']);
    const monitor = spawn('sh', [join(dir, 'monitor.sh')]);
    try {
      writeFileSync(join(dir, 'pid'), `${stranger.pid}\n`);
      stop();
      // The monitor's pid, but the recorded start time is another process's: left alone.
      writeFileSync(join(dir, 'pid'), `${monitor.pid}\n`);
      writeFileSync(join(dir, 'pid.start'), `${monitor.pid} ${Number(startOf(monitor.pid!)) + 7}\n`);
      stop();
      expect([stranger.signalCode, monitor.signalCode]).toEqual([null, null]);
      // The monitor itself: stopped.
      writeFileSync(join(dir, 'pid'), `${monitor.pid}\n`);
      writeFileSync(join(dir, 'pid.start'), `${monitor.pid} ${startOf(monitor.pid!)}\n`);
      const gone = new Promise((ok) => monitor.once('exit', ok));
      stop();
      await gone;
      expect(monitor.signalCode).toBe('SIGTERM');
      expect(stranger.signalCode).toBeNull();
    } finally {
      stranger.kill();
      monitor.kill();
    }
  });
});
