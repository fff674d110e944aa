// The planner: DesiredState × HostFacts → HostPlan. Pure; every no-op says why.
import { Diagnostics } from '../diagnostics.js';
import type { DesiredState } from '../model/desired.js';
import type { HostFacts } from '../model/facts.js';
import type { HostPlan } from '../model/plan.js';
import { planModules } from './modules.js';
import { ownedRecord, planOwned } from './owned.js';
import { planSysctls } from './sysctls.js';
import { planMonitor, withBalance } from './monitor.js';
import { plansIpv6 } from './family.js';
import { planFamilies } from './families.js';
import { checkRouter } from './router.js';
import { planBootHook } from './boot-hook.js';

export function planHost(desired: DesiredState, facts: HostFacts): HostPlan {
  const diags = new Diagnostics();
  const monitor = planMonitor(desired, facts);
  const balanced = withBalance(desired, monitor.balance, monitor.balance6);
  const { iptables, rules, routes, routesFlush6: routes6Flush } = planFamilies(desired, balanced, facts, diags, plansIpv6(desired, facts));
  const sysctls = planSysctls(desired, facts, diags);
  const modules = planModules(desired, facts);
  checkRouter(desired, facts, diags);
  const owned = ownedRecord(desired, sysctls.prior);
  const file = planOwned(desired, owned, facts.owned);
  const boot = planBootHook(desired, facts);
  const changes = [...modules.changes, ...sysctls.changes, ...routes.changes, ...rules.changes, ...iptables.changes, ...file, ...monitor.changes, ...boot.changes];
  const links = desired.monitor ? facts.monitor.links : undefined;
  const base = { host: desired.host, changes, clashes: rules.clashes, diagnostics: diags.items, ...(links ? { links } : {}) };
  if (diags.hasErrors) {
    return { ...base, action: 'refused', reason: diags.items.find((d) => d.severity === 'error')?.summary };
  }
  if (changes.length === 0) {
    const n = desired.chains.length + desired.jumps.length + desired.rules.length + desired.routes.length + desired.sysctls.length;
    return {
      ...base,
      action: 'noop',
      reason: `all ${n} owned objects match (${desired.chains.length} chains, ${desired.jumps.length} jumps, ${desired.rules.length} ip rules, ${desired.routes.length} routes, ${desired.sysctls.length} sysctls; ${desired.modules.length} modules present)`,
    };
  }
  return {
    ...base,
    action: 'change',
    ops: {
      flavour: facts.flavour,
      modules: modules.load,
      sysctls: sysctls.set,
      rulesDelete: rules.remove,
      rulesAdd: rules.add,
      routesFlush: routes.flush,
      ...(routes6Flush.length > 0 ? { routesFlush6: routes6Flush } : {}),
      routesReplace: routes.replace,
      routesDelete: routes.remove,
      iptables: iptables.tables,
      owned,
      ...(monitor.ops ? { monitor: monitor.ops } : {}),
      ...(boot.install ? { bootHook: true } : {}),
    },
  };
}
