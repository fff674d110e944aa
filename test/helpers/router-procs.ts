// Processes of a lab router, found through /proc (they all live in the router's network
// namespace), for fault injection: kill the router's SSH sessions, or every process a
// transaction runs there. Only processes of that namespace are ever signalled, by pid.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { LabRouter } from '../../src/lab/lab.js';

interface Proc {
  pid: number;
  ppid: number;
  exe: string;
  cmdline: string;
}

function netnsOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

function procsIn(ns: string): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid || netnsOf(pid) !== ns) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (rest[0] === 'Z') continue;
      let exe = '';
      let cmdline = '';
      try {
        exe = readlinkSync(`/proc/${pid}/exe`);
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      } catch {
        // a kernel thread or gone
      }
      out.push({ pid, ppid: Number(rest[1]), exe, cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * The router's link monitor, the one its pid file names, and what runs under it (its sleep,
 * its nft or iptables-save): a play without health has one too (the guard-only monitor, issue
 * 19 §3). Not the transaction's, not a stray; a second monitor would be.
 */
function monitorTree(r: LabRouter, all: Proc[]): Set<number> {
  let pid: number;
  try {
    pid = Number(readFileSync(`${r.stateDir}/monitor/pid`, 'utf8').trim());
  } catch {
    return new Set();
  }
  const tree = new Set(all.some((p) => p.pid === pid && p.cmdline.includes(`${r.stateDir}/monitor/monitor.sh`)) ? [pid] : []);
  for (let grew = tree.size > 0; grew; ) {
    grew = false;
    for (const p of all) {
      if (tree.has(p.pid) || !tree.has(p.ppid)) continue;
      tree.add(p.pid);
      grew = true;
    }
  }
  return tree;
}

function kill(pids: number[]): number {
  let n = 0;
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
      n++;
    } catch {
      // gone already
    }
  }
  return n;
}

/** SIGKILL to the router's SSH session processes (the sshd children of its listening sshd): the connections drop, what they ran goes on. */
export function killSshSessions(r: LabRouter): number {
  const ns = netnsOf(r.sshdPid!);
  if (!ns) return 0;
  return kill(procsIn(ns).filter((p) => p.ppid === r.sshdPid && p.pid !== r.sshdPid).map((p) => p.pid));
}

/**
 * SIGKILL to every process of the transaction on the router, as the OOM killer or a crash
 * would: the executions' shells (`sh -s`, once the login shell has started them), whatever
 * runs under them, and the detached processes running from the state folder (the dead-man
 * timer) with theirs. Not sshd, and not a login shell still reading its rc files (this
 * machine's ~/.bashrc runs pyenv, whose rehash lock is shared by every login here). A few
 * passes, so children forked meanwhile go too.
 */
export function killTransactionProcesses(r: LabRouter): number {
  const ns = netnsOf(r.sshdPid!);
  if (!ns) return 0;
  let total = 0;
  for (let pass = 0; pass < 5; pass++) {
    const found = procsIn(ns);
    const monitor = monitorTree(r, found);
    const all = found.filter((p) => p.pid !== r.sshdPid && !p.exe.endsWith('/sshd') && !monitor.has(p.pid));
    const victims = new Set(all.filter((p) => p.cmdline === 'sh -s' || p.cmdline.includes(r.stateDir)).map((p) => p.pid));
    for (let grew = true; grew; ) {
      grew = false;
      for (const p of all) {
        if (victims.has(p.pid) || !victims.has(p.ppid)) continue;
        victims.add(p.pid);
        grew = true;
      }
    }
    if (victims.size === 0) break;
    total += kill([...victims]);
  }
  return total;
}

/** Processes left in the router besides its sshd and its link monitor (a lingering timer, a stuck shell). */
export function strayProcesses(r: LabRouter): string[] {
  const ns = netnsOf(r.sshdPid!);
  if (!ns) return [];
  const all = procsIn(ns);
  const monitor = monitorTree(r, all);
  return all.filter((p) => p.pid !== r.sshdPid && !p.exe.endsWith('/sshd') && !monitor.has(p.pid)).map((p) => `${p.pid} ${p.cmdline}`);
}
