// The IPv6 side of the data-plane lab (issue 18), its pure parts: the address plan, the
// `ip -6 -batch` lines, the ISPs' ip6tables rules, radvd's config, the playbook's gateway6,
// and the parsers of r1's addresses, routes and the counters (recorded command output).
import { describe, expect, it } from 'vitest';
import {
  breakRules6,
  checkMtu6,
  clientLines6,
  commentCounters,
  defaultRoutes6,
  globalAddresses6,
  inPrefix64,
  ispRules6,
  mtuHopLines,
  renderRadvdConfig,
  routerLines6,
  serverLines6,
  upstreamLines6,
} from '../src/lab/dataplane-ipv6-plan.js';
import { ispAddress6, ispLinkLocal6, ispPrefix6, planDataplane, SERVER_ADDRESS6 } from '../src/lab/dataplane-plan.js';
import { formatDataplane, newLabDataplane } from '../src/lab/dataplane-setup.js';
import { listeningSocketsFromSs } from '../src/lab/lab-process.js';
import { renderDataplanePlaybook } from '../src/lab/lab-playbooks.js';
import { planTopology } from '../src/lab/topology.js';
import { ipv6Groups } from '../src/net/ipv6.js';

const topo = planTopology('dp', 1, 40);
const plan = planDataplane('dp', topo.routers[0], [20, 40, 60], ['dhcp', 'ptp'], true);
const v6 = plan.ipv6!;

describe('IPv6 address plan', () => {
  it('gives each static ISP its /64, global address and link-local gateway; the LAN a ULA; the server an address behind every ISP', () => {
    expect(planDataplane('dp', topo.routers[0]).ipv6).toBeUndefined();
    expect(v6.isps.map((i) => [i.k, i.link, i.routerInterface, i.bridge, i.prefix, i.ispAddress, i.gateway, i.serverPort, i.upstreamP2p, i.serverP2p, i.table])).toEqual([
      [1, 'dsl', 'wan1', 'isp1', '2001:db8:1::/64', '2001:db8:1::1', 'fe80::1:1', 'srv1', '2001:db8:100:1::1', '2001:db8:100:1::2', 101],
      [2, 'cable', 'wan2', 'isp2', '2001:db8:2::/64', '2001:db8:2::1', 'fe80::2:1', 'srv2', '2001:db8:100:2::1', '2001:db8:100:2::2', 102],
      [3, 'lte', 'wan3', 'isp3', '2001:db8:3::/64', '2001:db8:3::1', 'fe80::3:1', 'srv3', '2001:db8:100:3::1', '2001:db8:100:3::2', 103],
    ]);
    expect([v6.lanPrefix, v6.routerLanAddress, v6.clientAddress, v6.serverAddress, v6.serverCidr]).toEqual(['fd00:0:0:1::/64', 'fd00:0:0:1::1', 'fd00:0:0:1::10', '2001:db8:ff::1', '2001:db8:ff::/64']);
    expect([ispPrefix6(2), ispAddress6(2), ispLinkLocal6(2), ispLinkLocal6(2, 1), ispLinkLocal6(3, 15)]).toEqual(['2001:db8:2::/64', '2001:db8:2::1', 'fe80::2:1', 'fe80::2:2', 'fe80::3:10']);
    expect(() => ispLinkLocal6(1, -1)).toThrow(/generation/);
  });

  it('configures the ISPs, the server, r1’s LAN and the client, and nothing static on r1’s WANs', () => {
    const up = upstreamLines6(v6);
    expect(up.slice(0, 7)).toEqual([
      'link set isp1 addrgenmode none',
      'addr flush dev isp1 scope link',
      'addr add fe80::1:1/64 dev isp1 nodad',
      'addr add 2001:db8:1::1/64 dev isp1 nodad',
      'addr add 2001:db8:100:1::1/64 dev srv1 nodad',
      'route add 2001:db8:ff::/64 via 2001:db8:100:1::2 dev srv1 table 101',
      'rule add iif isp1 lookup 101 priority 101',
    ]);
    expect(up.at(-1)).toBe('route add 2001:db8:ff::/64 via 2001:db8:100:1::2 dev srv1');
    expect(up.join('\n')).not.toMatch(/isp4|ptp5/);
    expect(serverLines6(v6)).toEqual([
      'addr add 2001:db8:ff::1/128 dev lo',
      'addr add 2001:db8:100:1::2/64 dev isp1 nodad',
      'route add 2001:db8:1::/64 via 2001:db8:100:1::1 dev isp1',
      'addr add 2001:db8:100:2::2/64 dev isp2 nodad',
      'route add 2001:db8:2::/64 via 2001:db8:100:2::1 dev isp2',
      'addr add 2001:db8:100:3::2/64 dev isp3 nodad',
      'route add 2001:db8:3::/64 via 2001:db8:100:3::1 dev isp3',
    ]);
    expect(routerLines6(v6)).toEqual(['addr add fd00:0:0:1::1/64 dev lan0 nodad']);
    expect(clientLines6(v6)).toEqual(['addr add fd00:0:0:1::10/64 dev eth0 nodad', 'route add default via fd00:0:0:1::1 dev eth0']);
  });

  it('counts each ISP’s RAs, drops IPv6 sources outside its /64 (BCP38) only when asked, and breaks its IPv6 alone', () => {
    expect(ispRules6(v6, true).split('\n')).toEqual([
      '*filter',
      '-A OUTPUT -o isp1 -p ipv6-icmp -m icmp6 --icmpv6-type 134 -m comment --comment multilink-lab-ra-isp1',
      '-A FORWARD -i isp1 ! -s 2001:db8:1::/64 -m comment --comment multilink-lab-bcp38-6-isp1 -j DROP',
      '-A OUTPUT -o isp2 -p ipv6-icmp -m icmp6 --icmpv6-type 134 -m comment --comment multilink-lab-ra-isp2',
      '-A FORWARD -i isp2 ! -s 2001:db8:2::/64 -m comment --comment multilink-lab-bcp38-6-isp2 -j DROP',
      '-A OUTPUT -o isp3 -p ipv6-icmp -m icmp6 --icmpv6-type 134 -m comment --comment multilink-lab-ra-isp3',
      '-A FORWARD -i isp3 ! -s 2001:db8:3::/64 -m comment --comment multilink-lab-bcp38-6-isp3 -j DROP',
      'COMMIT',
      '',
    ]);
    expect(ispRules6(v6, false)).not.toContain('FORWARD');
    expect(breakRules6(v6.isps[2]).map((r) => r.join(' '))).toEqual([
      'FORWARD -i isp3 -m comment --comment multilink-lab-break6-isp3 -j DROP',
      'FORWARD -o isp3 -m comment --comment multilink-lab-break6-isp3 -j DROP',
    ]);
  });

  it('reads the rules’ counters from ip6tables-save -c (recorded, iptables-nft 1.8.9)', () => {
    const save = [
      '# Generated by ip6tables-save v1.8.9 (nf_tables) on Mon Dec  7 15:11:39 2026',
      '*filter',
      ':INPUT ACCEPT [0:0]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      '[0:0] -A FORWARD -i isp3 -m comment --comment multilink-lab-break6-isp3 -j DROP',
      '[2:208] -A FORWARD ! -s 2001:db8:1::/64 -i isp1 -m comment --comment multilink-lab-bcp38-6-isp1 -j DROP',
      '[0:0] -A FORWARD ! -s 2001:db8:2::/64 -i isp2 -m comment --comment multilink-lab-bcp38-6-isp2 -j DROP',
      '[3:288] -A OUTPUT -o isp1 -p ipv6-icmp -m icmp6 --icmpv6-type 134 -m comment --comment multilink-lab-ra-isp1',
      '[5:480] -A OUTPUT -o isp2 -p ipv6-icmp -m icmp6 --icmpv6-type 134 -m comment --comment "multilink-lab-ra-isp2"',
      'COMMIT',
    ].join('\n');
    expect([...commentCounters(save)]).toEqual([
      ['multilink-lab-break6-isp3', 0],
      ['multilink-lab-bcp38-6-isp1', 2],
      ['multilink-lab-bcp38-6-isp2', 0],
      ['multilink-lab-ra-isp1', 3],
      ['multilink-lab-ra-isp2', 5],
    ]);
  });

  it('writes radvd’s config: one block per ISP, its /64 for SLAAC, router lifetime 0 to say farewell, no RAs when off', () => {
    const conf = renderRadvdConfig([
      { bridge: 'isp1', prefix: '2001:db8:1::/64', state: 'on' },
      { bridge: 'isp2', prefix: '2001:db8:2::/64', state: 'farewell' },
      { bridge: 'isp3', prefix: '2001:db8:3::/64', state: 'off' },
    ]);
    const block = (bridge: string): string => conf.slice(conf.indexOf(`interface ${bridge} {`)).split('\n};')[0];
    expect(block('isp1').split('\n').map((l) => l.trim())).toEqual([
      'interface isp1 {',
      'AdvSendAdvert on;',
      'MinRtrAdvInterval 3;',
      'MaxRtrAdvInterval 4;',
      'AdvDefaultLifetime 12;',
      'prefix 2001:db8:1::/64 {',
      'AdvOnLink on;',
      'AdvAutonomous on;',
      '};',
    ]);
    expect(block('isp2')).toContain('AdvSendAdvert on;');
    expect(block('isp2')).toContain('AdvDefaultLifetime 0;');
    expect(block('isp3')).toContain('AdvSendAdvert off;');
  });

  it('puts an MTU hop on an ISP’s link to the server, never below IPv6’s minimum', () => {
    expect(mtuHopLines(v6.isps[1], 1400)).toEqual({ upstream: ['link set srv2 mtu 1400'], server: ['link set isp2 mtu 1400'] });
    expect(checkMtu6(1400)).toBeUndefined();
    expect(checkMtu6(1280)).toBeUndefined();
    expect(checkMtu6(1279)).toMatch(/1280/);
    expect(checkMtu6(9000)).toMatch(/1500/);
  });

  it('gives every ISP link gateway6: auto, and IPv6 health to the server, only with ipv6', () => {
    const health = { targets: ['198.51.100.1'], intervalS: 1, downAfter: 3, upAfter: 3, quorum: 1 };
    const pb = renderDataplanePlaybook({ method: 'random', weights: [1, 2, 3], ipv6: true, health });
    expect(pb).toContain('- { name: dsl, interface: wan1, gateway: 100.64.1.1, gateway6: auto, weight: 1 }');
    expect(pb.match(/gateway6: auto/g)).toHaveLength(3);
    expect(pb).toContain(`targets: [ 198.51.100.1, ${SERVER_ADDRESS6} ]`);
    const v4only = renderDataplanePlaybook({ method: 'random', weights: [1, 2, 3], health });
    expect(v4only).not.toContain('gateway6');
    expect(v4only).not.toContain(SERVER_ADDRESS6);
    expect(renderDataplanePlaybook({ method: 'random', weights: [1, 2, 3], ipv6: true, health: { ...health, targets: ['2620:fe::fe'] } })).not.toContain(SERVER_ADDRESS6);
  });
});

describe('the IPv6 record of a lab', () => {
  it('starts each ISP at generation 0 with RAs on, keeps radvd’s files in the data-plane folder, and prints the facts tests need', () => {
    const dp = newLabDataplane('/x/.lab', plan, [20, 40, 60]);
    const rec = dp.ipv6!;
    expect(rec.isps.map((i) => [i.k, i.gateway, i.generation, i.ra, i.routerAddress])).toEqual([
      [1, 'fe80::1:1', 0, 'on', ''],
      [2, 'fe80::2:1', 0, 'on', ''],
      [3, 'fe80::3:1', 0, 'on', ''],
    ]);
    expect([rec.radvdConfig, rec.radvdPidFile, rec.radvdLog]).toEqual(['/x/.lab/dataplane/radvd.conf', '/x/.lab/dataplane/radvd.pid', '/x/.lab/dataplane/radvd.log']);
    Object.assign(rec.isps[1], { routerAddress: '2001:db8:2:0:b45c:31ff:fe8f:3271', gateway: 'fe80::2:2', generation: 1, mtuHop: 1400 });
    rec.isps[0].ra = 'off';
    const text = formatDataplane(dp).join('\n');
    expect(text).toContain('IPv6: client fd00:0:0:1::10 in fd00:0:0:1::/64 (r1 lan0 fd00:0:0:1::1); server 2001:db8:ff::1');
    expect(text).toContain('dsl: ISP 1 advertises 2001:db8:1::/64 from fe80::1:1 (RAs off); r1 wan1 (no address yet)');
    expect(text).toContain('cable: ISP 2 advertises 2001:db8:2::/64 from fe80::2:2, MTU 1400 to the server; r1 wan2 2001:db8:2:0:b45c:31ff:fe8f:3271');
    expect(formatDataplane(newLabDataplane('/x/.lab', planDataplane('dp', topo.routers[0]), [20, 40, 60])).join('\n')).not.toContain('IPv6');
  });
});

describe('what r1 learnt, read from ip -j (recorded, iproute2 6.1)', () => {
  const addr = JSON.stringify([
    { ifindex: 3, link: 'mgmt0', ifname: 'wan1', addr_info: [{ family: 'inet6', local: '2001:db8:1:0:30e0:10ff:fe2c:af76', prefixlen: 64, scope: 'global', dynamic: true, mngtmpaddr: true, valid_life_time: 86400, preferred_life_time: 14400 }, {}] },
    { ifindex: 4, link: 'wan1', ifname: 'wan2', addr_info: [{ family: 'inet6', local: '2001:db8:2:0:b45c:31ff:fe8f:3271', prefixlen: 64, scope: 'global', tentative: true, dynamic: true, mngtmpaddr: true, valid_life_time: 86400, preferred_life_time: 14400 }, {}] },
    { ifindex: 6, link: 'mgmt0', ifname: 'lan0', addr_info: [{ family: 'inet6', local: 'fd00:0:0:1::1', prefixlen: 64, scope: 'global', nodad: true, valid_life_time: 4294967295, preferred_life_time: 4294967295 }, {}] },
  ]);
  const route =
    '[{"dst":"default","gateway":"fe80::3:1","dev":"wan3","protocol":"ra","metric":1024,"flags":[],"expires":11,"metrics":[{"hoplimit":64}],"pref":"medium"},' +
    '{"dst":"default","gateway":"fe80::1:1","dev":"wan1","protocol":"ra","metric":1024,"flags":[],"expires":11,"metrics":[{"hoplimit":64}],"pref":"medium"}]';

  it('finds the SLAAC addresses (tentative while DAD runs) and the RA default routes per device', () => {
    expect(globalAddresses6(addr)).toEqual([
      { dev: 'wan1', address: '2001:db8:1:0:30e0:10ff:fe2c:af76', prefixLen: 64, tentative: false, dadFailed: false, dynamic: true },
      { dev: 'wan2', address: '2001:db8:2:0:b45c:31ff:fe8f:3271', prefixLen: 64, tentative: true, dadFailed: false, dynamic: true },
      { dev: 'lan0', address: 'fd00:0:0:1::1', prefixLen: 64, tentative: false, dadFailed: false, dynamic: false },
    ]);
    expect(defaultRoutes6(route)).toEqual([
      { gateway: 'fe80::3:1', dev: 'wan3', protocol: 'ra' },
      { gateway: 'fe80::1:1', dev: 'wan1', protocol: 'ra' },
    ]);
    expect(globalAddresses6('')).toEqual([]);
    expect(defaultRoutes6('[]')).toEqual([]);
  });

  it('compares IPv6 addresses with a /64 group by group', () => {
    expect(ipv6Groups('2001:db8:1::1')).toEqual([0x2001, 0xdb8, 1, 0, 0, 0, 0, 1]);
    expect(ipv6Groups('::')).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(ipv6Groups('1:2:3:4:5:6:7:8:9')).toBeUndefined();
    expect(ipv6Groups('2001:db8::1::2')).toBeUndefined();
    expect(ipv6Groups('198.51.100.1')).toBeUndefined();
    expect(inPrefix64('2001:db8:1:0:30e0:10ff:fe2c:af76', '2001:db8:1::/64')).toBe(true);
    expect(inPrefix64('2001:0DB8:0001::5', '2001:db8:1::/64')).toBe(true);
    expect(inPrefix64('2001:db8:2:0:b45c:31ff:fe8f:3271', '2001:db8:1::/64')).toBe(false);
    expect(inPrefix64('2001:db8:1::5', '2001:db8:1::/48')).toBe(false);
  });

  it('reads listening sockets of both families from ss -Hltn (recorded)', () => {
    const ss = [
      'LISTEN 0      4096       198.51.100.1:5204 0.0.0.0:*',
      'LISTEN 0      4096   [2001:db8:ff::1]:5204    [::]:*',
      'LISTEN 0      1024               *:80       *:*',
      'LISTEN 0      4096   127.0.0.53%lo:53 0.0.0.0:*',
    ].join('\n');
    expect(listeningSocketsFromSs(ss)).toEqual([
      { address: '198.51.100.1', port: 5204 },
      { address: '2001:db8:ff::1', port: 5204 },
      { address: '*', port: 80 },
      { address: '127.0.0.53', port: 53 },
    ]);
  });
});
