// Where `multilink weights` writes on each inventory format, end to end through the command
// (hosts answered by a fake transport: only the files matter here). Copies of the corpus in
// a temp folder, with a playbook so the projects load.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli.js';
import { loadInventoryFile } from '../src/load/inventory.js';
import { FakeTransport } from '../src/transport/fake-transport.js';
import { hermeticWorld } from './helpers/ansible-world.js';

const CORPUS = fileURLToPath(new URL('./fixtures/inventories/', import.meta.url));
const PLAYBOOK = `- name: three uplinks
  hosts: all
  balance: { lan: lan0 }
  links:
    - { name: dsl, interface: wan1, gateway: 100.64.1.1 }
    - { name: cable, interface: wan2, gateway: 100.64.2.1 }
    - { name: lte, interface: wan3, gateway: 100.64.3.1 }
`;

const work = mkdtempSync(join(tmpdir(), 'ml-weights-target-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let copies = 0;

/** A fresh copy of one corpus folder, with the playbook its inventory names. */
function copy(folder: string): string {
  const dir = join(work, `${++copies}-${folder}`);
  cpSync(join(CORPUS, folder), dir, { recursive: true });
  mkdirSync(join(dir, 'playbooks'));
  writeFileSync(join(dir, 'playbooks', 'balance.yaml'), PLAYBOOK);
  return dir;
}

async function weights(inventory: string, ...args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const code = await run(['node', 'multilink', 'weights', inventory, ...args], { out: () => undefined, err: (t) => (stderr += `${t}\n`) }, () => new FakeTransport(), undefined, hermeticWorld());
  return { code, stderr };
}

function changedFiles(before: string, dir: string, files: string[]): string[] {
  return files.filter((f) => readFileSync(join(before, f), 'utf8') !== readFileSync(join(dir, f), 'utf8'));
}

describe('weights writes where Ansible will read it', () => {
  it('INI: into [edge:vars], which sets the weights; the group_vars/edge folder does not', async () => {
    const dir = copy('ini-branches');
    const r = await weights(join(dir, 'hosts'), 'lte=1', '--limit', 'edge');
    expect(r.stderr).toContain(`wrote multilink_weights: { dsl: 2, lte: 1 } at group edge in ${join(dir, 'hosts')}`);
    expect(readFileSync(join(dir, 'hosts'), 'utf8')).toContain("\nmultilink_weights={'dsl': 2, 'lte': 1}\n");
    expect(changedFiles(join(CORPUS, 'ini-branches'), dir, ['hosts', 'group_vars/all.yml', 'group_vars/edge/10-links.yml', 'group_vars/edge/20-monitor.yaml'])).toEqual(['hosts']);
    expect(loadInventoryFile(join(dir, 'hosts')).hosts.get('br-west')?.vars.multilink_weights).toEqual({ dsl: 2, lte: 1 });
  });

  it('INI: on the host line', async () => {
    const dir = copy('ini-branches');
    await weights(join(dir, 'hosts'), 'cable=3', '--limit', 'dc2');
    expect(readFileSync(join(dir, 'hosts'), 'utf8')).toContain(`dc2 ansible_host=203.0.113.2 multilink_state_dir=/srv/multilink multilink_weights="{'cable': 3}"\n`);
  });

  it('YAML: the host_vars file that sets the weights; a group in the inventory', async () => {
    const dir = copy('yaml-fleet');
    await weights(join(dir, 'inventory.yml'), 'lte=2', '--limit', 'me-r04');
    expect(readFileSync(join(dir, 'host_vars/me-r04.yml'), 'utf8')).toBe('multilink_weights: { dsl: 0, lte: 2 }  # this router\'s DSL is being moved\n');
    // me-r04 (in rural) has its own weights now: cable=0 at rural would not reach it. Refused, nothing written.
    const inventoryText = readFileSync(join(dir, 'inventory.yml'), 'utf8');
    const refused = await weights(join(dir, 'inventory.yml'), 'cable=0', '--limit', 'rural');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`host me-r04: cable would be 1, not 0 (multilink_weights for it is set at ${join(dir, 'host_vars/me-r04.yml')}:1:1)`);
    expect(readFileSync(join(dir, 'inventory.yml'), 'utf8')).toBe(inventoryText);
    rmSync(join(dir, 'host_vars/me-r04.yml'));
    const r = await weights(join(dir, 'inventory.yml'), 'cable=0', '--limit', 'rural');
    expect(r.stderr).toContain(`in ${join(dir, 'inventory.yml')}`);
    expect(readFileSync(join(dir, 'inventory.yml'), 'utf8')).toContain('        multilink_weights: { lte: 1, cable: 0 }\n');
    expect(readFileSync(join(dir, 'group_vars/rural.json'), 'utf8')).toBe(readFileSync(join(CORPUS, 'yaml-fleet/group_vars/rural.json'), 'utf8'));
  });

  it('YAML: a group_vars JSON file, kept JSON, when it is where the level is set', async () => {
    const dir = copy('yaml-fleet');
    await weights(join(dir, 'inventory.yml'), 'dsl=4', '--limit', 'metro_west');
    // metro_west sets nothing in the inventory and has no vars file: the inventory gets a vars
    // block, with the whole set its hosts have from metro (cable: 2 is kept, not dropped)
    expect(readFileSync(join(dir, 'inventory.yml'), 'utf8')).toContain("          vars: { region: metro-west, ansible_group_priority: 5, multilink_weights: { dsl: 4, cable: 2 } }\n");
    rmSync(join(dir, 'host_vars/me-r04.yml'));
    writeFileSync(join(dir, 'group_vars/rural.json'), '{\n  "lte_gateway": "100.64.3.1",\n  "multilink_weights": {"lte": 1}\n}\n');
    await weights(join(dir, 'inventory.yml'), 'dsl=1', '--limit', 'rural');
    expect(JSON.parse(readFileSync(join(dir, 'group_vars/rural.json'), 'utf8'))).toEqual({ lte_gateway: '100.64.3.1', multilink_weights: { lte: 1, dsl: 1 } });
  });

  it('a script inventory: refused, saying where to put the variable, nothing written', async () => {
    const dir = copy('script-netbox');
    const r = await weights(join(dir, 'netbox.sh'), 'lte=1', '--limit', 'site_ams1');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(dir, 'netbox.sh')} is an inventory script: multilink cannot write into it. Set multilink_weights in ${join(dir, 'group_vars', 'site_ams1.yml')}`);
    expect(readFileSync(join(dir, 'netbox.sh'), 'utf8')).toBe(readFileSync(join(CORPUS, 'script-netbox/netbox.sh'), 'utf8'));
  });

  it('a script inventory with a group_vars file beside it: written there', async () => {
    const dir = copy('script-netbox');
    mkdirSync(join(dir, 'group_vars'));
    writeFileSync(join(dir, 'group_vars', 'site_ams1.yml'), '# ams1 uplinks\ndsl_gateway: 100.64.1.1\n');
    // nb-r2 sets its own weights in the script's output: lte=1 at its site would not reach it
    const refused = await weights(join(dir, 'netbox.sh'), 'lte=1', '--limit', 'site_ams1');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('host nb-r2: lte would be 0, not 1');
    expect(readFileSync(join(dir, 'group_vars', 'site_ams1.yml'), 'utf8')).toBe('# ams1 uplinks\ndsl_gateway: 100.64.1.1\n');
    writeFileSync(join(dir, 'netbox.sh'), readFileSync(join(dir, 'netbox.sh'), 'utf8').replace(', "multilink_weights": { "lte": 0 }', ''));
    await weights(join(dir, 'netbox.sh'), 'lte=1', '--limit', 'site_ams1');
    expect(readFileSync(join(dir, 'group_vars', 'site_ams1.yml'), 'utf8')).toBe('# ams1 uplinks\ndsl_gateway: 100.64.1.1\nmultilink_weights: { lte: 1 }\n');
    const inv = loadInventoryFile(join(dir, 'netbox.sh'));
    expect(inv.hosts.get('nb-r1')?.vars.multilink_weights).toEqual({ lte: 1 });
  });
});
