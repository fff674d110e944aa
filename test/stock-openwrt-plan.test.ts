// Issue 19 §2, without a router: what the plan makes of a stock OpenWrt image's facts (no
// iptables, BusyBox ip without oif rules, no conntrack tool), and the facts' own parser.
import { describe, expect, it } from 'vitest';
import type { DesiredState } from '../src/model/desired.js';
import type { HostFacts } from '../src/model/facts.js';
import { parseRouterTools } from '../src/facts/router.js';
import { parseFlavour } from '../src/facts/gather.js';
import { nftTable } from '../src/compile/nft-table.js';
import { chooseBackend, withBackend } from '../src/plan/backend.js';
import { planHost } from '../src/plan/plan.js';
import { pristineFacts, twoLinkDesired } from './helpers/desired.js';

function desired(extra: Partial<DesiredState> = {}): DesiredState {
  const d = twoLinkDesired();
  return {
    ...d,
    rules: [...d.rules, { kind: 'oif', priority: 1002, dev: 'wan1', table: 101 }, { kind: 'oif', priority: 1003, dev: 'wan2', table: 102 }],
    jumps: [...d.jumps, { table: 'mangle', chain: 'OUTPUT', rule: '-j ML_MARK' }],
    monitor: { intervalMs: 1000, links: d.links.map((l) => ({ name: l.name, index: l.index, interface: l.interface, mark: l.mark, table: l.table, gateway: 'fixed' as const })), balance: { '3': d.chains[1].rules } },
    ...extra,
  };
}

function stock(tools: Partial<HostFacts['tools']> = {}, nft: HostFacts['nft'] = { state: 'ok', table: null }): HostFacts {
  const f = pristineFacts();
  return { ...f, nft, tools: { ...f.tools, ping: 'busybox', conntrack: false, iptables: false, ipOif: false, ...tools } };
}

describe('a stock OpenWrt router in the plan', () => {
  it('reads the tools: iptables and an ip with oif rules, or not; a gather without iptables names flavour none', () => {
    expect(parseRouterTools('ping busybox\nconntrack no\niptables no\nip-oif no\nstate-fs overlay\n')).toEqual({ ping: 'busybox', conntrack: false, iptables: false, ipOif: false, stateFs: 'overlay' });
    expect(parseRouterTools('ping iputils\nconntrack yes\niptables yes\nip-oif yes\n')).toMatchObject({ iptables: true, ipOif: true });
    expect(parseFlavour('none')).toBe('nft');
  });

  it('auto chooses nft, drops the oif rules, marks the probes in mangle_output and ends failed links by ML_DOWN', () => {
    const plan = planHost(desired(), stock());
    expect(plan.action).toBe('change');
    expect([plan.firewall, plan.probeMarks, plan.resetDown]).toEqual(['nft', true, true]);
    expect(plan.ops?.rulesAdd.map((r) => r.kind)).not.toContain('oif');
    expect(plan.diagnostics.map((d) => d.summary).join('\n')).toMatch(/resets its TCP connections and refuses its other flows/);
    const table = nftTable(withBackend(desired(), 'nft', plan));
    const out = table.chains.find((c) => c.name === 'mangle_output');
    expect(out?.hook).toMatch(/^type route hook output/);
    expect(out?.rules.slice(0, 3)).toEqual([
      'oifname "wan1" icmp type echo-request meta mark set meta mark & 0xffff01ff | 0x00000100',
      'oifname "wan2" icmp type echo-request meta mark set meta mark & 0xffff02ff | 0x00000200',
      'ct direction reply ct mark & 0x0000ff00 == @ML_DOWN return',
    ]);
    expect(table.objects).toContainEqual({ kind: 'set', name: 'ML_DOWN', lines: ['type mark'] });
    expect(table.chains.find((c) => c.name === 'reset_forward')?.rules).toEqual([
      'ct mark & 0x0000ff00 == @ML_DOWN meta l4proto tcp reject with tcp reset',
      'ct mark & 0x0000ff00 == @ML_DOWN reject',
    ]);
  });

  it('with iproute2 and conntrack, nft keeps the oif rules and makes no stand-ins', () => {
    const plan = planHost(desired(), stock({ ipOif: true, conntrack: true }));
    expect([plan.firewall, plan.probeMarks, plan.resetDown]).toEqual(['nft', undefined, undefined]);
    expect(plan.ops?.rulesAdd.filter((r) => r.kind === 'oif')).toHaveLength(2);
    expect(nftTable(withBackend(desired(), 'nft', plan)).chains.some((c) => c.name.startsWith('reset_'))).toBe(false);
  });

  it('refuses before any change, with the package line, what cannot run there', () => {
    const refused = (d: DesiredState, f: HostFacts): string => {
      const plan = planHost(d, f);
      expect(plan.action).toBe('refused');
      expect(plan.ops).toBeUndefined();
      return plan.reason ?? '';
    };
    const ipt = desired({ settings: { ...twoLinkDesired().settings, firewall: 'iptables' } });
    expect(refused(ipt, stock())).toMatch(/multilink_firewall: iptables, and this router has no iptables of any kind \(.*opkg install iptables-nft ip6tables-nft \(apk add iptables-nft ip6tables-nft\)\)/);
    expect(refused(desired({ method: 'adaptive' }), stock())).toMatch(/method adaptive learns its weights on the iptables backend only, and this router has no iptables.*opkg install iptables-nft.*or choose method random, nth or sticky/);
    expect(refused(desired(), stock({}, { state: 'missing', table: null }))).toMatch(/neither a working nft .* nor iptables: install nft \(.*opkg install nftables-json \(apk add nftables-json\)\)/);
    // iptables there, but BusyBox ip: the iptables backend needs oif rules.
    expect(refused(ipt, stock({ iptables: true }))).toMatch(/ip \(BusyBox\) makes no oif rules.*opkg install ip-full \(apk add ip-full\)/);
  });

  it('facts recorded before these fields mean a router with iptables and iproute2', () => {
    const f = pristineFacts();
    expect(chooseBackend(desired(), { ...f, nft: { state: 'ok', table: null } })).toMatchObject({ backend: 'nft', why: 'auto: the router has a working nft' });
    expect(chooseBackend(desired(), f).backend).toBe('iptables');
  });
});
