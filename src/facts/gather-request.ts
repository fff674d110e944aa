// What to gather from a router for a desired state: the tables, sysctls and modules it
// names, beside what every gather reads (iptables, ip rules, state folder).
import type { BootSetting, IptablesFlavourSetting } from '../model/config.js';
import type { DesiredState } from '../model/desired.js';
import { hasIpv6 } from '../plan/owned.js';

export interface GatherRequest {
  iptables: IptablesFlavourSetting;
  tables: number[];
  sysctls: string[];
  modules: string[];
  stateDir: string;
  /** The link monitor's run folder (its state file). */
  runDir: string;
  /** The boot hook to check (none: not gathered). */
  boot?: BootSetting;
  /** Gather IPv6's objects whatever the ownership record says (the desired state has some). */
  ipv6?: boolean;
  /** Which of multilink's folders exist (`remove`: src/facts/paths.ts). */
  paths?: boolean;
}

/** The kernel applies the higher of this and an interface's own rp_filter. */
export const ALL_RP_FILTER = 'net/ipv4/conf/all/rp_filter';

export function gatherRequest(desired: DesiredState): GatherRequest {
  // With rp_filter off on the links, the all-interfaces value decides whether that holds.
  const rpOff = desired.sysctls.some((s) => s.key.endsWith('/rp_filter') && s.value === '0');
  return {
    iptables: desired.settings.iptables,
    tables: [...new Set(desired.routes.map((r) => r.table))],
    sysctls: [...desired.sysctls.map((s) => s.key), ...(rpOff && !desired.sysctls.some((s) => s.key === ALL_RP_FILTER) ? [ALL_RP_FILTER] : [])],
    modules: desired.modules,
    stateDir: desired.settings.stateDir,
    runDir: desired.settings.runDir,
    boot: desired.settings.boot,
    ...(hasIpv6(desired) ? { ipv6: true } : {}),
  };
}
