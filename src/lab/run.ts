// Local processes for the lab: one way to run a command (with stdin, a time limit and an
// error that says what failed), an `ip -batch` runner that tells which lines failed, and
// the sleeps the lab waits with (the job pool is src/util/pool.ts).
import { spawn, spawnSync } from 'node:child_process';
import { LabCommandError } from './errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  /** Resolve with the exit code instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
  env?: NodeJS.ProcessEnv;
}

export function commandLine(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

export function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 60_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new LabCommandError(commandLine(cmd, args), null, err.message));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) stderr += `\n(killed after ${options.timeoutMs ?? 60_000} ms)`;
      if (code === 0 || (options.allowFailure && !timedOut)) resolve({ stdout, stderr, code });
      else reject(new LabCommandError(commandLine(cmd, args), code, stderr));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** Synchronous twin of run(), for teardown from a process 'exit' handler. */
export function runSync(cmd: string, args: readonly string[], options: RunOptions = {}): RunResult {
  const r = spawnSync(cmd, args, { input: options.input ?? '', encoding: 'utf8', timeout: options.timeoutMs ?? 60_000 });
  const result = { stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error?.message ?? ''), code: r.status };
  if (r.error && !options.allowFailure) throw new LabCommandError(commandLine(cmd, args), null, r.error.message);
  if (result.code !== 0 && !options.allowFailure) throw new LabCommandError(commandLine(cmd, args), result.code, result.stderr);
  return result;
}

export interface BatchResult {
  /** 1-based numbers of the lines that failed. */
  failed: Set<number>;
  stderr: string;
}

/** `ip -force -batch -`: every line is tried; the ones that failed are reported, not guessed. */
export function parseBatchFailures(stderr: string): Set<number> {
  const failed = new Set<number>();
  for (const m of stderr.matchAll(/Command failed -:(\d+)/g)) failed.add(Number(m[1]));
  return failed;
}

/** family 6: every line is IPv6 (`ip -6 -batch`: a batch line cannot say `-6`, and `rule add` is IPv4 otherwise). */
export interface BatchOptions {
  family?: 4 | 6;
}

function batchArgs(netns: string | undefined, opts: BatchOptions): string[] {
  return [...(opts.family === 6 ? ['-6'] : []), ...(netns ? ['-n', netns] : []), '-force', '-batch', '-'];
}

export async function ipBatch(lines: readonly string[], netns?: string, opts: BatchOptions = {}): Promise<BatchResult> {
  if (lines.length === 0) return { failed: new Set(), stderr: '' };
  const args = batchArgs(netns, opts);
  const r = await run('ip', args, { input: lines.join('\n') + '\n', allowFailure: true, timeoutMs: 120_000 });
  const failed = parseBatchFailures(r.stderr);
  if (r.code !== 0 && failed.size === 0) failed.add(1);
  return { failed, stderr: r.stderr };
}

export function ipBatchSync(lines: readonly string[], netns?: string): BatchResult {
  if (lines.length === 0) return { failed: new Set(), stderr: '' };
  const args = [...(netns ? ['-n', netns] : []), '-force', '-batch', '-'];
  const r = runSync('ip', args, { input: lines.join('\n') + '\n', allowFailure: true, timeoutMs: 120_000 });
  return { failed: parseBatchFailures(r.stderr), stderr: r.stderr };
}

/** Throws with the failing lines when any line of a batch failed. */
export async function ipBatchOrThrow(lines: readonly string[], netns?: string, opts: BatchOptions = {}): Promise<void> {
  const r = await ipBatch(lines, netns, opts);
  if (r.failed.size === 0) return;
  const which = [...r.failed].map((n) => lines[n - 1] ?? `line ${n}`).join('; ');
  throw new LabCommandError(`ip ${opts.family === 6 ? '-6 ' : ''}${netns ? `-n ${netns} ` : ''}-batch (${which})`, 1, r.stderr);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Blocks the thread: only for the synchronous teardown path. */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
