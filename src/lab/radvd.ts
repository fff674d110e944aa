// The ISPs' router advertisements (`--ipv6`): one radvd in the upstream namespace with an
// interface block per ISP, started detached in the foreground (its pid is radvd's own) and
// recorded with its config path as marker. A change is written to the config and radvd is
// told by SIGHUP to its recorded pid: it re-reads the config and advertises at once, from
// the bridge's link-local address of that moment. `lab down` stops it by pid; on SIGTERM it
// sends a last RA with router lifetime 0, as a router going away should.
import { commentCounters, raComment, renderRadvdConfig } from './dataplane-ipv6-plan.js';
import { dataplaneOf } from './dataplane-setup.js';
import { LabError } from './errors.js';
import { replaceFile, writeNewFile } from './lab-folder.js';
import { inNamespace, logTail, recordFile, recordProcess, spawnDetached, waitFor } from './lab-process.js';
import { saveManifest, type LabInfo, type LabIpv6 } from './manifest.js';
import { isOurProcess } from './sshd.js';

export function ipv6Of(lab: LabInfo): LabIpv6 {
  const v6 = dataplaneOf(lab).ipv6;
  if (!v6) throw new LabError(`the lab in ${lab.dir} has no IPv6 (lab up --dataplane --ipv6)`);
  return v6;
}

/** The lab's radvd still runs as recorded (start time and config on its command line). */
function radvdRuns(lab: LabInfo, pid: number): boolean {
  const record = lab.processes.find((p) => p.pid === pid);
  return record !== undefined && isOurProcess(record);
}

export function radvdConfigOf(v6: LabIpv6): string {
  return renderRadvdConfig(v6.isps.map((i) => ({ bridge: i.bridge, prefix: i.prefix, state: i.ra })));
}

/** RAs each ISP has sent so far (counted by a rule on its bridge in the upstream namespace), by K. */
export async function raSent(lab: LabInfo): Promise<Map<number, number>> {
  const save = await inNamespace(dataplaneOf(lab).upstreamNamespace, 'ip6tables-save', ['-c', '-t', 'filter'], { timeoutMs: 15_000 });
  const counts = commentCounters(save.stdout);
  return new Map(ipv6Of(lab).isps.map((i) => [i.k, counts.get(raComment(i.k)) ?? 0]));
}

/** Until every ISP in ks has sent an RA since `before`; throws with radvd's log after limitMs. */
async function waitRas(lab: LabInfo, ks: readonly number[], before: ReadonlyMap<number, number>, limitMs: number): Promise<void> {
  if (ks.length === 0) return;
  const v6 = ipv6Of(lab);
  let silent = [...ks];
  const ok = await waitFor(async () => {
    const now = await raSent(lab);
    silent = ks.filter((k) => (now.get(k) ?? 0) <= (before.get(k) ?? 0));
    return silent.length === 0 || (v6.radvdPid !== undefined && !radvdRuns(lab, v6.radvdPid));
  }, limitMs, 25);
  if (ok === undefined || silent.length > 0) {
    throw new LabError(`radvd sent no router advertisement for ISP ${silent.join(', ')} within ${limitMs / 1000} s; ${v6.radvdLog}:\n  ${logTail(v6.radvdLog)}`);
  }
}

const advertising = (v6: LabIpv6, ks?: readonly number[]): number[] => v6.isps.filter((i) => i.ra !== 'off' && (!ks || ks.includes(i.k))).map((i) => i.k);

/** Writes radvd's config and starts it; returns once each advertising ISP has sent its first RA. */
export async function startRadvd(lab: LabInfo): Promise<void> {
  const v6 = ipv6Of(lab);
  for (const f of [v6.radvdConfig, v6.radvdPidFile, v6.radvdLog]) recordFile(lab, f);
  writeNewFile(v6.radvdConfig, radvdConfigOf(v6));
  const before = await raSent(lab);
  // -n: foreground (the pid is radvd's); -m stderr: it logs to the file spawnDetached gives it.
  const pid = spawnDetached(dataplaneOf(lab).upstreamNamespace, 'radvd', ['-n', '-m', 'stderr', '-C', v6.radvdConfig, '-p', v6.radvdPidFile], v6.radvdLog);
  recordProcess(lab, pid, 'dataplane', v6.radvdConfig);
  v6.radvdPid = pid;
  saveManifest(lab);
  await waitRas(lab, advertising(v6), before, 10_000);
}

/**
 * Rewrites radvd's config from the manifest (each ISP's `ra` state) and sends radvd SIGHUP;
 * returns once the ISPs in `ks` (default all) that still advertise have sent an RA since.
 */
export async function reloadRadvd(lab: LabInfo, ks?: readonly number[]): Promise<void> {
  const v6 = ipv6Of(lab);
  const pid = v6.radvdPid;
  if (pid === undefined || !radvdRuns(lab, pid)) throw new LabError(`the lab's radvd is not running; ${v6.radvdLog}:\n  ${logTail(v6.radvdLog)}`);
  saveManifest(lab);
  replaceFile(v6.radvdConfig, radvdConfigOf(v6));
  const before = await raSent(lab);
  process.kill(pid, 'SIGHUP');
  await waitRas(lab, advertising(v6, ks), before, 5000);
}
