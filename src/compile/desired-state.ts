// compile: HostConfig → DesiredState. Pure: no I/O, same input, same output.
import type { HostConfig } from '../model/config.js';
import { familyField, type ChainSpec, type CompiledLink, type DesiredState, type Family, type JumpSpec, type RouteSpec, type RuleSpec } from '../model/desired.js';
import { accountingRules } from './accounting.js';
import { balanceRules } from './balance.js';
import { newChainRules } from './exceptions.js';
import { helperModules, helperRules } from './helpers.js';
import { CHAIN_ACCT, CHAIN_BALANCE, CHAIN_HELPERS, CHAIN_MASQ, CHAIN_NEW, CHAIN_OUT, CHAIN_PRE } from './iptables-text.js';
import { compileLinks, ipv6Links } from './links.js';
import { compileMonitor, guardOnlyMonitor } from './monitor.js';
import { outputRules, preroutingRules } from './mark-chain.js';
import { linkRoutes, linkRoutes6, policyRules } from './rules.js';
import { masqueradeRules } from './nat.js';
import { compileSysctls } from './sysctls.js';

interface FamilyObjects {
  chains: ChainSpec[];
  jumps: JumpSpec[];
}

/**
 * The ML_ chains and their jumps of one family. IPv6's carry only the links with a gateway6
 * (the others get no IPv6 connection), with the same marks, tables and priorities.
 */
function netfilterObjects(cfg: HostConfig, links: CompiledLink[], family: Family): FamilyObjects {
  const { play, settings } = cfg;
  const mask = settings.markMask;
  const forwarded = play.traffic.includes('forwarded');
  const local = play.traffic.includes('local');
  const f = familyField(family);
  const inbound = links.some((l) => l.inbound);
  const chains: ChainSpec[] = [];
  const jumps: JumpSpec[] = [];
  // PREROUTING on every interface: inbound connections arrive on the links, replies of
  // forwarded ones on the LAN side.
  if (forwarded || inbound) {
    chains.push({ table: 'mangle', ...f, name: CHAIN_PRE, rules: preroutingRules(links, play.lan, forwarded, mask) });
    jumps.push({ table: 'mangle', ...f, chain: 'PREROUTING', rule: `-j ${CHAIN_PRE}` });
  }
  if (local || inbound) {
    chains.push({ table: 'mangle', ...f, name: CHAIN_OUT, rules: outputRules(local, mask) });
    jumps.push({ table: 'mangle', ...f, chain: 'OUTPUT', rule: `-j ${CHAIN_OUT}` });
  }
  chains.push(
    { table: 'mangle', ...f, name: CHAIN_NEW, rules: newChainRules(play.exceptions, links, mask, family) },
    { table: 'mangle', ...f, name: CHAIN_BALANCE, rules: balanceRules(links, play.method, mask, family) },
    { table: 'mangle', ...f, name: CHAIN_ACCT, rules: accountingRules(links) },
  );
  // Counted after routing, whatever sent the packet (forwarded or local, balanced or not).
  jumps.push({ table: 'mangle', ...f, chain: 'POSTROUTING', rule: `-j ${CHAIN_ACCT}` });

  const masq = masqueradeRules(links, mask, family);
  if (masq.length > 0) {
    chains.push({ table: 'nat', ...f, name: CHAIN_MASQ, rules: masq });
    jumps.push({ table: 'nat', ...f, chain: 'POSTROUTING', rule: `-j ${CHAIN_MASQ}` });
  }

  const helpers = helperRules(play.helpers);
  if (helpers.length > 0) {
    chains.push({ table: 'raw', ...f, name: CHAIN_HELPERS, rules: helpers });
    if (forwarded) {
      for (const lan of play.lan) jumps.push({ table: 'raw', ...f, chain: 'PREROUTING', rule: `-i ${lan} -j ${CHAIN_HELPERS}` });
    }
    if (local) jumps.push({ table: 'raw', ...f, chain: 'OUTPUT', rule: `-j ${CHAIN_HELPERS}` });
  }
  return { chains, jumps };
}

export function compileHost(cfg: HostConfig): DesiredState {
  const { play, settings } = cfg;
  const mask = settings.markMask;
  const links = compileLinks(play.links, settings);
  const links6 = ipv6Links(links);
  const v4 = netfilterObjects(cfg, links, 4);
  const v6 = links6.length > 0 ? netfilterObjects(cfg, links6, 6) : { chains: [], jumps: [] };
  const rules: RuleSpec[] = [...policyRules(links, settings.rulePriority, mask), ...(links6.length > 0 ? policyRules(links6, settings.rulePriority, mask, links.length, 6) : [])];
  const routes: RouteSpec[] = [...linkRoutes(links), ...linkRoutes6(links6)];

  return {
    host: cfg.name,
    settings,
    method: play.method,
    traffic: [...play.traffic],
    links,
    chains: [...v4.chains, ...v6.chains],
    jumps: [...v4.jumps, ...v6.jumps],
    rules,
    routes,
    sysctls: compileSysctls(play, links),
    modules: helperModules(play.helpers),
    balanceChain: { table: 'mangle', name: CHAIN_BALANCE },
    ...(play.health || play.method === 'adaptive' || links.some((l) => l.gateway === 'auto' || l.gateway6 === 'auto')
      ? { monitor: compileMonitor(play.health, links, play.method, mask) }
      : { monitor: guardOnlyMonitor() }),
  };
}
