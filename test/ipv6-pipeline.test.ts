// IPv6 through the pure stages (issue 18): addresses as ip6tables and iproute2 print them,
// gateway6 and IPv6 exceptions at file:line:column, the chains, rules, routes and sysctls of
// each family, IPv6 route text as iproute2 and BusyBox print it, and the planner per family.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileHost } from '../src/compile/desired-state.js';
import { parseIpRoutes } from '../src/facts/ip-route.js';
import { freshFacts } from '../src/facts/fresh.js';
import { canonicalIPv6, formatCidr6, hasHostBits6, parseCidr6 } from '../src/net/ipv6.js';
import { planHost } from '../src/plan/plan.js';
import { renderPlan } from '../src/render/ops.js';
import { monitorScript } from '../src/render/monitor.js';
import { cli } from './helpers/cli.js';
import { convergedFactsFor } from './helpers/converged.js';
import { exception, hostConfig, link } from './fixtures/render/host-config.js';

describe('IPv6 text as the kernel tools print it', () => {
  it.each([
    ['2001:DB8:0:0::1', '2001:db8::1'],
    ['fe80:0:0:0:0:0:0:1', 'fe80::1'],
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:1:0:1:1:1:1', '2001:db8:1:0:1:1:1:1'],
    ['::', '::'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
  ])('%s is %s', (text, want) => expect(canonicalIPv6(text)).toBe(want));

  it.each(['2001:db8::1::2', '1:2:3:4:5:6:7:8:9', '2001:db8:g::1', '198.51.100.1', 'fe80::1%wan1', ':'])('%s is not an address', (text) => expect(canonicalIPv6(text)).toBeUndefined());

  it('prefixes: host bits, network text', () => {
    expect(formatCidr6(parseCidr6('2001:DB8:FF::/48')!)).toBe('2001:db8:ff::/48');
    expect(hasHostBits6(parseCidr6('2001:db8::1/64')!)).toBe(true);
    expect(hasHostBits6(parseCidr6('2001:db8:8000::/33')!)).toBe(false);
    expect(formatCidr6(parseCidr6('2001:db8::5')!)).toBe('2001:db8::5/128');
  });

  it('IPv6 routes drop the defaults iproute2 and BusyBox print, so both read the same', () => {
    const iproute2 = parseIpRoutes('default via fe80::1 dev wan1 metric 1024 pref medium\ndefault dev wan2 metric 1024 pref medium linkdown', 6);
    const busybox = parseIpRoutes('default via fe80::1 dev wan1  metric 1024 \ndefault dev wan2  metric 1024 ', 6);
    expect(iproute2.map((r) => r.text)).toEqual(['default via fe80::1 dev wan1', 'default dev wan2']);
    expect(busybox).toEqual(iproute2);
    expect(parseIpRoutes('default via fe80::5 dev wan3 proto ra metric 1024 expires 1798sec pref medium', 6)[0]).toEqual({ text: 'default via fe80::5 dev wan3 proto ra', dst: 'default', via: 'fe80::5', dev: 'wan3' });
  });
});

describe('gateway6 and IPv6 exceptions in the playbook', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-v6-load-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'inv.yaml'), 'all:\n  vars: { multilink_playbooks: [pb.yaml] }\n  hosts:\n    r1: { ansible_host: 192.0.2.1 }\n');

  it('refuses a gateway6 that is not IPv6, an IPv6 prefix with host bits, and an IPv6 exception via a link without IPv6', async () => {
    writeFileSync(
      join(dir, 'pb.yaml'),
      [
        '- hosts: all',
        '  balance: { lan: [lan0] }',
        '  links:',
        '    - { name: dsl, interface: wan1, gateway: 100.64.1.1, gateway6: 100.64.1.1 }',
        '    - { name: cable, interface: wan2, gateway: 100.64.2.1, gateway6: "ff02::1" }',
        '    - { name: lte, interface: wan3, gateway: 100.64.3.1 }',
        '  exceptions:',
        '    - { destination: "2001:db8::1/64", via: main }',
        '    - { destination: "2001:db8:ff::/48", via: lte }',
        '',
      ].join('\n'),
    );
    const r = await cli('render', join(dir, 'inv.yaml'), '--host', 'r1');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("pb.yaml:4:68: error: gateway6: expected an IPv6 address like fe80::1 or 2001:db8:1::1, 'auto' (learnt from router advertisements, DHCPv6 or PPP) or 'none' (point-to-point), got '100.64.1.1'");
    expect(r.stderr).toContain('pb.yaml:5:70: error: gateway6: expected an IPv6 address');
    expect(r.stderr).toContain("pb.yaml:8:22: error: destination: expected a prefix with its host bits zero (2001:db8::/64, not 2001:db8::1/64), got '2001:db8::1/64'");
    expect(r.stderr).toContain('pb.yaml:9:47: error: an IPv6 destination via lte, which carries no IPv6: give link lte a gateway6, or send it via main');
  });
});

describe('compile and plan per family', () => {
  const cfg = hostConfig({
    links: [link('dsl', 1, 1, { gateway6: 'auto' }), link('cable', 2, 2, { gateway6: 'fe80::1', masquerade6: false }), link('lte', 3, 3)],
    exceptions: [
      exception({ destination: '2001:db8:ff::/48', via: 'cable' }),
      exception({ destination: '198.51.100.0/24', via: 'main' }),
      exception({ protocol: 'tcp', ports: [22], via: 'lte' }),
    ],
    method: 'sticky',
  });
  const d = compileHost(cfg);
  const v6 = (name: string) => d.chains.find((c) => c.family === 6 && c.name === name)?.rules;
  const v4 = (name: string) => d.chains.find((c) => c.family === undefined && c.name === name)?.rules;

  it('IPv6 chains carry only the links with a gateway6, with their own marks', () => {
    expect(v6('ML_ACCT')).toEqual(['-o wan1', '-o wan2']);
    expect(v6('ML_PRE')!.filter((r) => r.startsWith('-i wan'))).toEqual(['-i wan1 -m conntrack --ctstate NEW -j MARK --set-xmark 0x100/0xff00', '-i wan2 -m conntrack --ctstate NEW -j MARK --set-xmark 0x200/0xff00']);
    expect(v6('ML_BALANCE')!.join('\n')).not.toContain('0x300/0xff00');
    expect(v4('ML_BALANCE')!.join('\n')).toContain('0x300/0xff00');
  });

  it('ML_NEW per family: IPv6 never marks local, multicast, link-local or DHCPv6; each exception in its family; one via a link without IPv6 stays IPv4', () => {
    expect(v6('ML_NEW')).toEqual([
      '-m addrtype --dst-type LOCAL,MULTICAST -j RETURN',
      '-d fe80::/10 -m mark --mark 0x0/0xff00 -j RETURN',
      '-p udp -m mark --mark 0x0/0xff00 -m udp --sport 546 --dport 547 -j RETURN',
      '-d 2001:db8:ff::/48 -m mark --mark 0x0/0xff00 -j MARK --set-xmark 0x200/0xff00',
      '-m mark --mark 0x0/0xff00 -j ML_BALANCE',
    ]);
    expect(v4('ML_NEW')).toEqual([
      '-m addrtype --dst-type LOCAL,BROADCAST,MULTICAST -j RETURN',
      '-p udp -m mark --mark 0x0/0xff00 -m udp --sport 68 --dport 67 -j RETURN',
      '-d 198.51.100.0/24 -m mark --mark 0x0/0xff00 -j RETURN',
      '-p tcp -m mark --mark 0x0/0xff00 -m tcp --dport 22 -j MARK --set-xmark 0x300/0xff00',
      '-m mark --mark 0x0/0xff00 -j ML_BALANCE',
    ]);
  });

  it('sticky IPv6 remembers /64 sources in lists of its own; NAT66 only where masquerade6', () => {
    expect(v6('ML_BALANCE')![0]).toBe('-m mark --mark 0x0/0xff00 -m recent --rcheck --seconds 3600 --name ML_6S1 --mask ffff:ffff:ffff:ffff:: --rsource -j MARK --set-xmark 0x100/0xff00');
    expect(v4('ML_BALANCE')![0]).toContain('--name ML_S1 --mask 255.255.255.255');
    expect(v6('ML_MASQ')).toEqual(['-m mark --mark 0xff00/0xff00 -j RETURN', '-o wan1 -j MASQUERADE']);
  });

  it('ip -6 rules at the IPv4 rules’ priorities, IPv6 routes, accept_ra before forwarding', () => {
    expect(d.rules.filter((r) => r.family === 6).map((r) => r.priority)).toEqual([999, 1000, 1001, 1003, 1004]);
    expect(d.routes.filter((r) => r.family === 6)).toEqual([
      { table: 101, family: 6, dst: 'default', dev: 'wan1', learned: true },
      { table: 102, family: 6, dst: 'default', dev: 'wan2', via: 'fe80::1' },
    ]);
    expect(d.sysctls.slice(-2)).toEqual([
      { key: 'net/ipv6/conf/wan1/accept_ra', value: '2' },
      { key: 'net/ipv6/conf/all/forwarding', value: '1' },
    ]);
    expect(d.monitor?.links.map((l) => l.gateway6)).toEqual(['auto', 'fixed', undefined]);
    expect(Object.keys(d.monitor?.balance6 ?? {})).toEqual(['0', '1', '2', '3']);
  });

  it('a first deploy sends ip6tables-restore and ip -6 commands; once applied, nothing to do', () => {
    const plan = planHost(d, freshFacts(d));
    const r = renderPlan(plan.ops!, d);
    expect(r.ip6tables).toContain('-A ML_NEW -d 2001:db8:ff::/48 -m mark --mark 0x0/0xff00 -j MARK --set-xmark 0x200/0xff00');
    expect(r.iptables).not.toContain('2001:db8');
    expect(r.rules.map((a) => a.description)).toContain('ip -6 rule add priority 1000 fwmark 0x100/0xff00 lookup 101');
    expect(r.routes.map((a) => a.description)).toContain('ip -6 route replace default via fe80::1 dev wan2 table 102');
    expect(plan.ops!.owned.ipv6).toBe(true);
    const converged = convergedFactsFor(d);
    converged.v6!.mainDefaults = { wan1: 'via fe80::9' };
    converged.v6!.routes[101] = [{ text: 'default via fe80::9 dev wan1', dst: 'default', via: 'fe80::9', dev: 'wan1' }];
    converged.monitor = { script: monitorScript(d), running: true, pid: 42, links: [] };
    const again = planHost(d, converged);
    expect(again.changes).toEqual([]);
    expect(again.action).toBe('noop');
  });

  it('a router multilink gave IPv6 before, now IPv4 only: its IPv6 objects are removed, its IPv4 ones stay', () => {
    const before = convergedFactsFor(d);
    const ipv4Only = compileHost(hostConfig({ links: [link('dsl', 1, 1), link('cable', 2, 2), link('lte', 3, 3)], method: 'sticky' }));
    const plan = planHost(ipv4Only, before);
    expect(plan.action).toBe('change');
    const r = renderPlan(plan.ops!, ipv4Only);
    expect(r.ip6tables).toContain('-X ML_BALANCE');
    expect(plan.ops!.rulesDelete.filter((x) => x.family === 6).map((x) => x.priority)).toEqual([999, 1000, 1001, 1003, 1004]);
    expect(plan.ops!.routesFlush6).toEqual([102]);
    expect(plan.ops!.owned.ipv6).toBeUndefined();
  });
});
