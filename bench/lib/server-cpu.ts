// CPU spent on the routers' side: each lab sshd reaps its per-connection children, so its
// cutime + cstime grows by everything a connection cost there (key exchange, session, shell,
// the remote commands). The difference over a step is the fleet's server-side CPU.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { LabInfo } from '../../src/lab/lab.js';

let ticks: number | undefined;
function clockTicks(): number {
  ticks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticks;
}

/** Seconds of CPU one sshd has reaped from its children so far. */
export function childCpuS(pid: number | undefined): number {
  return pid ? childCpuTicks(pid) / clockTicks() : 0;
}

function childCpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, cutime 16, cstime 17.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[13]) + Number(rest[14]);
  } catch {
    return 0;
  }
}

/** Seconds of CPU all the lab's sshds have reaped from their children so far. */
export function serverCpuS(lab: LabInfo): number {
  let sum = 0;
  for (const r of lab.routers) if (r.sshdPid) sum += childCpuTicks(r.sshdPid);
  return sum / clockTicks();
}
