// Host and interface names that look like YAML 1.1 floats to some parsers (e1, e10) reach the
// compiled rules as the names written (issue 22 §1: they became NaN and null).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';

describe('names like e1 and e10', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-e1-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'inv.yaml'),
    ['all:', '  vars: { multilink_playbooks: [pb.yaml], wan_a: e10 }', '  children:', '    e5:', '      hosts:', '        e1: { ansible_host: 192.0.2.1 }', '        e2: { ansible_host: 192.0.2.2 }', ''].join('\n'),
  );
  writeFileSync(
    join(dir, 'pb.yaml'),
    [
      '- hosts: e1',
      '  balance: { method: random, lan: [E5] }',
      '  links:',
      '    - { name: e1, interface: "{{ wan_a }}", gateway: 100.64.1.1, weight: 1 }',
      '    - { name: e2, interface: e20, gateway: 100.64.2.1, weight: 2 }',
      '- hosts: e2',
      '  balance: { method: nth, lan: [E5] }',
      '  links:',
      '    - { name: a, interface: e1, gateway: 100.64.1.1, weight: 1 }',
      '',
    ].join('\n'),
  );

  it('render --host e1 names the host, its links and interfaces as written', async () => {
    const res = await cli('render', join(dir, 'inv.yaml'), '--host', 'e1');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/-o e10 /);
    expect(res.stdout).toMatch(/-o e20 /);
    expect(res.stdout).toMatch(/-i E5 /);
    expect(res.stdout).not.toMatch(/NaN|null/);
  });

  it('two plays on the hosts e1 and e2 are two hosts, not NaN twice', async () => {
    const res = await cli('inventory', join(dir, 'inv.yaml'), '--graph');
    expect(res.stdout).toMatch(/--e1\n/);
    expect(res.stdout).toMatch(/--e2\n/);
    expect((await cli('render', join(dir, 'inv.yaml'), '--host', 'e2')).code).toBe(0);
  });
});
