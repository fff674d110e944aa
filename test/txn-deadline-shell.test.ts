// The plan deadline on the router (issue 23, High 2), run by dash and by BusyBox ash:
// - ml_receive's bound is real whatever timeout(1) the router has: BusyBox's (exits 143),
//   coreutils' (124), or none at all (stock OpenWrt); a cut answer is never taken as whole,
//   and nothing of the bound outlives it;
// - a deploy whose holder is overdue for its plan (not received, past planby) does not hold
//   back the link monitor (ml_deploying), one that received it does;
// - a plan that arrived but would run after the deadline is refused, and the lock released.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shellLib } from '../src/shell/lib.js';
import { txnBeginProgram, txnLockLib, txnRunProgram, type TxnParams } from '../src/remote/programs.js';

const which = (cmd: string): string => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
const shells = [['dash'], ['busybox', 'ash']].filter((s) => which(s[0]) !== '');
if (shells.length < 2) console.log('plan deadline shell tests: dash or busybox missing, running under what there is');

const root = mkdtempSync(join(tmpdir(), 'ml-deadline-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => {
  const d = join(root, `s${++n}`);
  mkdirSync(d);
  return d;
};

/**
 * A folder to be the whole PATH: the commands these scripts run, from BusyBox (as on OpenWrt)
 * or from the host (coreutils), and `timeout` as BusyBox's, coreutils' or none at all.
 */
type Timeout = 'busybox' | 'coreutils' | 'none';
function pathDir(userland: 'busybox' | 'host', timeout: Timeout): string {
  const dir = join(root, `path-${userland}-${timeout}`);
  if (existsSync(dir)) return dir;
  mkdirSync(dir);
  const bb = which('busybox');
  for (const c of ['cat', 'sleep', 'tail', 'mkdir', 'rm', 'sed', 'tr', 'grep', 'awk', 'mv', 'date']) {
    symlinkSync(userland === 'busybox' && bb ? bb : which(c), join(dir, c));
  }
  if (timeout === 'busybox') symlinkSync(bb, join(dir, 'timeout'));
  if (timeout === 'coreutils') symlinkSync(which('timeout'), join(dir, 'timeout'));
  return dir;
}

const ID = 'abcdef0123456789';
const txn = (state: string, waitS: number): TxnParams => ({ stateDir: state, id: ID, holder: `holder of ${ID}`, leaseS: 300, waitS });

/** What sh -s runs, as the controller sends it (converseScript): functions, then one call. */
function program(body: string): string {
  return `ml_main() {\n${body}\n}\nml_main; exit $?\n`;
}

interface Conversation {
  code: number | null;
  stdout: string;
  /** ms from the prompt to the end of the process. */
  afterPrompt: number;
  /** Processes of its group still there (not zombies) a moment after it ended. */
  left: string[];
}

/** Processes in process group `pgid`, as "PID CMDLINE" (zombies left out). */
function group(pgid: number): string[] {
  const out: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[2]) !== pgid || rest[0] === 'Z') continue;
      out.push(`${name} ${readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()}`);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Runs `text` with `sh -s` (in a process group of its own); once it prints `prompt`, writes
 * `answer` to its stdin, and ends stdin if `end` (else holds it open: a silent controller).
 */
function converse(shell: string[], text: string, prompt: string, answer: string, end: boolean): Promise<Conversation> {
  return new Promise((resolve, reject) => {
    const p = spawn(shell[0], [...shell.slice(1), '-s'], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let at = 0;
    const killer = setTimeout(() => {
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, 15_000);
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (at === 0 && stdout.includes(`${prompt}\n`)) {
        at = Date.now();
        if (answer) p.stdin.write(answer);
        if (end) p.stdin.end();
      }
    });
    p.stdin.on('error', () => undefined);
    p.on('error', reject);
    p.on('exit', (code) => {
      const afterPrompt = at ? Date.now() - at : -1;
      clearTimeout(killer);
      p.stdin.end();
      setTimeout(() => {
        const left = group(p.pid!);
        for (const l of left) {
          try {
            process.kill(Number(l.split(' ')[0]), 'SIGKILL');
          } catch {
            // gone
          }
        }
        resolve({ code, stdout, afterPrompt, left });
      }, 300);
    });
    p.stdin.write(text);
  });
}

const timeouts: Timeout[] = ['busybox', 'coreutils', 'none'];

describe.each(shells)('the plan deadline under %s', (...shell) => {
  const userland = shell[0] === 'busybox' ? 'busybox' : 'host';

  describe.each(timeouts)('ml_receive with timeout(1): %s', (timeout) => {
    const receive = (state: string): string =>
      program(
        [
          shellLib('none').text,
          txnLockLib(txn(state, 30)).text,
          `PATH=${pathDir(userland, timeout)}`,
          `echo ready`,
          `if ml_receive 1 "${state}/answer"; then echo "in time"; else echo cut; fi`,
          `if ml_whole "${state}/answer"; then echo whole; else echo "not whole"; fi`,
        ].join('\n'),
      );

    it('a silent controller (nothing comes, the connection stays): a 1 s bound returns within 1.5 s, nothing taken, nothing left running', async () => {
      const s = fresh();
      const r = await converse(shell, receive(s), 'ready', '', false);
      expect(r.stdout).toBe('ready\ncut\nnot whole\n');
      expect(r.afterPrompt).toBeGreaterThanOrEqual(900);
      expect(r.afterPrompt).toBeLessThan(1500);
      expect(r.left).toEqual([]);
    });

    it('an answer cut off midway: returns within 1.5 s, and the part is not taken as whole', async () => {
      const s = fresh();
      const r = await converse(shell, receive(s), 'ready', 'ml_decision=disarm\n# ml-end ', false);
      expect(r.stdout).toBe('ready\ncut\nnot whole\n');
      expect(r.afterPrompt).toBeLessThan(1500);
      expect(readFileSync(join(s, 'answer'), 'utf8')).toBe('ml_decision=disarm\n# ml-end ');
      expect(r.left).toEqual([]);
    });

    it('a whole answer: taken at once, and its watchdog ends with it', async () => {
      const s = fresh();
      const r = await converse(shell, receive(s), 'ready', `ml_decision=disarm\n# ml-end ${ID}\n`, true);
      expect(r.stdout).toBe('ready\nin time\nwhole\n');
      expect(r.afterPrompt).toBeLessThan(700);
      expect(r.left).toEqual([]);
    });
  });

  it('answers that end at once (stdin already at its end), thirty in a row: no watchdog or sleep of it outlives its receive', async () => {
    const s = fresh();
    const text = program(
      [
        shellLib('none').text,
        txnLockLib(txn(s, 30)).text,
        'echo ready',
        `i=0; while [ "$i" -lt 30 ]; do ml_receive 5 "${s}/answer.$i" || echo cut; i=$((i + 1)); done`,
        'echo done',
      ].join('\n'),
    );
    const r = await converse(shell, text, 'ready', '', true);
    expect(r.stdout).toBe('ready\ndone\n');
    expect(r.left).toEqual([]);
  });

  it('a sleep that takes no fraction (a BusyBox built without it): the bound still holds, to the second', async () => {
    const s = fresh();
    const dir = join(s, 'bin');
    mkdirSync(dir);
    for (const c of ['cat', 'tail']) symlinkSync(which(c), join(dir, c));
    writeFileSync(join(dir, 'sleep'), `#!/bin/sh\ncase $1 in *.*) echo "sleep: invalid number '$1'" >&2; exit 1 ;; esac\nexec ${which('sleep')} "$1"\n`, { mode: 0o755 });
    const text = program(
      [shellLib('none').text, txnLockLib(txn(s, 30)).text, `PATH=${dir}`, 'echo ready', `if ml_receive 1 "${s}/answer"; then echo "in time"; else echo cut; fi`].join('\n'),
    );
    const r = await converse(shell, text, 'ready', '', false);
    expect(r.stdout).toBe('ready\ncut\n');
    expect(r.afterPrompt).toBeGreaterThanOrEqual(900);
    expect(r.afterPrompt).toBeLessThan(2200);
    expect(r.left).toEqual([]);
  });

  describe('ml_deploying (what the link monitor asks before it changes the chain)', () => {
    const holder = (): { pid: number; start: string; stop: () => void } => {
      const p = spawn('sleep', ['30']);
      const stat = readFileSync(`/proc/${p.pid!}/stat`, 'utf8');
      return { pid: p.pid!, start: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19], stop: () => p.kill() };
    };
    const epoch = (state: string, planby: number, pid: number, start: string): void => {
      const dir = join(state, 'locks', '1');
      mkdirSync(dir, { recursive: true });
      mkdirSync(join(state, 'txn'), { recursive: true });
      const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      writeFileSync(join(dir, 'owner'), `id ${ID}\nboot ${boot}\nlease 999999999\nplanby ${planby}\nholder holder of ${ID}\n`);
      writeFileSync(join(dir, 'pid.main'), `${pid} ${start}\n`);
    };
    const deploying = (state: string): string => {
      const text = [shellLib('none').text, `ML_STATE=${state}`, 'if ml_deploying; then echo held; else echo free; fi'].join('\n');
      return spawnSync(shell[0], [...shell.slice(1), '-c', text], { encoding: 'utf8', timeout: 10_000 }).stdout;
    };

    it('a live holder still waiting for its plan past planby (a silent controller) holds nothing back', () => {
      const h = holder();
      try {
        const s = fresh();
        epoch(s, 1, h.pid, h.start);
        expect(deploying(s)).toBe('free\n');
      } finally {
        h.stop();
      }
    });

    it('before planby, or once its plan was received (the dead-man timer bounds it then), it holds the monitor back', () => {
      const h = holder();
      try {
        const s = fresh();
        epoch(s, 999999999, h.pid, h.start);
        expect(deploying(s)).toBe('held\n');
        const late = fresh();
        epoch(late, 1, h.pid, h.start);
        mkdirSync(join(late, 'txn', ID));
        writeFileSync(join(late, 'txn', ID, 'received'), '');
        expect(deploying(late)).toBe('held\n');
      } finally {
        h.stop();
      }
    });
  });

  it('a plan that arrived whole but would run after the deadline is refused: nothing armed, the lock released', async () => {
    const s = fresh();
    // The router is slow between the plan's arrival and its run: 2.2 s, past a 1 s deadline
    // (the deadline's clock counts whole seconds).
    const plan = [
      'sleep 2.2',
      'ml_write_txn_files() { :; }',
      'ml_write_generation() { :; }',
      'ml_apply_steps() { :; }',
      'ml_monitor_start() { :; }',
      txnRunProgram(30).text,
      `# ml-end ${ID}`,
      '',
    ].join('\n');
    const text = program([shellLib('none').text, txnLockLib(txn(s, 1)).text, 'ml_gather() { :; }', txnBeginProgram(txn(s, 1)).text].join('\n'));
    const r = await converse(shell, text, `@@ML-ready ${ID}`, plan, true);
    expect(r.stdout).toMatch(/@@ML-R ended late: /);
    expect(existsSync(join(s, 'txn', ID, 'armed'))).toBe(false);
    expect(readFileSync(join(s, 'txn', ID, 'ended'), 'utf8')).toMatch(/^late: /);
    expect(existsSync(join(s, 'locks', '1', 'released'))).toBe(true);
    expect(r.left).toEqual([]);
  });
});
