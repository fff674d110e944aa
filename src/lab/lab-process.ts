// Processes the lab runs inside its namespaces: long-lived servers started detached (their
// pid recorded in the manifest with a marker, so `down` stops exactly them), bounded client
// programs run in the background and stopped by their own pid, the Node programs shipped
// beside this file (programs/*.mjs), and waiting until a server listens.
import { spawn } from 'node:child_process';
import { closeSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LabError } from './errors.js';
import { isRunning } from './host-net.js';
import { openLog } from './lab-folder.js';
import { processRecord } from './sshd.js';
import { saveManifest, type LabInfo } from './manifest.js';
import { run, sleep, type RunOptions, type RunResult } from './run.js';

export type LabProgram = 'tcp-server' | 'connect-client' | 'stream-server' | 'failover-client' | 'download-server' | 'batch-client';

/** Path of a file shipped with the lab's programs (src/lab/programs, copied to dist by the build). */
export function programFile(file: string): string {
  return fileURLToPath(new URL(`./programs/${file}`, import.meta.url));
}

/** Path of one of the lab's Node programs. */
export function programPath(name: LabProgram): string {
  return programFile(`${name}.mjs`);
}

export function inNamespace(ns: string, cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], options);
}

/** Starts CMD detached in the namespace, output appended to logFile; its pid. */
export function spawnDetached(ns: string, cmd: string, args: readonly string[], logFile: string): number {
  const fd = openLog(logFile);
  try {
    // `ip netns exec` execs the command in place: the pid is the server's own.
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { detached: true, stdio: ['ignore', fd, fd] });
    child.on('error', () => undefined);
    child.unref();
    if (child.pid === undefined) throw new LabError(`could not start ${cmd} in ${ns}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** Records a process the lab started (marker: a path on its command line). */
export function recordProcess(lab: LabInfo, pid: number, owner: string, marker: string): void {
  lab.processes.push(processRecord(pid, owner, marker));
  saveManifest(lab);
}

/** Records a file before the lab writes it, so `down` removes it. */
export function recordFile(lab: LabInfo, file: string): void {
  if (lab.files.includes(file)) return;
  lab.files.push(file);
  saveManifest(lab);
}

export function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join('\n  ');
  } catch {
    return '(no log)';
  }
}

export interface ListeningSocket {
  /** As ss prints it, without brackets: 198.51.100.1, 2001:db8:ff::1, 0.0.0.0, ::, *. */
  address: string;
  port: number;
}

/** `ss -Hltn` → the local address and port of each listening TCP socket. */
export function listeningSocketsFromSs(text: string): ListeningSocket[] {
  const out: ListeningSocket[] = [];
  // State Recv-Q Send-Q Local:Port Peer:Port
  for (const line of text.split('\n')) {
    const m = /^\[?([^\]]*?)\]?(?:%\S+)?:(\d+)$/.exec(line.trim().split(/\s+/)[3] ?? '');
    if (m) out.push({ address: m[1], port: Number(m[2]) });
  }
  return out;
}

/** TCP sockets listening in the namespace. */
export async function listeningSockets(ns: string): Promise<ListeningSocket[]> {
  const r = await inNamespace(ns, 'ss', ['-Hltn'], { allowFailure: true, timeoutMs: 10_000 });
  return listeningSocketsFromSs(r.stdout);
}

/** TCP ports something listens on in the namespace. */
export async function listeningPorts(ns: string): Promise<Set<number>> {
  return new Set((await listeningSockets(ns)).map((s) => s.port));
}

export interface StartedServer {
  ns: string;
  pid: number;
  port: number;
  /** The address it binds, when another server may listen on the same port at another address. */
  address?: string;
  label: string;
  log: string;
}

/** Waits until every server listens; fails at once when one has exited, or after limitMs. */
export async function waitListening(servers: readonly StartedServer[], limitMs = 15_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const namespaces = [...new Set(servers.map((s) => s.ns))];
    const sockets = new Map(await Promise.all(namespaces.map(async (ns) => [ns, await listeningSockets(ns)] as const)));
    const listens = (s: StartedServer): boolean => (sockets.get(s.ns) ?? []).some((l) => l.port === s.port && (s.address === undefined || l.address === s.address));
    const waiting = servers.filter((s) => !listens(s));
    if (waiting.length === 0) return;
    const dead = waiting.find((s) => !isRunning(s.pid));
    if (dead) throw new LabError(`${dead.label} in ${dead.ns} exited before listening; ${dead.log}:\n  ${logTail(dead.log)}`);
    if (Date.now() > deadline) throw new LabError(`${waiting.map((s) => `${s.label} (${s.ns})`).join(', ')} not listening after ${limitMs / 1000} s`);
    await sleep(100);
  }
}

/** Polls `cond` every `everyMs` for at most `limitMs`; the epoch ms it first held, or undefined. */
export async function waitFor(cond: () => boolean | Promise<boolean>, limitMs: number, everyMs = 50): Promise<number | undefined> {
  const end = Date.now() + limitMs;
  for (;;) {
    if (await cond()) return Date.now();
    if (Date.now() > end) return undefined;
    await sleep(everyMs);
  }
}

/** Stops a process the lab started, by its recorded pid, and forgets it. */
export async function stopLabProcess(lab: LabInfo, pid: number): Promise<void> {
  const entry = lab.processes.find((p) => p.pid === pid);
  if (!entry) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
  await waitFor(() => !isRunning(pid), 3000, 50);
  if (isRunning(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  lab.processes = lab.processes.filter((p) => p !== entry);
  saveManifest(lab);
}

export interface Background<T> {
  pid: number;
  /** SIGTERM to this process (by its pid), then its result. */
  stop(): Promise<T>;
  done: Promise<T>;
}

/** A Node program in a namespace, in the background, its last stdout line parsed as JSON; SIGKILL after limitMs. */
export function backgroundProgram<T>(ns: string, program: LabProgram, args: readonly string[], limitMs: number): Background<T> {
  const script = programPath(program);
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new LabError(`could not start ${program} in ${ns}`);
  const pid = child.pid;
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const done = new Promise<T>((resolve, reject) => {
    child.on('error', (err) => reject(new LabError(`${program}: ${err.message}`)));
    child.on('close', (code) => {
      clearTimeout(killer);
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) reject(new LabError(`${program} ${args.join(' ')} in ${ns} exited ${code}: ${stderr.trim()}`));
      else resolve(JSON.parse(last) as T);
    });
  });
  // A caller that only stops it must not see an unhandled rejection.
  done.catch(() => undefined);
  return {
    pid,
    done,
    stop: () => {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already finished
      }
      return done;
    },
  };
}
