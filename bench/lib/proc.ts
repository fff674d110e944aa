// Child processes of the benchmark: wall clock from spawn to exit, peak memory and CPU from
// GNU time, a hard time limit, and a registry so a signal or an error stops them by pid.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const GNU_TIME = '/usr/bin/time';

export interface Timed {
  code: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  /** Peak resident set of the process (and its reaped children), KiB; undefined without GNU time. */
  maxRssKb?: number;
  /** User + system CPU seconds of the process and its reaped children. */
  cpuS?: number;
  timedOut: boolean;
}

export interface TimedOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
  timeoutMs: number;
  /** Measure with GNU time (default: when it is installed). */
  gnuTime?: boolean;
}

/** Process groups this benchmark started and that have not exited yet. */
const running = new Set<number>();

/** Stops every child still running (its whole process group): for signal handlers. */
export function stopChildren(): void {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}

let scratch: string | undefined;
function scratchDir(): string {
  scratch ??= mkdtempSync(join(tmpdir(), 'multilink-bench-'));
  return scratch;
}
let seq = 0;

export function removeScratch(): void {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
}

function parseTimeFile(file: string): { maxRssKb?: number; cpuS?: number } {
  if (!existsSync(file)) return {};
  // GNU time writes "Command exited with non-zero status N" first when the command fails.
  const last = readFileSync(file, 'utf8').trim().split('\n').pop() ?? '';
  const m = /^(\d+) ([\d.]+) ([\d.]+)$/.exec(last);
  return m ? { maxRssKb: Number(m[1]), cpuS: Number(m[2]) + Number(m[3]) } : {};
}

export function timed(cmd: string, args: readonly string[], opts: TimedOptions): Promise<Timed> {
  const useTime = (opts.gnuTime ?? true) && existsSync(GNU_TIME);
  const timeFile = join(scratchDir(), `time-${process.pid}-${++seq}`);
  const [file, argv] = useTime ? [GNU_TIME, ['-f', '%M %U %S', '-o', timeFile, cmd, ...args]] : [cmd, [...args]];
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(file, argv, { env: opts.env ?? process.env, cwd: opts.cwd, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const pid = child.pid;
    if (pid === undefined) {
      reject(new Error(`could not start ${cmd}`));
      return;
    }
    running.add(pid);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }, opts.timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
    child.on('error', (err) => {
      clearTimeout(timer);
      running.delete(pid);
      reject(err);
    });
    child.on('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      clearTimeout(timer);
      running.delete(pid);
      const usage = useTime ? parseTimeFile(timeFile) : {};
      rmSync(timeFile, { force: true });
      resolve({ code, stdout, stderr, wallMs, timedOut, ...usage });
    });
  });
}

/** A command that must succeed (setup, not measured); its output. */
export async function must(cmd: string, args: readonly string[], opts: Partial<TimedOptions> = {}): Promise<string> {
  const r = await timed(cmd, args, { timeoutMs: 60_000, gnuTime: false, ...opts });
  if (r.code !== 0 || r.timedOut) {
    throw new Error(`${cmd} ${args.join(' ')} ${r.timedOut ? 'timed out' : `exited ${r.code}`}: ${r.stderr.trim().slice(0, 2000)}`);
  }
  return r.stdout;
}
