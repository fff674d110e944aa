// The routers' OpenSSH servers: started detached inside their namespace (so they outlive
// `lab up`), waited for until they greet on port 22, and stopped by recorded pid only.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { commandLineOf, isRunning, startTimeOf } from './host-net.js';
import { openLog } from './lab-folder.js';
import type { LabProcess } from './manifest.js';
import { sleep, sleepSync } from './run.js';

export const SSHD = '/usr/sbin/sshd';
/** Debian's sshd refuses to start without its privilege-separation folder. */
export const SSHD_PRIVSEP_DIR = '/run/sshd';

export function ensurePrivsepDir(): void {
  if (!existsSync(SSHD_PRIVSEP_DIR)) mkdirSync(SSHD_PRIVSEP_DIR, { recursive: true, mode: 0o755 });
}

/** Starts `sshd -D -e` in the namespace with stdout and stderr appended to the log; returns its pid. */
export function spawnSshd(namespace: string, config: string, logFile: string): number {
  const fd = openLog(logFile);
  try {
    // `ip netns exec` execs sshd in place: the pid we get is sshd's own.
    const child = spawn('ip', ['netns', 'exec', namespace, SSHD, '-D', '-e', '-f', config], {
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.on('error', () => undefined);
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start sshd in ${namespace}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** Resolves true when something on address:port sends an SSH banner within timeoutMs. */
export function sshBanner(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    let data = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      data += d;
      if (data.includes('\n')) done(data.startsWith('SSH-'));
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}

export interface SshdWait {
  address: string;
  pid: number;
  log: string;
  label: string;
}

function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join('\n  ');
  } catch {
    return '(no log)';
  }
}

/** Waits until each sshd greets, polling; fails at once when one has exited, or at the deadline. */
export async function waitForSshd(target: SshdWait, deadline: number): Promise<void> {
  for (;;) {
    if (await sshBanner(target.address, 22, 1000)) return;
    if (!isRunning(target.pid)) {
      throw new Error(`sshd of ${target.label} exited before accepting connections; ${target.log}:\n  ${logTail(target.log)}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`sshd of ${target.label} does not answer on ${target.address}:22; ${target.log}:\n  ${logTail(target.log)}`);
    }
    await sleep(100);
  }
}

/** What proves later that a pid is still the process the lab started: its start time and command line now. */
export function processRecord(pid: number, router: string, marker: string): LabProcess {
  return { pid, router, marker, startTime: startTimeOf(pid), cmdline: commandLineOf(pid) };
}

/**
 * True when the pid still runs the process the lab recorded: the same start time (a recycled
 * pid has another) and a command line naming its marker. A record without a start time or
 * marker proves nothing, and pid 1 or this process are never ours to stop.
 */
export function isOurProcess(p: Pick<LabProcess, 'pid' | 'marker' | 'startTime'>): boolean {
  if (!Number.isSafeInteger(p.pid) || p.pid <= 1 || p.pid === process.pid) return false;
  if (!p.marker || !p.startTime) return false;
  const cmdline = commandLineOf(p.pid);
  return cmdline !== undefined && cmdline.includes(p.marker) && startTimeOf(p.pid) === p.startTime && isRunning(p.pid);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** TERM, wait up to graceMs, then KILL whatever is left. Only the given pids are touched. */
export function stopPidsSync(pids: readonly number[], graceMs = 3000): void {
  const alive = pids.filter(isRunning);
  for (const pid of alive) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  let left = alive.filter(isRunning);
  while (left.length > 0 && Date.now() < deadline) {
    sleepSync(20);
    left = left.filter(isRunning);
  }
  for (const pid of left) signal(pid, 'SIGKILL');
  const hardDeadline = Date.now() + 2000;
  while (left.some(isRunning) && Date.now() < hardDeadline) sleepSync(20);
}
