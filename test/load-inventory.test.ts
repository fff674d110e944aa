// Inventory loading: Ansible var precedence, group_vars/host_vars files, membership, and
// host patterns evaluated against it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Diagnostics } from '../src/diagnostics.js';
import { loadInventory } from '../src/load/inventory.js';
import { matchLimit, matchPattern, splitPattern } from '../src/load/patterns.js';
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
  // Orders as `ansible PATTERN -i inventory.yaml --list-hosts` prints them (ansible-core 2.14).
  it.each([
    ['all', ['h2', 'h3', 'h1'], []],
    ['*', ['h2', 'h3', 'h1'], []],
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
    expect(matchPattern(pattern, inventory)).toEqual({ hosts, unmatched, problems: [] });
  });
});

describe('host patterns beyond names and globs', () => {
  // all is h2, h3 (alpha, depth 1) then h1 (child, depth 2): Ansible's host order.
  // Each answer is what `ansible PATTERN --list-hosts` printed for this inventory.
  it.each([
    ['all[0]', ['h2']],
    ['all[-1]', ['h1']],
    ['all[0:1]', ['h2', 'h3']],
    ['all[1:]', ['h3', 'h1']],
    ['alpha[1]', ['h3']],
    ['h[13]', []], // as Ansible reads it: host h, index 13
    ['h[!2]', ['h1', 'h3']], // a glob character class
    ['h[a-z0-1]', ['h1']],
    ['~h[12]', ['h1', 'h2']],
    ['~^h', ['h1', 'h2', 'h3']],
    ['~(alpha|beta)', ['h2', 'h3']], // a regex matches group names too
    ['~lpha', []], // re.match: anchored at the start only
    ['alpha,&beta', ['h3']],
    ['alpha:beta:!h[!3]', ['h3']],
  ])('%s', (pattern, hosts) => {
    expect(matchPattern(pattern, inventory).hosts).toEqual(hosts);
  });

  it('reports a subscript beyond the selection and a regex that does not compile', () => {
    expect(matchPattern('alpha[2]', inventory).problems).toEqual(["host pattern 'alpha[2]': no host at index 2 (it selects 2)"]);
    expect(matchPattern('~h(', inventory).problems).toEqual(["host pattern '~h(': invalid regular expression"]);
  });

  it('keeps a single address whole: an IPv6 address, a range, host:port', () => {
    expect(splitPattern('2001:db8::1')).toEqual(['2001:db8::1']);
    expect(splitPattern('web[0:2]')).toEqual(['web[0:2]']);
    expect(splitPattern('web:db')).toEqual(['web', 'db']);
    expect(splitPattern('g[0:2]:!h1')).toEqual(['g[0:2]', '!h1']);
    expect(splitPattern('a:b, c')).toEqual(['a:b', 'c']); // with commas, ':' is not a separator
  });

  it('--limit @file: one pattern per line, in the inventory order of Ansible', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ml-limit-'));
    try {
      writeFileSync(join(dir, 'retry'), 'h3\n\nh1\n');
      expect(matchLimit(`@${join(dir, 'retry')}`, inventory)).toEqual({ hosts: ['h3', 'h1'], unmatched: [], problems: [] });
      expect(matchLimit(`@${join(dir, 'retry')}:!h1`, inventory).hosts).toEqual(['h3']);
      expect(matchLimit(`@${join(dir, 'nope')}`, inventory).problems[0]).toMatch(/^--limit @.*nope: cannot read .*nope \(ENOENT\)$/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
