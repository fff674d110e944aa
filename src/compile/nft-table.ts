// The nft backend's table, `table inet multilink`, built from the same ML_ chains and jumps
// the iptables backend loads (compile/desired-state.ts): each family's chains under their own
// names (IPv6's are ML6_*), each hooked built-in chain a base chain of the table with the
// jumps of both families, guarded by `meta nfproto`.
import type { ChainSpec, DesiredState, Family, JumpSpec } from '../model/desired.js';
import { familyOf } from '../model/desired.js';
import type { NftChain, NftObject, NftTable } from '../model/nft.js';
import { STICKY_SECONDS } from './balance.js';
import { ipv6Links } from './links.js';
import { pinnedMark } from './iptables-text.js';
import { nftBalanceRules } from './nft-balance.js';
import { balanceTargetName, ctMarkChainName, hex8, markChainName, markSet, nftChainName, nftRule } from './nft-rule.js';

interface BaseChain {
  name: string;
  hook: string;
}

/**
 * Where iptables' built-in chains hook, as nft base chains. mangle OUTPUT is a `route` chain:
 * only those make the kernel route a local packet again after its mark changed. A helper is
 * assigned after conntrack made the connection (priority filter), not before as in raw.
 */
function baseChain(j: JumpSpec): BaseChain {
  const hookName = j.chain.toLowerCase();
  if (j.table === 'nat') return { name: `nat_${hookName}`, hook: `type nat hook ${hookName} priority srcnat; policy accept;` };
  if (j.table === 'raw') return { name: `helpers_${hookName}`, hook: `type filter hook ${hookName} priority filter; policy accept;` };
  const type = j.chain === 'OUTPUT' ? 'route' : 'filter';
  return { name: `mangle_${hookName}`, hook: `type ${type} hook ${hookName} priority mangle; policy accept;` };
}

function nfproto(family: Family): string {
  return `meta nfproto ${family === 6 ? 'ipv6' : 'ipv4'}`;
}

function stickySets(chains: readonly ChainSpec[]): NftObject[] {
  const sets: NftObject[] = [];
  for (const c of chains) {
    for (const r of c.rules) {
      const m = /-m recent --set --name (\w+)/.exec(r);
      if (!m || sets.some((s) => s.name === m[1])) continue;
      const type = familyOf(c) === 6 ? 'ipv6_addr' : 'ipv4_addr';
      sets.push({ kind: 'set', name: m[1], lines: [`type ${type}`, 'size 65535', 'flags dynamic,timeout', `timeout ${STICKY_SECONDS / 3600}h`] });
    }
  }
  return sets;
}

function helperObjects(chains: readonly ChainSpec[]): NftObject[] {
  const names = new Set(chains.flatMap((c) => c.rules.flatMap((r) => /-j CT --helper (\w+)/.exec(r)?.[1] ?? [])));
  return [...names].sort().map((name) => ({ kind: 'ct helper' as const, name, lines: [`type "${name}" protocol tcp`, 'l3proto inet'] }));
}

/**
 * The table for a desired state. `full` is the state as compiled: its sets and mark chains
 * stay whatever balancing chain the link monitor has in force (`desired` may hold a chain for
 * fewer links, see plan/monitor.ts).
 */
export function nftTable(desired: DesiredState, full: DesiredState = desired): NftTable {
  const mask = desired.settings.markMask;
  const marks = [...new Set([...full.links.map((l) => l.mark), pinnedMark(mask)])].sort((a, b) => a - b);
  const chains: NftChain[] = [];
  const bases = new Map<string, NftChain>();
  for (const j of desired.jumps) {
    const b = baseChain(j);
    let chain = bases.get(b.name);
    if (!chain) {
      chain = { name: b.name, hook: b.hook, rules: [] };
      bases.set(b.name, chain);
    }
    const ctx = { family: familyOf(j), mask };
    chain.rules.push(`${nfproto(familyOf(j))} ${nftRule(j.rule, ctx, marks)}`);
  }
  if (desired.probeMarks) {
    // First in mangle_output: a probe bound to a link's interface leaves by the link's table.
    let out = bases.get('mangle_output');
    if (!out) {
      out = { name: 'mangle_output', hook: baseChain({ table: 'mangle', chain: 'OUTPUT', rule: '' }).hook, rules: [] };
      bases.set(out.name, out);
    }
    out.rules.unshift(...probeMarkRules(desired));
  }
  if (desired.resetDown) {
    // The reset or ICMP error the table sends for a failed link's connection goes back to its
    // sender by the main table: the connection's mark would send it out the dead link.
    const out = bases.get('mangle_output');
    const rule = `ct direction reply ${downMatch(mask)} return`;
    if (out) out.rules.splice(desired.probeMarks ? probeMarkRules(desired).length : 0, 0, rule);
  }
  chains.push(...bases.values());
  for (const c of desired.chains) {
    const family = familyOf(c);
    const isBalance = c.table === desired.balanceChain.table && c.name === desired.balanceChain.name;
    const rules = isBalance ? nftBalanceRules(c.rules, mask, family) : c.rules.map((r) => nftRule(r, { family, mask }, marks));
    chains.push({ name: nftChainName(c.name, family), rules });
  }
  const families = [...new Set(desired.chains.map(familyOf))];
  if (desired.chains.length > 0) {
    for (const m of marks) chains.push({ name: markChainName(m), rules: [markSet('meta mark', m, mask)] });
    for (const m of marks) chains.push({ name: ctMarkChainName(m), rules: [markSet('ct mark', m, mask)] });
    for (const f of families) for (const l of f === 6 ? ipv6Links(full.links) : full.links) chains.push({ name: balanceTargetName(l.mark, f), rules: [`counter ${markSet('meta mark', l.mark, mask)}`] });
  }
  if (desired.resetDown) chains.push(...resetDownChains(mask));
  const down: NftObject[] = desired.resetDown ? [{ kind: 'set', name: DOWN_SET, lines: ['type mark'] }] : [];
  return { objects: [...helperObjects(full.chains), ...stickySets(full.chains), ...down], chains };
}

/** DesiredState.resetDown: the set of the marks of the links the monitor has taken out. */
export const DOWN_SET = 'ML_DOWN';

/** The packets of a failed link's connections, forwarded or the router's own, are rejected. */
function resetDownChains(mask: number): NftChain[] {
  const rules = (ct: string): string[] => [`${ct} meta l4proto tcp reject with tcp reset`, `${ct} reject`];
  return [
    { name: 'reset_forward', hook: 'type filter hook forward priority mangle; policy accept;', rules: rules(downMatch(mask)) },
    // The router's own connections; not its replies (the resets and errors sent above among them).
    { name: 'reset_output', hook: 'type filter hook output priority mangle; policy accept;', rules: rules(`ct direction original ${downMatch(mask)}`) },
  ];
}

function downMatch(mask: number): string {
  return `ct mark & ${hex8(mask)} == @${DOWN_SET}`;
}

/**
 * DesiredState.probeMarks: the router's own echo requests whose first route lookup left by a
 * link's interface (a socket bound to it: `ping -I`; the kernel takes the target for on-link
 * there) get the link's mark, and the route chain routes them again through its fwmark rule.
 * Echo requests only: the router's other connections are balanced as the play says.
 */
export function probeMarkRules(desired: DesiredState): string[] {
  const mask = desired.settings.markMask;
  const v4 = desired.links.map((l) => `oifname "${l.interface}" icmp type echo-request ${markSet('meta mark', l.mark, mask)}`);
  const v6 = ipv6Links(desired.links).map((l) => `oifname "${l.interface}" icmpv6 type echo-request ${markSet('meta mark', l.mark, mask)}`);
  return [...v4, ...v6];
}

/** The balancing chain alone (weights, the link monitor): its name in the table and its rules. */
export function nftBalanceChain(desired: DesiredState, rules: readonly string[], family: Family): NftChain {
  return { name: nftChainName(desired.balanceChain.name, family), rules: nftBalanceRules(rules, desired.settings.markMask, family) };
}
