// The planner: DesiredState × HostFacts → HostPlan. Pure; every no-op says why.
import { Diagnostics } from '../diagnostics.js';
import type { DesiredState } from '../model/desired.js';
import type { HostFacts } from '../model/facts.js';
import type { HostPlan } from '../model/plan.js';
import { planIptables } from './iptables.js';
import { planIpRules } from './ip-rules.js';
import { planModules } from './modules.js';
import { ownedRecord, planOwned } from './owned.js';
import { planRoutes } from './routes.js';
import { planSysctls } from './sysctls.js';
import { planMonitor, withBalance } from './monitor.js';
import { familyDesired, familyFacts, plansIpv6 } from './family.js';
import { checkRouter } from './router.js';
import { planBootHook } from './boot-hook.js';
import { chooseBackend, iptablesPart, withBackend } from './backend.js';
import { planNft } from './nft.js';
import { nftTable } from '../compile/nft-table.js';

export function planHost(compiled: DesiredState, facts: HostFacts): HostPlan {
  const diags = new Diagnostics();
  const choice = chooseBackend(compiled, facts);
  if (choice.error) diags.error(choice.error, { host: compiled.host });
  const desired = withBackend(compiled, choice.backend);
  const routes6Flush: number[] = [];
  const monitor = planMonitor(desired, facts);
  const balanced = withBalance(desired, monitor.balance, monitor.balance6);
  const nft = planNft(desired.firewall === 'nft' ? nftTable(balanced, desired) : null, facts.nft?.state === 'ok' ? facts.nft.table : undefined);
  const iptables = planIptables(familyDesired(iptablesPart(balanced), 4), facts.iptables, diags);
  const rules = planIpRules(familyDesired(desired, 4), facts, diags);
  const routes = planRoutes(familyDesired(desired, 4), facts, diags);
  if (plansIpv6(desired, facts)) {
    const d6 = familyDesired(iptablesPart(balanced), 6);
    const f6 = familyFacts(facts, 6);
    const ipt6 = planIptables(d6, f6.iptables, diags, 6);
    iptables.changes.push(...ipt6.changes);
    iptables.tables.push(...ipt6.tables);
    const rules6 = planIpRules(d6, f6, diags, 6);
    rules.changes.push(...rules6.changes);
    rules.clashes.push(...rules6.clashes);
    rules.remove.push(...rules6.remove);
    rules.add.push(...rules6.add);
    const routes6 = planRoutes(d6, f6, diags, 6);
    routes.changes.push(...routes6.changes);
    routes.replace.push(...routes6.replace);
    routes.remove.push(...routes6.remove);
    routes6Flush.push(...routes6.flush);
  }
  const sysctls = planSysctls(desired, facts, diags);
  const modules = planModules(desired, facts);
  checkRouter(desired, facts, diags);
  const owned = ownedRecord(desired, sysctls.prior);
  const file = planOwned(desired, owned, facts.owned);
  const boot = planBootHook(desired, facts);
  const changes = [...modules.changes, ...sysctls.changes, ...routes.changes, ...rules.changes, ...iptables.changes, ...nft.changes, ...file, ...monitor.changes, ...boot.changes];
  const links = desired.monitor ? facts.monitor.links : undefined;
  const base = { host: desired.host, changes, clashes: rules.clashes, diagnostics: diags.items, ...(links ? { links } : {}), firewall: choice.backend, firewallWhy: choice.why };
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
