// Faults the data-plane lab injects for tests and the benchmark: an ISP's upstream dies
// (and is repaired) inside the upstream namespace; a health target goes silent.
import { breakRules } from './dataplane-plan.js';
import { dataplaneOf } from './dataplane-setup.js';
import { LabError } from './errors.js';
import { inNamespace } from './lab-process.js';
import type { LabDataplane, LabInfo } from './manifest.js';
import type { RunResult } from './run.js';

function ispOf(lab: LabInfo, k: number): LabDataplane['isps'][number] {
  const isp = dataplaneOf(lab).isps.find((i) => i.k === k);
  if (!isp) throw new LabError(`no ISP ${k} in the lab (ISPs ${dataplaneOf(lab).isps.map((i) => i.k).join(', ')})`);
  return isp;
}

async function upstreamIptables(lab: LabInfo, args: readonly string[], allowFailure = false): Promise<RunResult> {
  return inNamespace(dataplaneOf(lab).upstreamNamespace, 'iptables', ['-w', '5', ...args], { allowFailure, timeoutMs: 15_000 });
}

/**
 * ISP k's upstream dies: every packet forwarded to or from its bridge is dropped silently in
 * the upstream namespace. The router's wan link and the gateway address stay up. Idempotent.
 */
export async function breakIsp(lab: LabInfo, k: number): Promise<void> {
  for (const rule of breakRules(ispOf(lab, k))) {
    if ((await upstreamIptables(lab, ['-C', ...rule], true)).code === 0) continue;
    await upstreamIptables(lab, ['-I', ...rule]);
  }
}

/** Removes what breakIsp added (every copy of it, bounded). Idempotent. */
export async function repairIsp(lab: LabInfo, k: number): Promise<void> {
  for (const rule of breakRules(ispOf(lab, k))) {
    for (let i = 0; i < 10 && (await upstreamIptables(lab, ['-C', ...rule], true)).code === 0; i++) {
      await upstreamIptables(lab, ['-D', ...rule]);
    }
  }
}

/** iptables in the server namespace (e.g. silence one health target). */
export async function inServerIptables(lab: LabInfo, args: readonly string[]): Promise<RunResult> {
  return inNamespace(dataplaneOf(lab).serverNamespace, 'iptables', ['-w', '5', ...args], { timeoutMs: 15_000 });
}
