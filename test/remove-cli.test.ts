// `multilink remove` on the command line (issue 22 §2): documented in --help, refused without
// --limit, and a host no play targets is still one to act on (it is never contacted here:
// the inventory points at an address nothing answers on, and the connection fails fast).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'ml-remove-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function project(): string {
  const playbook = join(dir, 'pb.yaml');
  writeFileSync(playbook, ['- name: r1 only', '  hosts: r1', '  balance: { lan: [lan0] }', '  links:', '    - { name: dsl, interface: wan1, gateway: 100.64.1.1 }', '    - { name: cable, interface: wan2, gateway: 100.64.2.1 }', ''].join('\n'));
  const inventory = join(dir, 'inv.yaml');
  writeFileSync(
    inventory,
    ['all:', '  vars:', `    multilink_playbooks: [${playbook}]`, `    multilink_known_hosts: ${join(dir, 'known_hosts')}`, '  hosts:', '    r1: { ansible_host: 127.0.0.1, ansible_port: 9 }', '    r2: { ansible_host: 127.0.0.1, ansible_port: 9 }', ''].join('\n'),
  );
  return inventory;
}

describe('multilink remove (command line)', () => {
  it('is in the command list and has its own help', async () => {
    const top = await cli('--help');
    expect(top.stdout).toMatch(/remove \[options\] \[inventory\]/);
    const help = await cli('remove', '--help');
    expect(help.stdout).toMatch(/--limit <pattern>/);
    expect(help.stdout).toMatch(/--check/);
    expect(help.stdout).toMatch(/--json/);
    expect(help.stdout).toMatch(/boot hook/);
  });

  it('needs --limit', async () => {
    const r = await cli('remove', project());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--limit/);
  });

  it('acts on a host no play targets (drift has no host to act on there), and reports it like any other', async () => {
    const inventory = project();
    const drift = await cli('drift', inventory, '--limit', 'r2');
    expect(drift.stderr).toMatch(/no host to act on/);
    const r = await cli('remove', inventory, '--limit', 'r2', '--json', '--connect-timeout', '2');
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { command: string; hosts: { host: string; outcome: string; message: string }[] };
    expect(doc.command).toBe('remove');
    expect(doc.hosts.map((h) => [h.host, h.outcome])).toEqual([['r2', 'unreachable']]);
    expect(doc.hosts[0].message).toMatch(/nothing was changed/);
  });
});
