// The lab's ISPs drop packets whose source address is not theirs (BCP38, the norm): strict
// reverse-path filtering (rp_filter=1) on every interface of the upstream namespace that faces
// routers, so a packet leaving wanN with another link's source is dropped. `all` is set to 0
// because the kernel applies the larger of `all` and the interface's value. IPv6 has no
// rp_filter: with `--ipv6` each ISP drops forwarded packets whose source is outside its /64
// (an ip6tables rule per ISP, see ispRules6), and spoofedDrops6 reads their counters.
import { bcp38Comment6, commentCounters } from './dataplane-ipv6-plan.js';
import { ipv6Of } from './radvd.js';
import { inNamespace } from './lab-process.js';
import type { LabInfo } from './manifest.js';

export function bcp38Sysctls(interfaces: readonly string[]): string[] {
  return ['net.ipv4.conf.all.rp_filter=0', ...interfaces.map((i) => `net.ipv4.conf.${i}.rp_filter=1`)];
}

export async function applyBcp38(ns: string, interfaces: readonly string[]): Promise<void> {
  if (interfaces.length > 0) await inNamespace(ns, 'sysctl', ['-qw', ...bcp38Sysctls(interfaces)]);
}

/** Packets the ISPs dropped for their source so far (the upstream namespace's IPReversePathFilter). */
export async function spoofedDrops(lab: LabInfo): Promise<number> {
  const r = await inNamespace(lab.upstreamNamespace, 'cat', ['/proc/net/netstat']);
  return reversePathDrops(r.stdout);
}

/** /proc/net/netstat → TcpExt's IPReversePathFilter counter. */
export function reversePathDrops(netstat: string): number {
  const lines = netstat.split('\n').filter((l) => l.startsWith('TcpExt:'));
  if (lines.length < 2) return 0;
  const keys = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/);
  const i = keys.indexOf('IPReversePathFilter');
  return i < 0 ? 0 : Number(values[i]);
}

/** IPv6 packets the ISPs (or only ISP k) dropped so far for a source outside their /64. */
export async function spoofedDrops6(lab: LabInfo, k?: number): Promise<number> {
  const r = await inNamespace(lab.upstreamNamespace, 'ip6tables-save', ['-c', '-t', 'filter'], { timeoutMs: 15_000 });
  const counts = commentCounters(r.stdout);
  return ipv6Of(lab)
    .isps.filter((i) => k === undefined || i.k === k)
    .reduce((sum, i) => sum + (counts.get(bcp38Comment6(i.k)) ?? 0), 0);
}
