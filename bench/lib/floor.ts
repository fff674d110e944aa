// The floor: one OpenSSH connection per router, all at once, running `true`. No multiplexing,
// host keys checked against the lab's known_hosts, the lab's key only.
import type { LabInfo } from '../../src/lab/lab.js';
import { timed } from './proc.js';

export interface FloorRun {
  wallMs: number;
  /** User + system CPU of the ssh clients. */
  cpuS: number;
  failures: string[];
}

export function sshArgs(lab: LabInfo, extra: readonly string[] = []): string[] {
  return [
    '-F', '/dev/null',
    '-i', lab.privateKey,
    '-o', 'IdentitiesOnly=yes',
    '-o', `UserKnownHostsFile=${lab.knownHosts}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes',
    '-o', 'ControlMaster=no',
    '-o', 'ControlPath=none',
    '-o', 'ConnectTimeout=20',
    ...extra,
  ];
}

export async function floor(lab: LabInfo, timeoutMs: number, extra: readonly string[] = []): Promise<FloorRun> {
  const started = process.hrtime.bigint();
  const runs = await Promise.all(lab.routers.map((r) => timed('ssh', [...sshArgs(lab, extra), `root@${r.mgmtAddress}`, 'true'], { timeoutMs })));
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const failures = runs.flatMap((x, i) => (x.code === 0 ? [] : [`${lab.routers[i].name}: ${x.timedOut ? 'timed out' : `exit ${x.code} ${x.stderr.trim()}`}`]));
  return { wallMs, cpuS: runs.reduce((s, x) => s + (x.cpuS ?? 0), 0), failures };
}
