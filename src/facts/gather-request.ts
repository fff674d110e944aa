// What to gather from a router for a desired state: the tables, sysctls and modules it
// names, beside what every gather reads (iptables, ip rules, state folder).
import type { BootSetting, IptablesFlavourSetting } from '../model/config.js';
import type { DesiredState } from '../model/desired.js';

export interface GatherRequest {
  iptables: IptablesFlavourSetting;
  tables: number[];
  sysctls: string[];
  modules: string[];
  stateDir: string;
  /** The boot hook to check (none: not gathered). */
  boot?: BootSetting;
}

export function gatherRequest(desired: DesiredState): GatherRequest {
  return {
    iptables: desired.settings.iptables,
    tables: [...new Set(desired.routes.map((r) => r.table))],
    sysctls: desired.sysctls.map((s) => s.key),
    modules: desired.modules,
    stateDir: desired.settings.stateDir,
    boot: desired.settings.boot,
  };
}
