// The lab's pure parts: names that fit the kernel, addresses, ip batches, generated files,
// the parsers of host state, and that the shipped inventory/playbook match what `lab up` builds.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseLinkNames, parseSubnetUses, pickFreeSubnet } from '../src/lab/host-net.js';
import { cidrsOverlap } from '../src/net/ipv4.js';
import { hostLinkLines, routerLines, routerLinkLines, switchLines, upstreamLines } from '../src/lab/ip-batch.js';
import { checkLabPath, knownHostsLine, renderInventory, renderShippedInventory, renderSshdConfig } from '../src/lab/lab-files.js';
import { renderPlaybook } from '../src/lab/lab-playbooks.js';
import { checkShippedInventory, formatLabInfo, type LabInfo } from '../src/lab/lab.js';
import { parseBatchFailures } from '../src/lab/run.js';
import { checkOpenwrt, checkPrefix, checkRouters, checkSubnet, labNamespaces, MAX_ROUTERS, planTopology } from '../src/lab/topology.js';
import { openwrtEtcFiles, sbinLinks } from '../src/lab/openwrt.js';
import { cli } from './helpers/cli.js';
import { isInterfaceName } from '../src/net/names.js';

const repo = resolve(import.meta.dirname, '..');

describe('lab topology', () => {
  it('keeps every interface name within IFNAMSIZ at the longest prefix and the largest lab', () => {
    const plan = planTopology('abcdefghij', MAX_ROUTERS, 255);
    const names = [
      plan.hostLink,
      plan.hostLinkPeer,
      plan.switchBridge,
      ...plan.routers.flatMap((r) => [r.switchPort, r.lanPeer, ...r.upstreamPorts]),
      'mgmt0', 'wan1', 'wan2', 'wan3', 'lan0', 'isp1', 'isp2', 'isp3',
    ];
    for (const name of names) expect(isInterfaceName(name), name).toBe(true);
    expect(plan.hostLink).toBe('abcdefghij-mgmt');
    expect(new Set(plan.routers.flatMap((r) => r.upstreamPorts)).size).toBe(3 * MAX_ROUTERS);
    expect(new Set(labNamespaces(plan)).size).toBe(MAX_ROUTERS + 3);
  });

  it.each([
    [1, '198.18.7.11', ['100.64.1.11', '100.64.2.11', '100.64.3.11'], 'nft'],
    [2, '198.18.7.12', ['100.64.1.12', '100.64.2.12', '100.64.3.12'], 'legacy'],
    [200, '198.18.7.210', ['100.64.1.210', '100.64.2.210', '100.64.3.210'], 'legacy'],
  ] as const)('router %i: management %s, uplinks %j, iptables %s', (i, mgmt, wans, flavour) => {
    const r = planTopology('ml', 200, 7).routers[i - 1];
    expect(r).toMatchObject({ name: `r${i}`, namespace: `ml-r${i}`, mgmtAddress: mgmt, wanAddresses: wans, iptables: flavour });
  });

  it.each([
    ['ML', false], ['m', true], ['mt1234x12', true], ['a-b', false], ['abcdefghijk', false], ['1ab', false],
  ])('prefix %s accepted: %s', (prefix, ok) => {
    expect(checkPrefix(prefix) === undefined).toBe(ok);
  });

  it('refuses sizes and subnets out of range', () => {
    expect(checkRouters(0)).toBeDefined();
    expect(checkRouters(201)).toBeDefined();
    expect(checkRouters(2.5)).toBeDefined();
    expect(checkRouters(200)).toBeUndefined();
    expect(checkSubnet(256)).toBeDefined();
    expect(checkSubnet(0)).toBeUndefined();
    expect(() => planTopology('ml', 0, 0)).toThrow(RangeError);
  });
});

describe('lab ip batches', () => {
  const plan = planTopology('ml', 2, 3);

  it('creates the host link with its peer already in the switch namespace', () => {
    expect(hostLinkLines(plan)).toEqual([
      'link add ml-mgmt type veth peer name host netns ml-sw',
      'addr add 198.18.3.1/24 dev ml-mgmt',
      'link set ml-mgmt up',
    ]);
  });

  it('creates every router link with both ends inside lab namespaces', () => {
    const lines = routerLinkLines(plan);
    expect(lines).toHaveLength(2 * 5);
    for (const line of lines) expect(line).toMatch(/^link add \S+ netns ml-r\d+ type veth peer name \S+ netns ml-(sw|up|lan)$/);
    expect(lines).toContain('link add wan3 netns ml-r2 type veth peer name r2-w3 netns ml-up');
  });

  it('configures a router as a real one: addresses, lan0, default via the first uplink', () => {
    expect(routerLines(plan.routers[1])).toEqual([
      'link set lo up',
      'addr add 198.18.3.12/24 dev mgmt0',
      'link set mgmt0 up',
      'addr add 100.64.1.12/24 dev wan1',
      'link set wan1 up',
      'addr add 100.64.2.12/24 dev wan2',
      'link set wan2 up',
      'addr add 100.64.3.12/24 dev wan3',
      'link set wan3 up',
      'addr add 192.0.2.1/24 dev lan0',
      'link set lan0 up',
      'route add default via 100.64.1.1 dev wan1',
    ]);
  });

  it('puts the gateways on the upstream bridges and every port on its bridge', () => {
    const up = upstreamLines(plan);
    expect(up).toContain('addr add 100.64.2.1/24 dev isp2');
    expect(up).toContain('link set r2-w2 master isp2');
    expect(switchLines(plan)).toEqual(expect.arrayContaining(['link set host master br0', 'link set r1 master br0', 'link set r2 master br0']));
  });

  it('reads which lines of an ip -force -batch failed', () => {
    const stderr = 'Error: Unknown device type.\nCommand failed -:2\nCannot create namespace file "/run/netns/x": File exists\nCommand failed -:14\n';
    expect([...parseBatchFailures(stderr)]).toEqual([2, 14]);
    expect(parseBatchFailures('').size).toBe(0);
  });
});

describe('host state parsers', () => {
  const addr = [
    '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
    '2: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever preferred_lft forever',
    '9: ml-mgmt    inet 198.18.0.1/24 scope global ml-mgmt\\       valid_lft forever preferred_lft forever',
  ].join('\n');
  const routes = 'default via 192.0.2.1 dev eth0\n192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.2\n198.18.4.0/23 via 192.0.2.9 dev eth0\n198.18.9.7 dev eth0 scope link\n';

  it('finds the subnets in use and picks a free one', () => {
    const uses = parseSubnetUses(addr, routes);
    expect(uses.map((u) => u.cidr)).toEqual(['127.0.0.1/8', '192.0.2.2/24', '198.18.0.1/24', '192.0.2.0/24', '198.18.4.0/23', '198.18.9.7/32']);
    expect(pickFreeSubnet(uses, 0)).toBe(1);
    expect(pickFreeSubnet(uses, 4)).toBe(6);
    expect(pickFreeSubnet(uses, 9)).toBe(10);
    expect(pickFreeSubnet(uses, 255)).toBe(255);
  });

  it('compares CIDRs by the ranges they cover', () => {
    expect(cidrsOverlap('198.18.0.0/15', '198.19.3.0/24')).toBe(true);
    expect(cidrsOverlap('198.18.1.0/24', '198.18.2.0/24')).toBe(false);
    expect(cidrsOverlap('198.18.1.77/24', '198.18.1.0/24')).toBe(true);
  });

  it('reads link names from ip -o link', () => {
    const text = '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536\n14: ml-mgmt@if2: <BROADCAST> mtu 1500\n';
    expect([...parseLinkNames(text)]).toEqual(['lo', 'ml-mgmt']);
  });
});

describe('lab files', () => {
  it('configures sshd for key-only root login, its own key, pid file and address', () => {
    const text = renderSshdConfig({
      router: 'r1', namespace: 'ml-r1', address: '198.18.0.11', hostKey: '/l/r1/ssh_host_ed25519_key', pidFile: '/l/r1/sshd.pid', authorizedKeys: '/l/authorized_keys',
    });
    for (const line of [
      'ListenAddress 198.18.0.11', 'Port 22', 'HostKey "/l/r1/ssh_host_ed25519_key"', 'PidFile "/l/r1/sshd.pid"',
      'AuthorizedKeysFile none', 'AuthorizedKeysCommand /bin/cat "/l/authorized_keys"', 'AuthorizedKeysCommandUser root', 'PermitRootLogin prohibit-password', 'UsePAM no', 'StrictModes yes', 'PasswordAuthentication no',
    ]) expect(text.split('\n')).toContain(line);
  });

  it('files a host key under the address, without its comment', () => {
    expect(knownHostsLine('198.18.0.11', 'ssh-ed25519 AAAAC3Nza root@vm\n')).toBe('198.18.0.11 ssh-ed25519 AAAAC3Nza');
  });

  it('refuses folders that sshd_config or YAML could misread', () => {
    expect(checkLabPath('/tmp/a b/.lab')).toBeUndefined();
    expect(checkLabPath('/tmp/50%/.lab')).toBeDefined();
    expect(checkLabPath('/tmp/"x"')).toBeDefined();
  });

  it.each([
    ['/abs/path/id_ed25519'],
    ['../.lab/known_hosts'],
    ['/tmp/a b/#x: y'],
    ['yes'],
    ['1.5'],
    ['[x]'],
  ])('writes the path %s into an inventory that reads back the same', (path) => {
    const text = renderInventory({
      header: ['h'],
      privateKey: path,
      knownHosts: path,
      playbook: path,
      routers: [{ name: 'r1', mgmtAddress: '198.18.0.11', iptables: 'nft', stateDir: path }],
    });
    const doc = parseYaml(text) as { all: { children: { lab: { vars: Record<string, unknown>; hosts: Record<string, Record<string, unknown>> } } } };
    expect(doc.all.children.lab.vars).toMatchObject({ ansible_ssh_private_key_file: path, multilink_known_hosts: path, multilink_playbooks: [path] });
    expect(doc.all.children.lab.hosts.r1.multilink_state_dir).toBe(path);
  });

  it('ships playbooks/lab.yaml exactly as lab up writes it', () => {
    expect(readFileSync(join(repo, 'playbooks/lab.yaml'), 'utf8')).toBe(renderPlaybook());
  });

  it('writes a playbook that never balances management and keeps SSH and DNS on dsl', () => {
    const [play] = parseYaml(renderPlaybook()) as Record<string, unknown>[];
    expect(play).toEqual({
      name: 'lab routers over three uplinks',
      hosts: 'lab',
      balance: { method: 'random', traffic: ['forwarded', 'local'], lan: ['lan0'] },
      links: [
        { name: 'dsl', interface: 'wan1', gateway: '100.64.1.1', weight: 1 },
        { name: 'cable', interface: 'wan2', gateway: '100.64.2.1', weight: 2 },
        { name: 'lte', interface: 'wan3', gateway: '100.64.3.1', weight: 1, tier: 2 },
      ],
      exceptions: [
        { destination: '198.18.0.0/15', via: 'main' },
        { protocol: 'tcp', ports: [22], via: 'dsl' },
        { protocol: 'udp', ports: [53], via: 'dsl' },
      ],
      helpers: ['ftp'],
      rp_filter: 'loose',
    });
  });

  it('ships inventory/lab.yaml exactly as generated for the default lab', () => {
    expect(readFileSync(join(repo, 'inventory/lab.yaml'), 'utf8')).toBe(renderShippedInventory());
  });

  it('finds the shipped inventory consistent with a default lab, and says what differs otherwise', () => {
    const lab = fakeLab(join(repo, '.lab'), 0);
    expect(checkShippedInventory(lab)).toEqual([]);
    const moved = checkShippedInventory(fakeLab(join(repo, '.lab'), 5));
    expect(moved).toHaveLength(3);
    expect(moved[0]).toContain('host r1 has ansible_host 198.18.0.11, the lab gave it 198.18.5.11');
    expect(checkShippedInventory(fakeLab('/elsewhere/lab', 5))).toEqual([]);
  });

  it('prints the folder, each router and the inventory', () => {
    const text = formatLabInfo(fakeLab('/x/.lab', 0));
    expect(text).toContain('/x/.lab');
    expect(text).toMatch(/r2\s+198\.18\.0\.12/);
    expect(text).toContain('inventory: /x/.lab/inventory.yaml');
  });
});

function fakeLab(dir: string, subnet: number): LabInfo {
  const { dataplane: _none, ...plan } = planTopology('ml', 3, subnet);
  return {
    ...plan,
    version: 1,
    status: 'up',
    dir,
    routers: plan.routers.map((r) => ({
      ...r,
      dir: join(dir, r.name),
      stateDir: join(dir, r.name, 'state'),
      sshdConfig: join(dir, r.name, 'sshd_config'),
      sshdLog: join(dir, r.name, 'sshd.log'),
    })),
    privateKey: join(dir, 'id_ed25519'),
    authorizedKeys: join(dir, 'authorized_keys'),
    knownHosts: join(dir, 'known_hosts'),
    inventory: join(dir, 'inventory.yaml'),
    playbook: join(dir, 'playbook.yaml'),
    namespaces: [],
    hostLinks: [],
    processes: [],
    files: [],
    dirs: [],
    trees: [],
    createdAt: '2026-01-01T00:00:00.000Z',
  };
}

describe('OpenWrt-like routers and the lab’s shell programs', () => {
  it('gives an OpenWrt-like router a state folder in its own /etc (its /var is RAM) and the boot hook it chooses', () => {
    const text = renderInventory({
      header: ['h'],
      privateKey: '/k',
      knownHosts: '/kh',
      playbook: '/p',
      routers: [
        { name: 'r1', mgmtAddress: '198.18.0.11', iptables: 'nft', stateDir: '', openwrt: true },
        { name: 'r2', mgmtAddress: '198.18.0.12', iptables: 'legacy', stateDir: '/l/r2/state', openwrt: false, firewall: 'nft' },
      ],
    });
    const hosts = (parseYaml(text) as { all: { children: { lab: { hosts: Record<string, Record<string, unknown>> } } } }).all.children.lab.hosts;
    expect(hosts.r1).toEqual({ ansible_host: '198.18.0.11', multilink_firewall: 'iptables', multilink_iptables: 'nft', multilink_state_dir: '/etc/multilink', multilink_boot: 'auto' });
    expect(hosts.r2).toEqual({ ansible_host: '198.18.0.12', multilink_firewall: 'nft', multilink_iptables: 'legacy', multilink_state_dir: '/l/r2/state', multilink_run_dir: '/l/r2/state/run' });
    expect(planTopology('ml', 3, 0, { openwrt: ['r2'] }).routers.map((r) => r.openwrt)).toEqual([false, true, false]);
    expect(checkOpenwrt(['r4'], 3)).toMatch(/r1\.\.r3/);
  });

  it('a stock OpenWrt router: OpenWrt-like, its inventory line names no iptables flavour and leaves the backend to the router', () => {
    const plan = planTopology('ml', 2, 0, { openwrtStock: ['r1'] }).routers;
    expect(plan.map((r) => [r.openwrt, r.openwrtStock ?? false, r.firewall])).toEqual([[true, true, 'auto'], [false, false, 'iptables']]);
    const text = renderInventory({ header: ['h'], privateKey: '/k', knownHosts: '/kh', playbook: '/p', routers: [{ name: 'r1', mgmtAddress: '198.18.0.11', iptables: 'nft', stateDir: '', openwrt: true, openwrtStock: true, firewall: 'auto' }] });
    const hosts = (parseYaml(text) as { all: { children: { lab: { hosts: Record<string, Record<string, unknown>> } } } }).all.children.lab.hosts;
    expect(hosts.r1).toEqual({ ansible_host: '198.18.0.11', multilink_firewall: 'auto', multilink_state_dir: '/etc/multilink', multilink_boot: 'auto' });
  });

  it('gives root /bin/sh and sshd its privilege-separation user; iptables is the router’s flavour', () => {
    const etc = openwrtEtcFiles({ name: 'r1' });
    expect(etc.passwd.split('\n')[0]).toBe('root:x:0:0:root:/root:/bin/sh');
    expect(etc.passwd).toMatch(/^sshd:x:/m);
    expect(etc.openwrt_release).toContain("DISTRIB_ID='OpenWrt'");
    expect(sbinLinks('legacy')).toMatchObject({ iptables: 'iptables-legacy', 'iptables-save': 'iptables-legacy-save', 'iptables-nft-restore': 'xtables-nft-multi' });
  });

  const programs = join(repo, 'src/lab/programs');
  const scripts = readdirSync(programs).filter((f) => f.endsWith('.sh'));
  const hasShellcheck = spawnSync('sh', ['-c', 'command -v shellcheck']).status === 0;
  if (!hasShellcheck) console.warn('skipping shellcheck of the lab’s scripts: shellcheck is not installed');

  it.each(scripts)('%s parses under dash and BusyBox ash', (script) => {
    for (const shell of [['dash', '-n'], ['busybox', 'ash', '-n']]) {
      if (spawnSync('sh', ['-c', `command -v ${shell[0]}`]).status !== 0) continue;
      const r = spawnSync(shell[0], [...shell.slice(1), join(programs, script)], { encoding: 'utf8' });
      expect(r.status, `${shell.join(' ')} ${script}: ${r.stderr}`).toBe(0);
    }
  });

  it.skipIf(!hasShellcheck).each(scripts)('%s passes shellcheck -s sh', (script) => {
    const r = spawnSync('shellcheck', ['-s', 'sh', join(programs, script)], { encoding: 'utf8' });
    expect(r.status, r.stdout).toBe(0);
  });
});

describe('lab up options', () => {
  it.each([
    [['--dhcp-uplink'], /--dhcp-uplink and --ptp-uplink go with --dataplane/],
    [['--ipv6'], /--ipv6 goes with --dataplane/],
    [['--openwrt', 'r1,x'], /--openwrt takes router names like r1,r3 or all/],
    [['--openwrt', 'r4'], /--openwrt names routers r1\.\.r3/],
  ])('refuses %j before building anything', async (args, message) => {
    const res = await cli('lab', 'up', '--dir', '/nonexistent/multilink-lab-options', ...args);
    expect(res.code).not.toBe(0);
    expect(res.stdout + res.stderr).toMatch(message);
  });
});
