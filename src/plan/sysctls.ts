// Plans the sysctls multilink sets. Their prior values are kept in the ownership record, so a
// sysctl multilink stops wanting (a link removed) gets back the value it had before.
import type { Diagnostics } from '../diagnostics.js';
import type { DesiredState, SysctlSpec } from '../model/desired.js';
import type { HostFacts } from '../model/facts.js';
import type { Change } from '../model/plan.js';
import { ALL_RP_FILTER } from '../facts/gather-request.js';

export interface SysctlsPlan {
  changes: Change[];
  set: SysctlSpec[];
  /** Prior values of the sysctls that stay owned, for the new ownership record. */
  prior: Record<string, string>;
}

export function planSysctls(desired: DesiredState, facts: HostFacts, diags: Diagnostics): SysctlsPlan {
  const plan: SysctlsPlan = { changes: [], set: [], prior: {} };
  const recorded = facts.owned?.sysctls ?? {};
  for (const s of desired.sysctls) {
    const live = facts.sysctls[s.key];
    if (live === null || live === undefined) {
      const iface = /^net\/ipv4\/conf\/([^/]+)\//.exec(s.key)?.[1];
      diags.error(`${s.key} does not exist on the host${iface ? `: is there an interface ${iface}?` : ''}`, { host: desired.host });
      continue;
    }
    plan.prior[s.key] = recorded[s.key] ?? live;
    if (live === s.value) continue;
    plan.set.push(s);
    plan.changes.push({ kind: 'sysctl', op: 'update', object: s.key, expected: s.value, actual: live });
  }
  const off = desired.sysctls.filter((s) => s.key !== ALL_RP_FILTER && s.key.endsWith('/rp_filter') && s.value === '0');
  if (off.length > 0 && facts.sysctls[ALL_RP_FILTER] === '1') {
    const ifaces = off.map((s) => s.key.split('/')[3]).join(', ');
    diags.warning(
      `rp_filter: off has no effect on ${ifaces} while net.ipv4.conf.all.rp_filter is 1 (the kernel applies the higher of the two): replies that come back on another link than the main table would pick are dropped; set net.ipv4.conf.all.rp_filter to 0 or 2 on the router, or use rp_filter: loose`,
      { host: desired.host },
    );
  }
  const wanted = new Set(desired.sysctls.map((s) => s.key));
  for (const [key, value] of Object.entries(recorded)) {
    if (wanted.has(key)) continue;
    plan.set.push({ key, value });
    plan.changes.push({ kind: 'sysctl', op: 'update', object: key, expected: `${value} (value before multilink)` });
  }
  return plan;
}
