// `multilink inventory` on the corpus, without Ansible: the facts the oracle test checks
// against ansible-inventory, stated here so they hold where Ansible is not installed.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';

const CORPUS = fileURLToPath(new URL('./fixtures/inventories/', import.meta.url));

interface Listing {
  _meta: { hostvars: Record<string, Record<string, unknown>> };
  [group: string]: { hosts?: string[]; children?: string[] } | Listing['_meta'];
}

async function list(file: string, ...args: string[]): Promise<Listing> {
  const r = await cli('inventory', `${CORPUS}${file}`, ...args);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Listing;
}

describe('INI inventory (ini-branches/hosts)', () => {
  it('groups: ranges expanded, children declared before their section, ungrouped hosts', async () => {
    const l = await list('ini-branches/hosts');
    expect(l.all).toEqual({ children: ['ungrouped', 'edge', 'core'] });
    expect(l.ungrouped).toEqual({ hosts: ['jump.example.net'] });
    expect(l.edge).toEqual({
      hosts: ['br-north-01.example.net', 'br-north-02.example.net', 'br-north-03.example.net', 'br-south-a', 'br-south-b', 'br-south-c', 'br-west'],
    });
    expect(l.core).toEqual({ children: ['dc', 'edge-hubs'] });
    expect(l['edge-hubs']).toEqual({ hosts: ['br-north-01.example.net', 'hub0', 'hub3', 'hub6'] });
  });

  it('values: literals, quotes, a port with the host, group_vars folders, precedence', async () => {
    const { hostvars } = (await list('ini-branches/hosts'))._meta;
    expect(hostvars['br-south-b']).toMatchObject({ ansible_port: 2222, site: 'South Ring', uplinks: ['dsl', 'lte'] });
    expect(hostvars['dc1']).toMatchObject({ ansible_port: 22022, weight: 16, tags: ['core', 'dc'], rack: 'A7', role: 'datacenter' });
    // hub (depth 2) over edge (depth 1); dc's priority 10 only orders it among depth-2 groups
    expect(hostvars['br-north-01.example.net']).toMatchObject({ role: 'hub', ansible_become: 'yes' });
    // group_vars/all over [edge:vars]; 20-monitor.yaml after 10-links.yml; backups, hidden files, .txt skipped
    expect(hostvars['br-north-02.example.net']).toMatchObject({
      ntp_server: 'time.example.net',
      lte_apn: 'metered.example',
      dsl_gateway: '100.64.1.254',
      from_subfolder: true,
      max_conns: 4096,
      monitored: true,
      multilink_weights: { dsl: 2, lte: 0 },
    });
    expect(hostvars['jump.example.net']).toEqual({ ansible_host: '192.0.2.5', ansible_user: 'ops', domain: 'example.net', multilink_playbooks: ['playbooks/balance.yaml'], ntp_server: 'time.example.net' });
  });
});

describe('YAML inventory (yaml-fleet/inventory.yml)', () => {
  it('ranges with strides, a port in the key, the short form, top-level groups', async () => {
    const l = await list('yaml-fleet/inventory.yml');
    expect(l.metro_east).toEqual({ hosts: ['me-r01', 'me-r04', 'me-r07', 'me-r10', 'me-r99'] });
    expect(l.backup).toEqual({ hosts: ['mw-b.example.net'], children: ['rural'] });
    expect(l.edge_only).toEqual({ hosts: ['edge-r08', 'edge-r09', 'edge-r10', 'edge-r11'] });
    expect(l.all).toEqual({ children: ['ungrouped', 'metro', 'rural', 'backup', 'edge_only'] });
    const { hostvars } = l._meta;
    expect(hostvars['me-r99']).toMatchObject({ ansible_port: 2200, ansible_host: '198.51.100.99' });
    expect(hostvars['edge-r09']).toMatchObject({ enabled: true, maintenance: null, when: '2024-06-01' });
  });

  it('ansible_group_priority, group_vars folders and files, host_vars', async () => {
    const { hostvars } = (await list('yaml-fleet/inventory.yml'))._meta;
    // rural (priority 20) wins over metro at depth 1; host_vars win over both
    expect(hostvars['me-r04']).toMatchObject({ region: 'rural', multilink_weights: { dsl: 0 }, lte_gateway: '100.64.3.1' });
    // metro_west (depth 2) wins over metro: priority only orders groups of one depth
    expect(hostvars['mw-a.example.net']).toMatchObject({ region: 'metro-west', snmp_community: 'metro-ro', cable_gateway: '100.64.2.1' });
    expect(hostvars['mw-a.example.net']).not.toHaveProperty('ansible_group_priority');
    // group_vars/all.yml is read, all.yaml is not
    expect(hostvars['lab-r1']).toEqual({ ansible_user: 'root', multilink_playbooks: ['playbooks/balance.yaml'], snmp_community: 'from-all-yml' });
  });
});

describe('inventory scripts', () => {
  it('with _meta.hostvars', async () => {
    const l = await list('script-netbox/netbox.sh');
    expect(l.role_edge).toEqual({ children: ['site_ams1', 'site_fra1'] });
    expect(l.site_fra1).toEqual({ hosts: ['nb-r3'] });
    expect(l._meta.hostvars['nb-r2']).toMatchObject({ multilink_weights: { lte: 0 }, dsl_gateway: '100.64.1.1', ansible_user: 'netops' });
  });

  it('without _meta: each host from --host', async () => {
    const l = await list('script-legacy/inventory.sh');
    expect(l._meta.hostvars).toEqual({ 'old-r1': { ansible_host: '203.0.113.21', weight: 3 }, 'old-r2': { ansible_host: '203.0.113.22', role: 'primary' } });
  });
});

describe('the inventory command', () => {
  it('--host: one host, by name or pattern', async () => {
    const r = await cli('inventory', `${CORPUS}json-static/inventory.json`, '--host', 'pop[1]');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      ansible_user: 'root',
      multilink_state_dir: '/var/lib/multilink',
      mtu: 1000,
      snmp: null,
      site_ids: [1, 2, 3],
      uplinks: ['fiber', 'lte'],
      weights: { fiber: 3, lte: 1 },
    });
    expect(r.stdout).toMatch(/^{\n {4}"ansible_user": "root",\n {4}"mtu": 1000\.0,/);
  });

  it('--list --limit keeps only the selected hosts', async () => {
    const l = await list('yaml-fleet/inventory.yml', '--list', '--limit', 'metro_east[0:1]:lab-r1');
    expect(Object.keys(l._meta.hostvars).sort()).toEqual(['lab-r1', 'me-r01', 'me-r04']);
    expect(l.metro_east).toEqual({ hosts: ['me-r01', 'me-r04'] });
    expect(l.rural).toEqual({ hosts: ['me-r04'] });
    expect(l.metro_west).toBeUndefined();
  });

  it('--graph from a group', async () => {
    const r = await cli('inventory', `${CORPUS}ini-branches/hosts`, '--graph', 'core');
    expect(r.stdout).toBe(['@core:', '  |--@dc:', '  |  |--dc1', '  |  |--dc2', '  |--@edge-hubs:', '  |  |--br-north-01.example.net', '  |  |--hub0', '  |  |--hub3', '  |  |--hub6', ''].join('\n'));
  });

  it('--graph --limit shows only the selected hosts and the groups above them (issue 22 §5: it was ignored)', async () => {
    const r = await cli('inventory', `${CORPUS}ini-branches/hosts`, '--graph', '--limit', 'hub0:dc2');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(['@all:', '  |--@core:', '  |  |--@dc:', '  |  |  |--dc2', '  |  |--@edge-hubs:', '  |  |  |--hub0', ''].join('\n'));
    const core = await cli('inventory', `${CORPUS}ini-branches/hosts`, '--graph', 'core', '--limit', 'br-north-01.example.net');
    expect(core.stdout).toBe(['@core:', '  |--@edge-hubs:', '  |  |--br-north-01.example.net', ''].join('\n'));
  });

  it.each([
    [['--host', 'edge'], /--host takes one host of the inventory; "edge" names 7/],
    [['--graph', 'nosuch'], /--graph takes a group of the inventory, not "nosuch"/],
    [['--list', '--graph'], /inventory takes one of --list, --host and --graph/],
    [['--limit', 'nosuch'], /--limit: host pattern 'nosuch' names no host or group/],
    [['--host', 'hub0', '--limit', 'core'], /--limit selects hosts for --list and --graph; --host names its one host itself/],
  ])('refuses %j', async (args, message) => {
    const r = await cli('inventory', `${CORPUS}ini-branches/hosts`, ...args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
  });
});
