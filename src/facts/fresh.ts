// The facts of a router multilink has never touched: empty ML_ state, the kernel's default
// ip rules, every module missing and every sysctl at some other value. Planning against it
// gives exactly what a first deploy sends, which is what `multilink render` prints.
import type { DesiredState } from '../model/desired.js';
import type { HostFacts, ModuleState } from '../model/facts.js';
import { hasIpv6 } from '../plan/owned.js';

/** A value no sysctl multilink sets ever has, so every one is written. */
export const UNKNOWN_SYSCTL = '?';

export function freshFacts(desired: DesiredState): HostFacts {
  return {
    flavour: desired.settings.iptables === 'legacy' ? 'legacy' : 'nft',
    iptables: { mangle: { chains: [] }, nat: { chains: [] }, raw: { chains: [] } },
    ipRules: [
      { priority: 0, text: 'from all lookup local', table: 'local' },
      { priority: 32766, text: 'from all lookup main', table: 'main' },
      { priority: 32767, text: 'from all lookup default', table: 'default' },
    ],
    routes: Object.fromEntries(desired.routes.map((r) => [r.table, []])),
    sysctls: Object.fromEntries(desired.sysctls.map((s) => [s.key, UNKNOWN_SYSCTL])),
    modules: Object.fromEntries(desired.modules.map((m): [string, ModuleState] => [m, 'missing'])),
    owned: null,
    generations: { current: null, list: [] },
    monitor: { script: null, running: false, links: [] },
    mainDefaults: {},
    tools: { ping: 'iputils', conntrack: true, stateFs: '' },
    // `auto` is decided by the router: rendered as for one without nft; `nft` as for one with it.
    nft: desired.settings.firewall === 'nft' ? { state: 'ok', table: null } : { state: 'missing', table: null },
    ...(hasIpv6(desired)
      ? {
          v6: {
            iptables: { mangle: { chains: [] }, nat: { chains: [] }, raw: { chains: [] } },
            ipRules: [
              { priority: 0, text: 'from all lookup local', table: 'local' },
              { priority: 32766, text: 'from all lookup main', table: 'main' },
            ],
            routes: Object.fromEntries(desired.routes.filter((r) => r.family === 6).map((r) => [r.table, []])),
            mainDefaults: {},
          },
        }
      : {}),
  };
}
