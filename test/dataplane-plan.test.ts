// The data-plane lab's pure parts: plan, ip/tc lines, vsftpd config, playbook, and the
// parsers of what the benchmark and tests measure (recorded command output).
import { describe, expect, it } from 'vitest';
import { bcp38Sysctls, reversePathDrops } from '../src/lab/isp-filter.js';
import { dhcpGateway, dhcpSubnet, renderUdhcpdConfig } from '../src/lab/dhcp-uplink.js';
import {
  checkRates,
  clientLines,
  dataplaneLinkLines,
  extraIspInterfaces,
  routerExtraLines,
  planDataplane,
  renderVsftpdConfig,
  serverLines,
  shapingLines,
  tbfArgs,
  upstreamDataplaneLines,
} from '../src/lab/dataplane-plan.js';
import { renderDataplanePlaybook, weightsForRates } from '../src/lab/lab-playbooks.js';
import { balanceCountersFromSave, counterDelta, iperfSummaryFromJson, linkBytesFromJson, sharesPercent } from '../src/lab/dataplane-measure.js';
import { labNamespaces, planTopology } from '../src/lab/topology.js';

const topo = planTopology('dp', 1, 40);
const plan = planDataplane('dp', topo.routers[0], [20, 40, 60]);

describe('data-plane plan', () => {
  it('names namespaces and ISP paths from the prefix and router r1', () => {
    expect([plan.clientNamespace, plan.serverNamespace]).toEqual(['dp-cl', 'dp-srv']);
    expect(plan.isps.map((i) => [i.link, i.routerPort, i.serverPort, i.upstreamP2p, i.serverP2p, i.table, i.rateMbit])).toEqual([
      ['dsl', 'r1-w1', 'srv1', '100.64.101.1', '100.64.101.2', 101, 20],
      ['cable', 'r1-w2', 'srv2', '100.64.102.1', '100.64.102.2', 102, 40],
      ['lte', 'r1-w3', 'srv3', '100.64.103.1', '100.64.103.2', 103, 60],
    ]);
    expect(labNamespaces(topo)).toEqual(['dp-sw', 'dp-up', 'dp-lan', 'dp-r1']);
    expect(labNamespaces({ ...topo, dataplane: { clientNamespace: 'dp-cl', serverNamespace: 'dp-srv' } })).toEqual(['dp-sw', 'dp-up', 'dp-lan', 'dp-cl', 'dp-srv', 'dp-r1']);
  });

  it('routes: client via r1, each ISP to the server on its own path, the server back over ISP K', () => {
    expect(clientLines(plan)).toContain('route add default via 192.0.2.1 dev eth0');
    expect(upstreamDataplaneLines(plan)).toEqual(expect.arrayContaining([
      'route add 198.51.100.0/24 via 100.64.102.2 dev srv2 table 102',
      'rule add iif isp2 lookup 102 priority 102',
    ]));
    expect(serverLines(plan)).toEqual(expect.arrayContaining(['addr add 198.51.100.1/32 dev lo', 'route add 100.64.3.0/24 via 100.64.103.1 dev isp3']));
  });

  it('shapes both directions of every ISP with tbf', () => {
    expect(shapingLines(plan)).toHaveLength(6);
    expect(tbfArgs('r1-w1', 20).join(' ')).toBe('qdisc replace dev r1-w1 root tbf rate 20mbit burst 32768 latency 100ms');
    expect(tbfArgs('r1-w3', 1000).join(' ')).toBe('qdisc replace dev r1-w3 root tbf rate 1000mbit burst 1250000 latency 100ms');
  });

  it('checks rates and derives weights', () => {
    expect(checkRates([20, 40, 60])).toBeUndefined();
    expect(checkRates([20, 40])).toMatch(/3 whole numbers/);
    expect(checkRates([20, 0.5, 60])).toMatch(/whole numbers/);
    expect(weightsForRates([20, 40, 60])).toEqual([1, 2, 3]);
    expect(weightsForRates([10, 10, 25])).toEqual([2, 2, 5]);
  });

  it('renders vsftpd (foreground, anonymous read-only, passive range) and the playbook', () => {
    const conf = renderVsftpdConfig({ root: '/l/ftp', emptyDir: '/l/empty', logFile: '/l/v.log' });
    for (const line of ['background=NO', 'listen_address=198.51.100.1', 'anon_root=/l/ftp', 'write_enable=NO', 'pasv_min_port=30000']) expect(conf).toContain(`\n${line}\n`);
    const pb = renderDataplanePlaybook({ method: 'nth', weights: [1, 2, 3] });
    expect(pb).toContain('    method: nth\n    traffic: [ forwarded ]\n    lan: [ lan0 ]\n');
    expect(pb).toContain('- { name: lte, interface: wan3, gateway: 100.64.3.1, weight: 3 }');
    expect(pb).not.toContain('tier');
  });
});

describe('data-plane measurements', () => {
  it('counts ML_BALANCE packets per mark (nth: several rules per link)', () => {
    const save = [
      '*mangle',
      ':ML_BALANCE - [0:0]',
      '[3:180] -A ML_BALANCE -m mark --mark 0x0/0xff00 -m statistic --mode nth --every 3 --packet 2 -j MARK --set-xmark 0x100/0xff00',
      '[3:180] -A ML_BALANCE -m mark --mark 0x0/0xff00 -m statistic --mode nth --every 2 --packet 1 -j MARK --set-xmark 0x200/0xff00',
      '[4:240] -A ML_BALANCE -m mark --mark 0x0/0xff00 -j MARK --set-xmark 0x200/0xff00',
      '[10:600] -A ML_NEW -j ML_BALANCE',
      '[9:540] -A ML_EXCEPTIONS -d 10.0.0.0/8 -j MARK --set-xmark 0x300/0xff00',
      'COMMIT',
    ].join('\n');
    const counts = balanceCountersFromSave(save);
    expect([...counts]).toEqual([[0x100, 3], [0x200, 7]]);
    expect([...counterDelta(new Map([[0x100, 1]]), counts)]).toEqual([[0x100, 2], [0x200, 7]]);
  });

  it('reads interface bytes, iperf3 JSON, and shares', () => {
    const ipj = JSON.stringify([{ ifname: 'wan1', stats64: { rx: { bytes: 100 }, tx: { bytes: 7 } } }, { ifname: 'lo' }]);
    expect([...linkBytesFromJson(ipj)]).toEqual([['wan1', { rxBytes: 100, txBytes: 7 }]]);
    const iperf = JSON.stringify({ start: { test_start: { num_streams: 4 } }, end: { sum_received: { bits_per_second: 1.1e8, bytes: 1.4e8, seconds: 10 } } });
    expect(iperfSummaryFromJson(iperf)).toEqual({ receivedBps: 1.1e8, receivedBytes: 1.4e8, seconds: 10, streams: 4 });
    expect(() => iperfSummaryFromJson(JSON.stringify({ error: 'unable to connect' }))).toThrow(/unable to connect/);
    expect(sharesPercent([1, 3])).toEqual([25, 75]);
  });
});

describe('issue 9 data-plane additions', () => {
  const full = planDataplane('dp', topo.routers[0], [20, 40, 60], ['dhcp', 'ptp']);

  it('plans the DHCP and point-to-point uplinks after the three ISPs, each with its own path to the server', () => {
    expect(full.isps.map((i) => [i.k, i.kind, i.link, i.routerInterface, i.bridge, i.table])).toEqual([
      [1, 'static', 'dsl', 'wan1', 'isp1', 101],
      [2, 'static', 'cable', 'wan2', 'isp2', 102],
      [3, 'static', 'lte', 'wan3', 'isp3', 103],
      [4, 'dhcp', 'wifi', 'wan4', 'isp4', 104],
      [5, 'ptp', 'ptp', 'wan5', 'ptp5', 105],
    ]);
    expect(planDataplane('dp', topo.routers[0], [20, 40, 60], ['ptp']).isps.map((i) => i.link)).toEqual(['dsl', 'cable', 'lte', 'ptp']);
    expect(dataplaneLinkLines(full)).toEqual(
      expect.arrayContaining([
        'link add wan4 netns dp-r1 type veth peer name r1-w4 netns dp-up',
        'link add wan5 netns dp-r1 address 02:6d:6c:00:00:05 type veth peer name ptp5 netns dp-up address 02:6d:6c:00:00:05',
      ]),
    );
    expect(routerExtraLines(full)).toEqual(['link set wan4 up', 'addr add 100.64.5.11 peer 100.64.5.1 dev wan5', 'link set wan5 arp off', 'link set wan5 up']);
    expect(upstreamDataplaneLines(full)).toEqual(
      expect.arrayContaining(['addr add 100.64.4.1/24 dev isp4', 'link set r1-w4 master isp4', 'addr add 100.64.5.1 peer 100.64.5.11 dev ptp5', 'rule add iif ptp5 lookup 105 priority 105']),
    );
    expect(extraIspInterfaces(full)).toEqual(['isp4', 'ptp5']);
  });

  it('routes the LAN prefix over ISP 1 both ways, and each ISP’s subnet back to the server', () => {
    expect(upstreamDataplaneLines(full)).toContain('route add 192.0.2.0/24 via 100.64.1.11 dev isp1');
    expect(serverLines(full)).toEqual(
      expect.arrayContaining(['route add 192.0.2.0/24 via 100.64.101.1 dev isp1', 'route add 100.64.4.0/24 via 100.64.104.1 dev isp4', 'route add 100.64.5.11 via 100.64.105.1 dev isp5']),
    );
  });

  it('makes the ISPs strict with rp_filter=1 where they face routers, all=0 so the others stay as they are', () => {
    expect(bcp38Sysctls(['isp1', 'ptp5'])).toEqual(['net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.isp1.rp_filter=1', 'net.ipv4.conf.ptp5.rp_filter=1']);
    const netstat = 'TcpExt: SyncookiesSent IPReversePathFilter TW\nTcpExt: 0 17 3\nIpExt: InNoRoutes\nIpExt: 0\n';
    expect(reversePathDrops(netstat)).toBe(17);
    expect(reversePathDrops('')).toBe(0);
  });

  it('writes udhcpd’s configuration for a subnet and moves to the next one on renewal', () => {
    expect(dhcpSubnet(0)).toBe('100.64.4.0/24');
    expect(dhcpSubnet(1)).toBe('100.64.14.0/24');
    expect(dhcpGateway('100.64.14.0/24')).toBe('100.64.14.1');
    expect(() => dhcpGateway('10.0.0.0/24')).toThrow(/100\.64\.X\.0\/24/);
    const conf = renderUdhcpdConfig({ interface: 'isp4', subnet: '100.64.14.0/24', leaseFile: '/l/leases', pidFile: '/l/pid', leaseS: 600 });
    for (const line of ['interface isp4', 'start 100.64.14.100', 'end 100.64.14.199', 'option router 100.64.14.1', 'option subnet 255.255.255.0', 'lease_file /l/leases']) {
      expect(conf.split('\n')).toContain(line);
    }
  });
});
