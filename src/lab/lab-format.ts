// What `multilink lab up` prints: the folder, each router with its addresses, the data
// plane, the inventory to hand to multilink and an ssh line to try.
import { formatDataplane } from './dataplane-setup.js';
import type { LabInfo } from './manifest.js';

/** Folder, routers with their addresses, and the inventory to hand to multilink. */
export function formatLabInfo(info: LabInfo): string {
  const lines = [
    `lab "${info.prefix}" in ${info.dir} (${info.status}): ${info.routers.length} router(s)`,
    `  management ${info.managementCidr}: host ${info.hostAddress} on ${info.hostLink}; uplink gateways ${info.gateways.join(', ')}`,
  ];
  const width = Math.max(...info.routers.map((r) => r.name.length));
  for (const r of info.routers) {
    lines.push(
      `  ${r.name.padEnd(width)}  ${r.mgmtAddress.padEnd(15)}  wan ${r.wanAddresses.join(' ')}  lan0 ${r.lanAddress}  ` +
        `iptables ${r.iptables.padEnd(6)}  netns ${r.namespace}${r.sshdPid ? `  sshd ${r.sshdPid}` : ''}`,
    );
  }
  if (info.dataplane) lines.push(...formatDataplane(info.dataplane));
  lines.push(`inventory: ${info.inventory}`);
  const first = info.routers[0];
  if (first) {
    lines.push(`try:       ssh -i ${info.privateKey} -o UserKnownHostsFile=${info.knownHosts} root@${first.mgmtAddress}`);
  }
  return lines.join('\n');
}
