// Live facts of a router on which any DesiredState was applied (built-in chains, jumps, ML_
// chains, ip rules, routes, sysctls, modules, ownership record), for engine tests driven by
// compiled states.
import type { DesiredState, NetfilterTable } from '../../src/model/desired.js';
import type { HostFacts, IptablesFlavour } from '../../src/model/facts.js';
import { parseIpRules } from '../../src/facts/ip-rule.js';
import { routeShowText, ruleShowText } from '../../src/render/ip.js';

const BUILTINS: Record<NetfilterTable, string[]> = {
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};

export function convergedFactsFor(d: DesiredState, flavour: IptablesFlavour = 'nft'): HostFacts {
  const iptables = {} as HostFacts['iptables'];
  for (const table of Object.keys(BUILTINS) as NetfilterTable[]) {
    iptables[table] = {
      chains: [
        ...BUILTINS[table].map((name) => ({ name, policy: 'ACCEPT', rules: d.jumps.filter((j) => j.table === table && j.chain === name).map((j) => j.rule) })),
        ...d.chains.filter((c) => c.table === table).map((c) => ({ name: c.name, policy: '-', rules: [...c.rules] })),
      ],
    };
  }
  return {
    flavour,
    iptables,
    ipRules: [
      { priority: 0, text: 'from all lookup local', table: 'local' },
      ...parseIpRules(d.rules.map((r) => `${r.priority}:\t${ruleShowText(r)}`).join('\n')),
      { priority: 32766, text: 'from all lookup main', table: 'main' },
      { priority: 32767, text: 'from all lookup default', table: 'default' },
    ],
    // A learned (gateway: auto) table is empty until the monitor sets it: main has no default for it here.
    routes: Object.fromEntries(d.routes.map((r) => [r.table, r.learned ? [] : [{ text: routeShowText(r), dst: r.dst, ...(r.via ? { via: r.via } : {}), dev: r.dev }]])),
    sysctls: Object.fromEntries(d.sysctls.map((s) => [s.key, s.value])),
    modules: Object.fromEntries(d.modules.map((m) => [m, 'loaded' as const])),
    owned: {
      tables: [...new Set(d.routes.map((r) => r.table))].sort((a, b) => a - b),
      priorities: d.rules.map((r) => r.priority).sort((a, b) => a - b),
      chains: d.chains.map((c) => ({ table: c.table, name: c.name })),
      sysctls: Object.fromEntries(d.sysctls.map((s) => [s.key, s.value])),
    },
    generations: { current: 1, list: [{ n: 1, confirmed: true }] },
    monitor: { script: null, running: false, links: [] },
    mainDefaults: {},
    tools: { ping: 'iputils', conntrack: true, stateFs: 'ext4' },
  };
}
