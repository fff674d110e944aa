// Live facts of a router on which any DesiredState was applied (built-in chains, jumps, ML_
// chains, ip rules, routes, sysctls, modules, ownership record), for engine tests driven by
// compiled states.
import { monitorScript } from '../../src/render/monitor.js';
import { familyOf, type DesiredState, type Family, type NetfilterTable } from '../../src/model/desired.js';
import type { FamilyFacts, HostFacts, IptablesFlavour } from '../../src/model/facts.js';
import { parseIpRules } from '../../src/facts/ip-rule.js';
import { routeShowText, ruleShowText } from '../../src/render/ip.js';

const BUILTINS: Record<NetfilterTable, string[]> = {
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};

/** One family's netfilter tables, ip rules and routes as they stand once `d` was applied. */
function familyFactsFor(d: DesiredState, family: Family): FamilyFacts {
  const iptables = {} as HostFacts['iptables'];
  const chains = d.chains.filter((c) => familyOf(c) === family);
  const jumps = d.jumps.filter((j) => familyOf(j) === family);
  for (const table of Object.keys(BUILTINS) as NetfilterTable[]) {
    iptables[table] = {
      chains: [
        ...BUILTINS[table].map((name) => ({ name, policy: 'ACCEPT', rules: jumps.filter((j) => j.table === table && j.chain === name).map((j) => j.rule) })),
        ...chains.filter((c) => c.table === table).map((c) => ({ name: c.name, policy: '-', rules: [...c.rules] })),
      ],
    };
  }
  const routes = d.routes.filter((r) => familyOf(r) === family);
  // The gather reads every table the desired state names in both families: empty where this family has no route.
  const gathered = Object.fromEntries(d.routes.map((r) => [r.table, []]));
  return {
    iptables,
    ipRules: [
      { priority: 0, text: 'from all lookup local', table: 'local' },
      ...parseIpRules(d.rules.filter((r) => familyOf(r) === family).map((r) => `${r.priority}:\t${ruleShowText(r)}`).join('\n')),
      { priority: 32766, text: 'from all lookup main', table: 'main' },
      ...(family === 4 ? [{ priority: 32767, text: 'from all lookup default', table: 'default' }] : []),
    ],
    // A learned (gateway: auto) table is empty until the monitor sets it: main has no default for it here.
    routes: { ...gathered, ...Object.fromEntries(routes.map((r) => [r.table, r.learned ? [] : [{ text: routeShowText(r), dst: r.dst, ...(r.via ? { via: r.via } : {}), dev: r.dev }]])) },
    mainDefaults: {},
  };
}

export function convergedFactsFor(d: DesiredState, flavour: IptablesFlavour = 'nft'): HostFacts {
  const v4 = familyFactsFor(d, 4);
  const ipv6 = d.chains.some((c) => c.family === 6);
  return {
    flavour,
    iptables: v4.iptables,
    ipRules: v4.ipRules,
    routes: v4.routes,
    ...(ipv6 ? { v6: familyFactsFor(d, 6) } : {}),
    sysctls: Object.fromEntries(d.sysctls.map((s) => [s.key, s.value])),
    modules: Object.fromEntries(d.modules.map((m) => [m, 'loaded' as const])),
    owned: {
      tables: [...new Set(d.routes.map((r) => r.table))].sort((a, b) => a - b),
      priorities: [...new Set(d.rules.map((r) => r.priority))].sort((a, b) => a - b),
      chains: d.chains.map((c) => ({ table: c.table, name: c.name, ...(c.family === 6 ? { family: 6 as const } : {}) })),
      sysctls: Object.fromEntries(d.sysctls.map((s) => [s.key, s.value])),
      ...(ipv6 ? { ipv6: true as const } : {}),
    },
    generations: { current: 1, list: [{ n: 1, confirmed: true }] },
    // A play without health has the guard-only monitor running (issue 19 §3).
    monitor: d.monitor?.guardOnly ? { script: monitorScript(d), running: true, pid: 4242, links: [] } : { script: null, running: false, links: [] },
    mainDefaults: {},
    tools: { ping: 'iputils', conntrack: true, stateFs: 'ext4' },
  };
}
