// Kernel settings the balance needs: forwarding for lan traffic, and a relaxed reverse path
// filter on the uplinks (replies come back on the link a connection left by, which is not
// the link the main table would pick). Keys are /proc/sys paths (SysctlSpec.key), so an
// interface name with a dot (eth0.2) stays one component.
import type { PlayConfig } from '../model/config.js';
import type { CompiledLink, SysctlSpec } from '../model/desired.js';

const RP_FILTER: Record<PlayConfig['rpFilter'], string> = { loose: '2', off: '0' };

export function compileSysctls(play: PlayConfig, links: CompiledLink[]): SysctlSpec[] {
  const out: SysctlSpec[] = [];
  if (play.traffic.includes('forwarded')) out.push({ key: 'net/ipv4/ip_forward', value: '1' });
  for (const l of links) out.push({ key: `net/ipv4/conf/${l.interface}/rp_filter`, value: RP_FILTER[play.rpFilter] });
  return out;
}
