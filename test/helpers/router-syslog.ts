// A syslog for a lab router, never the host's: BusyBox syslogd writing to a file in a temp
// folder, listening on /dev/log inside the mount namespace of the router's sshd (which `ip
// netns exec` made its own, a slave of the host's), where /dev is an overlay whose upper
// layer is in that folder. Programs a deploy starts on the router (the link monitor) inherit
// that namespace, so their `logger` lines land in the file; the host's /dev is untouched.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LabInfo } from '../../src/lab/lab.js';

export interface RouterSyslog {
  /** What syslogd has written so far. */
  messages(): string;
  stop(): void;
}

function nsenter(pid: number, args: string[]): { code: number | null; stderr: string } {
  const r = spawnSync('nsenter', ['-t', String(pid), '-m', '--', ...args], { encoding: 'utf8', timeout: 10_000 });
  return { code: r.status, stderr: r.stderr ?? '' };
}

/** Starts it for `router`; call before the deploy that starts the programs to be heard. */
export async function startRouterSyslog(lab: LabInfo, router: string): Promise<RouterSyslog> {
  const sshd = lab.routers.find((r) => r.name === router)?.sshdPid;
  if (!sshd) throw new Error(`no sshd pid recorded for ${router}`);
  const dir = mkdtempSync(join(tmpdir(), 'ml-syslog-'));
  for (const d of ['up', 'work']) mkdirSync(join(dir, d));
  const file = join(dir, 'messages');
  let pid: number | undefined;
  let mounted = false;
  const stop = (): void => {
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
      pid = undefined;
    }
    if (mounted) nsenter(sshd, ['umount', '-l', '/dev']);
    mounted = false;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const m = nsenter(sshd, ['mount', '-t', 'overlay', 'ml-dev', '-o', `lowerdir=/dev,upperdir=${join(dir, 'up')},workdir=${join(dir, 'work')}`, '/dev']);
    if (m.code !== 0) throw new Error(`overlay on the router's /dev failed: ${m.stderr}`);
    mounted = true;
    const child = spawn('nsenter', ['-t', String(sshd), '-m', '-n', '--', 'busybox', 'syslogd', '-n', '-O', file], { stdio: 'ignore', detached: true });
    child.unref();
    pid = child.pid;
    const deadline = Date.now() + 5000;
    while (!existsSync(join(dir, 'up', 'log'))) {
      if (Date.now() > deadline) throw new Error('syslogd did not make /dev/log in the router namespace');
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (e) {
    stop();
    throw e;
  }
  return {
    messages: () => (existsSync(file) ? readFileSync(file, 'utf8') : ''),
    stop,
  };
}
