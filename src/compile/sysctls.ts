// Kernel settings the balance needs: forwarding for lan traffic, and a relaxed reverse path
// filter on the uplinks (replies come back on the link a connection left by, which is not
// the link the main table would pick). Keys are /proc/sys paths (SysctlSpec.key), so an
// interface name with a dot (eth0.2) stays one component.
import type { PlayConfig } from '../model/config.js';
import type { CompiledLink, SysctlSpec } from '../model/desired.js';
import { ipv6Links } from './links.js';

const RP_FILTER: Record<PlayConfig['rpFilter'], string> = { loose: '2', off: '0' };

export function compileSysctls(play: PlayConfig, links: CompiledLink[]): SysctlSpec[] {
  const out: SysctlSpec[] = [];
  if (play.traffic.includes('forwarded')) out.push({ key: 'net/ipv4/ip_forward', value: '1' });
  for (const l of links) out.push({ key: `net/ipv4/conf/${l.interface}/rp_filter`, value: RP_FILTER[play.rpFilter] });
  // IPv6 has no rp_filter. A router that forwards ignores router advertisements unless
  // accept_ra is 2, and its learnt gateway would expire: set before forwarding goes on.
  const links6 = ipv6Links(links);
  for (const l of links6) if (l.gateway6 === 'auto') out.push({ key: `net/ipv6/conf/${l.interface}/accept_ra`, value: '2' });
  if (links6.length > 0 && play.traffic.includes('forwarded')) out.push({ key: 'net/ipv6/conf/all/forwarding', value: '1' });
  return out;
}
