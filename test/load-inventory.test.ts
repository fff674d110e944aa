// Inventory loading: Ansible var precedence, group_vars/host_vars files, membership, and
// host patterns evaluated against it.
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Diagnostics } from '../src/diagnostics.js';
import { loadInventory } from '../src/load/inventory.js';
import { matchPattern } from '../src/load/patterns.js';
import { formatPos } from '../src/model/source.js';

const DIR = relative(process.cwd(), fileURLToPath(new URL('./fixtures/load/good/precedence/', import.meta.url)));
const diags = new Diagnostics();
const { inventory } = loadInventory(`${DIR}/inventory.yaml`, diags);
const host = (name: string) => inventory.hosts.get(name)!;
const from = (name: string, v: string) => formatPos(host(name).varPos[v]).slice(DIR.length + 1);

describe('inventory', () => {
  it('loads without diagnostics', () => {
    expect(diags.items).toEqual([]);
  });

  it.each([
    // host, var, value, defined at
    ['h1', 'level', 'host_file', 'host_vars/h1.yaml:1:1'],
    ['h1', 'v_inline', 'host', 'inventory.yaml:27:15'],
    ['h1', 'v_child', 'child_file', 'group_vars/child.yml:1:1'],
    ['h1', 'v_parent', 'parent', 'inventory.yaml:14:9'],
    ['h1', 'v_all', 'all', 'inventory.yaml:4:5'],
    ['h1', 'from_file', 'file', 'group_vars/parent.yaml:1:1'],
    ['h1', 'multilink_playbooks', ['../pb.yaml'], 'group_vars/all.yml:1:1'],
    // h2: sibling (depth 2) sets no level; alpha and parent tie at depth 1, later name wins
    ['h2', 'level', 'parent', 'inventory.yaml:13:9'],
    ['h2', 'tie', 'alpha', 'inventory.yaml:32:29'],
    ['h2', 'ansible_become', true, 'inventory.yaml:30:44'],
    ['h3', 'tie', 'beta', 'inventory.yaml:37:15'],
    ['h3', 'gw_prefix', '100.64.9', 'inventory.yaml:35:15'],
  ])('%s.%s = %j (from %s)', (name, v, value, at) => {
    expect(host(name).vars[v]).toEqual(value);
    expect(from(name, v)).toBe(at);
  });

  it('lists every group of a host, all first, then by depth and name', () => {
    expect(host('h1').groups).toEqual(['all', 'parent', 'child']);
    expect(host('h2').groups).toEqual(['all', 'alpha', 'parent', 'sibling']);
    expect(host('h3').groups).toEqual(['all', 'alpha', 'beta']);
  });

  it('keeps groups with their direct children, hosts and effective vars', () => {
    const parent = inventory.groups.get('parent')!;
    expect(parent.children).toEqual(['child', 'sibling']);
    expect(parent.hosts).toEqual([]);
    expect(parent.vars.from_file).toBe('file');
    expect(inventory.groups.get('alpha')!.hosts).toEqual(['h2', 'h3']);
    expect(inventory.groups.get('ungrouped')!.hosts).toEqual([]);
    expect(inventory.file.startsWith('/')).toBe(true);
  });

  it('puts hosts of no group in ungrouped, as Ansible', () => {
    const d = new Diagnostics();
    const inv = loadInventory(fileURLToPath(new URL('./fixtures/load/bad/values/inventory.yaml', import.meta.url)), d);
    expect(inv.inventory.hosts.get('r1')!.groups).toEqual(['all', 'ungrouped']);
  });
});

describe('host patterns', () => {
  it.each([
    ['all', ['h1', 'h2', 'h3'], []],
    ['*', ['h1', 'h2', 'h3'], []],
    ['parent', ['h1', 'h2'], []],
    ['h3', ['h3'], []],
    ['child:alpha', ['h1', 'h2', 'h3'], []],
    ['child,beta', ['h1', 'h3'], []],
    ['parent:!child', ['h2'], []],
    ['parent:&alpha', ['h2'], []],
    ['!child:parent', ['h2'], []], // exclusions apply last, whatever the order written
    ['&alpha:beta', ['h3'], []],
    ['!child', ['h2', 'h3'], []], // only exclusions: starts from all
    ['h*', ['h1', 'h2', 'h3'], []],
    ['alp*', ['h2', 'h3'], []],
    ['s?bling', ['h2'], []],
    ['ungrouped', [], []], // a group without hosts names something
    ['h1:nosuch', ['h1'], ['nosuch']],
    ['parent:&nosuch:!nix*', [], ['nosuch', 'nix*']],
  ])('%s', (pattern, hosts, unmatched) => {
    expect(matchPattern(pattern, inventory)).toEqual({ hosts, unmatched });
  });
});
