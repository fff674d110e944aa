// compile: HostConfig → DesiredState. Pure: no I/O, same input, same output.
import type { HostConfig } from '../model/config.js';
import type { ChainSpec, DesiredState, JumpSpec, RouteSpec, RuleSpec } from '../model/desired.js';
import { accountingRules } from './accounting.js';
import { balanceRules } from './balance.js';
import { newChainRules } from './exceptions.js';
import { helperModules, helperRules } from './helpers.js';
import { CHAIN_ACCT, CHAIN_BALANCE, CHAIN_HELPERS, CHAIN_MASQ, CHAIN_NEW, CHAIN_OUT, CHAIN_PRE } from './iptables-text.js';
import { compileLinks } from './links.js';
import { compileMonitor } from './monitor.js';
import { outputRules, preroutingRules } from './mark-chain.js';
import { linkRoutes, policyRules } from './rules.js';
import { masqueradeRules } from './nat.js';
import { compileSysctls } from './sysctls.js';

export function compileHost(cfg: HostConfig): DesiredState {
  const { play, settings } = cfg;
  const mask = settings.markMask;
  const links = compileLinks(play.links, settings);
  const forwarded = play.traffic.includes('forwarded');
  const local = play.traffic.includes('local');

  const inbound = links.some((l) => l.inbound);
  const chains: ChainSpec[] = [];
  const jumps: JumpSpec[] = [];
  // PREROUTING on every interface: inbound connections arrive on the links, replies of
  // forwarded ones on the LAN side.
  if (forwarded || inbound) {
    chains.push({ table: 'mangle', name: CHAIN_PRE, rules: preroutingRules(links, play.lan, forwarded, mask) });
    jumps.push({ table: 'mangle', chain: 'PREROUTING', rule: `-j ${CHAIN_PRE}` });
  }
  if (local || inbound) {
    chains.push({ table: 'mangle', name: CHAIN_OUT, rules: outputRules(local, mask) });
    jumps.push({ table: 'mangle', chain: 'OUTPUT', rule: `-j ${CHAIN_OUT}` });
  }
  chains.push(
    { table: 'mangle', name: CHAIN_NEW, rules: newChainRules(play.exceptions, links, mask) },
    { table: 'mangle', name: CHAIN_BALANCE, rules: balanceRules(links, play.method, mask) },
    { table: 'mangle', name: CHAIN_ACCT, rules: accountingRules(links) },
  );
  // Counted after routing, whatever sent the packet (forwarded or local, balanced or not).
  jumps.push({ table: 'mangle', chain: 'POSTROUTING', rule: `-j ${CHAIN_ACCT}` });

  const masq = masqueradeRules(links, mask);
  if (masq.length > 0) {
    chains.push({ table: 'nat', name: CHAIN_MASQ, rules: masq });
    jumps.push({ table: 'nat', chain: 'POSTROUTING', rule: `-j ${CHAIN_MASQ}` });
  }

  const helpers = helperRules(play.helpers);
  if (helpers.length > 0) {
    chains.push({ table: 'raw', name: CHAIN_HELPERS, rules: helpers });
    if (forwarded) {
      for (const lan of play.lan) jumps.push({ table: 'raw', chain: 'PREROUTING', rule: `-i ${lan} -j ${CHAIN_HELPERS}` });
    }
    if (local) jumps.push({ table: 'raw', chain: 'OUTPUT', rule: `-j ${CHAIN_HELPERS}` });
  }

  const rules: RuleSpec[] = policyRules(links, settings.rulePriority, mask);
  const routes: RouteSpec[] = linkRoutes(links);

  return {
    host: cfg.name,
    settings,
    method: play.method,
    traffic: [...play.traffic],
    links,
    chains,
    jumps,
    rules,
    routes,
    sysctls: compileSysctls(play, links),
    modules: helperModules(play.helpers),
    balanceChain: { table: 'mangle', name: CHAIN_BALANCE },
    ...(play.health || play.method === 'adaptive' || links.some((l) => l.gateway === 'auto') ? { monitor: compileMonitor(play.health, links, play.method, mask) } : {}),
  };
}
