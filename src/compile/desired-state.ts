// compile: HostConfig → DesiredState. Pure: no I/O, same input, same output.
import type { HostConfig } from '../model/config.js';
import type { ChainSpec, DesiredState, JumpSpec, RouteSpec, RuleSpec } from '../model/desired.js';
import { accountingRules } from './accounting.js';
import { balanceRules } from './balance.js';
import { newChainRules } from './exceptions.js';
import { helperModules, helperRules } from './helpers.js';
import { CHAIN_ACCT, CHAIN_BALANCE, CHAIN_HELPERS, CHAIN_MARK, CHAIN_MASQ, CHAIN_NEW } from './iptables-text.js';
import { compileLinks } from './links.js';
import { compileMonitor } from './monitor.js';
import { markChainRules } from './mark-chain.js';
import { masqueradeRules } from './nat.js';
import { compileSysctls } from './sysctls.js';

export function compileHost(cfg: HostConfig): DesiredState {
  const { play, settings } = cfg;
  const mask = settings.markMask;
  const links = compileLinks(play.links, settings);
  const forwarded = play.traffic.includes('forwarded');
  const local = play.traffic.includes('local');

  const chains: ChainSpec[] = [
    { table: 'mangle', name: CHAIN_MARK, rules: markChainRules(mask) },
    { table: 'mangle', name: CHAIN_NEW, rules: newChainRules(play.exceptions, links, mask) },
    { table: 'mangle', name: CHAIN_BALANCE, rules: balanceRules(links, play.method, mask) },
    { table: 'mangle', name: CHAIN_ACCT, rules: accountingRules(links) },
  ];
  const jumps: JumpSpec[] = [];
  if (forwarded) {
    for (const lan of play.lan) jumps.push({ table: 'mangle', chain: 'PREROUTING', rule: `-i ${lan} -j ${CHAIN_MARK}` });
  }
  if (local) jumps.push({ table: 'mangle', chain: 'OUTPUT', rule: `-j ${CHAIN_MARK}` });
  // Counted after routing, whatever sent the packet (forwarded or local, balanced or not).
  jumps.push({ table: 'mangle', chain: 'POSTROUTING', rule: `-j ${CHAIN_ACCT}` });

  const masq = masqueradeRules(links);
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

  const rules: RuleSpec[] = links.map((l) => ({ priority: l.priority, fwmark: l.mark, mask, table: l.table }));
  const routes: RouteSpec[] = links.map((l) => ({ table: l.table, dst: 'default', via: l.gateway, dev: l.interface }));

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
    ...(play.health ? { monitor: compileMonitor(play.health, links, play.method, mask) } : {}),
  };
}
