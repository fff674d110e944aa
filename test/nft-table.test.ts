// The nft backend's table: every method, exceptions, helpers, masquerade and both families,
// loaded into a real nft in a scratch namespace and listed back: the listing must be the
// desired table line for line (desired and live compare as strings, as with iptables-save).
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileHost } from '../src/compile/desired-state.js';
import { cascadeWeights, nftBalanceRules } from '../src/compile/nft-balance.js';
import { nftRule } from '../src/compile/nft-rule.js';
import { nftTable } from '../src/compile/nft-table.js';
import { parseNftTable } from '../src/facts/nft-list.js';
import { nftReplaceScript, nftTableText } from '../src/render/nft.js';
import { exception, hostConfig, link, threeLinkConfig, METHODS } from './fixtures/render/host-config.js';
import { netnsSupport, ScratchNetns } from './helpers/netns.js';
import type { HostConfig } from '../src/model/config.js';

function dualStack(method: HostConfig['play']['method']): HostConfig {
  return hostConfig({
    method,
    links: [link('dsl', 1, 1, { gateway6: '2001:db8:1::1' }), link('cable', 2, 2, { gateway6: 'auto', masquerade: false }), link('lte', 3, 3)],
    exceptions: [exception({ destination: '2001:db8:99::/48', via: 'cable' }), exception({ protocol: 'udp', ports: [500, 4500], via: 'dsl' })],
    helpers: ['ftp'],
  });
}

/** Exceptions by source prefix and LAN interface, both families, host addresses included (nft merges adjacent payload matches). */
function bySource(method: HostConfig['play']['method']): HostConfig {
  return hostConfig({
    method,
    lan: ['lan0', 'guest'],
    links: [link('dsl', 1, 1, { gateway6: '2001:db8:1::1' }), link('cable', 2, 2), link('lte', 3, 3, { gateway6: 'auto' })],
    exceptions: [
      exception({ in: ['guest'], via: 'lte' }),
      exception({ source: ['192.0.2.0/25', '2001:db8:5::/48'], in: ['lan0', 'guest'], protocol: 'udp', ports: [5060, 5061], via: 'dsl' }),
      exception({ source: ['198.51.100.7/32'], destination: '203.0.113.5/32', protocol: 'tcp', via: 'main' }),
      exception({ source: ['2001:db8:6::1/128'], destination: '2001:db8:99::/48', via: 'lte' }),
      exception({ source: ['192.0.2.128/25'], protocol: 'tcp', via: 'cable' }),
    ],
  });
}

const CONFIGS: [string, HostConfig][] = [
  ...METHODS.map((m): [string, HostConfig] => [`three links, ${m}`, threeLinkConfig(m)]),
  ...METHODS.map((m): [string, HostConfig] => [`dual stack, ${m}`, dualStack(m)]),
  ['exceptions by source and LAN, sticky', bySource('sticky')],
  ['forwarded only, one link', hostConfig({ traffic: ['forwarded'], links: [link('dsl', 1, 1, { inbound: false })] })],
];

describe('nft rules from the iptables vocabulary', () => {
  const ctx = { family: 4 as const, mask: 0xff00 };
  it.each([
    ['-m mark ! --mark 0x0/0xff00 -j RETURN', 'meta mark & 0x0000ff00 != 0x00000000 return'],
    ['-i wan1 -m conntrack --ctstate NEW -j MARK --set-xmark 0x100/0xff00', 'iifname "wan1" ct state new meta mark set meta mark & 0xffff01ff | 0x00000100'],
    ['-p tcp -m conntrack --ctstate NEW -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN -j MARK --set-xmark 0xff00/0xff00', 'ct state new tcp flags != syn / fin,syn,rst,ack meta mark set meta mark | 0x0000ff00'],
    ['-d 203.0.113.5/32 -p tcp -m mark --mark 0x0/0xff00 -j MARK --set-xmark 0x200/0xff00', 'ip daddr 203.0.113.5 meta l4proto tcp meta mark & 0x0000ff00 == 0x00000000 meta mark set meta mark & 0xffff02ff | 0x00000200'],
    ['-p udp -m mark --mark 0x0/0xff00 -m udp --sport 68 --dport 67 -j RETURN', 'meta mark & 0x0000ff00 == 0x00000000 udp sport 68 udp dport 67 return'],
    ['-o wan1', 'oifname "wan1" counter'],
    ['-s 192.0.2.0/25 -d 203.0.113.5/32 -i guest -p udp -m mark --mark 0x0/0xff00 -m udp --dport 5060 -j RETURN', 'ip saddr 192.0.2.0/25 ip daddr 203.0.113.5 iifname "guest" meta mark & 0x0000ff00 == 0x00000000 udp dport 5060 return'],
  ])('%s', (rule, nft) => {
    expect(nftRule(rule, ctx, [0x100, 0x200, 0xff00])).toBe(nft);
  });

  it('refuses a rule outside the vocabulary instead of dropping part of it', () => {
    expect(() => nftRule('-m string --string x -j RETURN', ctx, [])).toThrow(/no nft form/);
    expect(() => nftRule('-j LOG', ctx, [])).toThrow(/no nft form/);
  });

  it('turns a random cascade into exact whole weights, and an nth cycle into the same slots', () => {
    expect(cascadeWeights([1 / 6, 0.4, undefined])).toEqual([1, 2, 3]);
    expect(cascadeWeights([0.16666666651, 0.39999999991, undefined])).toEqual([1, 2, 3]);
    const d = compileHost(threeLinkConfig('random'));
    const rules = d.chains.find((c) => c.name === 'ML_BALANCE' && !c.family)!.rules;
    expect(nftBalanceRules(rules, 0xff00, 4)).toEqual(['meta mark & 0x0000ff00 == 0x00000000 numgen random mod 6 vmap { 0 : jump ML_BAL_100, 1-2 : jump ML_BAL_200, 3-5 : jump ML_BAL_300 }']);
    const nth = compileHost(threeLinkConfig('nth')).chains.find((c) => c.name === 'ML_BALANCE' && !c.family)!.rules;
    const [line] = nftBalanceRules(nth, 0xff00, 4);
    expect(line).toMatch(/^meta mark & 0x0000ff00 == 0x00000000 numgen inc mod 6 vmap \{ /);
    // smooth weighted round robin over 1:2:3: every link its exact share of the 6 slots
    const slots = [...line.matchAll(/(\d+)(?:-(\d+))? : jump ML_BAL_(\d)00/g)].map((m) => ({ n: Number(m[2] ?? m[1]) - Number(m[1]) + 1, link: m[3] }));
    const per = (l: string): number => slots.filter((s) => s.link === l).reduce((a, s) => a + s.n, 0);
    expect([per('1'), per('2'), per('3')]).toEqual([1, 2, 3]);
  });
});

const support = netnsSupport();
const nft = spawnSync('sh', ['-c', 'command -v nft'], { encoding: 'utf8' }).status === 0;
if (!support.ok || !nft) console.log(`skipping the nft listing tests: ${support.reason ?? 'nft is not installed (apt-get install nftables)'}`);

describe.skipIf(!support.ok || !nft)('the table as nft lists it back', () => {
  let ns: ScratchNetns;
  beforeAll(() => {
    ns = new ScratchNetns();
  });
  afterAll(() => ns?.delete());

  it.each(CONFIGS)('%s', (_name, cfg) => {
    const table = nftTable(compileHost(cfg));
    const load = ns.sh(`nft -f - <<'ML_EOF'\n${nftReplaceScript(table)}ML_EOF\n`);
    expect(load.stderr).toBe('');
    expect(load.code).toBe(0);
    const listed = ns.sh('nft -s -t list table inet multilink');
    expect(listed.code).toBe(0);
    expect(parseNftTable(listed.stdout)).toEqual(table);
    expect(listed.stdout).toBe(nftTableText(table));
  });
});
