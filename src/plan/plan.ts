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
import { chooseBackend, iptablesPart, withBackend } from './backend.js';
import { planNft } from './nft.js';
import { nftTable } from '../compile/nft-table.js';
import { linkMonitor } from '../compile/monitor.js';

export function planHost(compiled: DesiredState, facts: HostFacts): HostPlan {
  const diags = new Diagnostics();
  const choice = chooseBackend(compiled, facts);
  if (choice.error) diags.error(choice.error, { host: compiled.host });
  const desired = withBackend(compiled, choice.backend, choice);
  const monitor = planMonitor(desired, facts);
  const balanced = withBalance(desired, monitor.balance, monitor.balance6);
  const nft = planNft(desired.firewall === 'nft' ? nftTable(balanced, desired) : null, facts.nft?.state === 'ok' ? facts.nft.table : undefined);
  const { iptables, rules, routes, routesFlush6: routes6Flush } = planFamilies(desired, iptablesPart(balanced), facts, diags, plansIpv6(desired, facts));
  const sysctls = planSysctls(desired, facts, diags);
  const modules = planModules(desired, facts);
  checkRouter(desired, facts, diags);
  const owned = ownedRecord(desired, sysctls.prior);
  const file = planOwned(desired, owned, facts.owned);
  const boot = planBootHook(desired, facts);
  const changes = [...modules.changes, ...sysctls.changes, ...routes.changes, ...rules.changes, ...iptables.changes, ...nft.changes, ...file, ...monitor.changes, ...boot.changes];
  const links = linkMonitor(desired.monitor) ? facts.monitor.links : undefined;
  const base = { host: desired.host, changes, clashes: rules.clashes, diagnostics: diags.items, ...(links ? { links } : {}), firewall: choice.backend, firewallWhy: choice.why, ...(choice.probeMarks ? { probeMarks: true as const } : {}), ...(choice.resetDown ? { resetDown: true as const } : {}) };
  if (diags.hasErrors) {
    return { ...base, action: 'refused', reason: diags.items.find((d) => d.severity === 'error')?.summary };
  }
  if (changes.length === 0) {
    const n = desired.chains.length + desired.jumps.length + desired.rules.length + desired.routes.length + desired.sysctls.length;
    const where = desired.firewall === 'nft' ? ' in table inet multilink' : '';
    return {
      ...base,
      action: 'noop',
      reason: `all ${n} owned objects match (${desired.chains.length} chains${where}, ${desired.jumps.length} jumps, ${desired.rules.length} ip rules, ${desired.routes.length} routes, ${desired.sysctls.length} sysctls; ${desired.modules.length} modules present; firewall ${choice.backend}: ${choice.why})`,
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
      ...(nft.ops ? { nft: nft.ops } : {}),
      owned,
      ...(monitor.ops ? { monitor: monitor.ops } : {}),
      ...(boot.install ? { bootHook: true } : {}),
    },
  };
}
