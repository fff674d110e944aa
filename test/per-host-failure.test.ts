// One host's bad data fails that host, not the fleet (issue 22 §3): an undefined variable in
// a template fails the host that lacks it, with file:line:column, and the others are
// contacted; an error in a shared file still refuses everything before any contact.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli.js';
import { FakeTransport } from '../src/transport/fake-transport.js';
import { jsonHosts } from './helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'ml-per-host-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const INVENTORY = `all:
  vars:
    multilink_playbooks: [playbook.yaml]
  hosts:
    r1: { gw: 100.64.1.1 }
    r2: {}
    r3: { gw: 100.64.3.1 }
`;

const PLAYBOOK = `- name: edge
  hosts: all
  balance: { traffic: forwarded, lan: [lan0] }
  links:
    - { name: dsl, interface: wan1, gateway: "{{ gw }}" }
    - { name: lte, interface: wan2, gateway: "{{ gw2 | default('100.64.2.1') }}" }
`;

function project(name: string, playbook: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'inventory.yaml'), INVENTORY);
  writeFileSync(join(dir, 'playbook.yaml'), playbook);
  return join(dir, 'inventory.yaml');
}

async function deploy(inventory: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string; t: FakeTransport }> {
  return command('deploy', inventory, ...args);
}

async function command(name: string, inventory: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string; t: FakeTransport }> {
  const t = new FakeTransport();
  for (const h of ['r1', 'r2', 'r3']) t.setUnreachable(h, 'no route to host (test)');
  let stdout = '';
  let stderr = '';
  const code = await run(['node', 'multilink', name, inventory, ...args], { out: (s) => (stdout += `${s}\n`), err: (s) => (stderr += `${s}\n`) }, () => t);
  return { code, stdout, stderr, t };
}

describe('deploy: a host with an undefined variable fails alone', () => {
  it('r2 is failed with the diagnostic at file:line:column; r1 and r3 are contacted (--json)', async () => {
    const inv = project('undefined-var', PLAYBOOK);
    const r = await deploy(inv, '--json');
    expect(r.t.connects.map((c) => c.host).sort()).toEqual(['r1', 'r3']);
    const hosts = jsonHosts(r);
    expect(Object.keys(hosts)).toEqual(['r1', 'r2', 'r3']);
    expect(hosts.r2.outcome).toBe('failed');
    expect(hosts.r2.message).toMatch(/playbook\.yaml:5:46: error: template '\{\{ gw \}\}': line 1, column 1: 'gw' is undefined/);
    expect(hosts.r1.outcome).toBe('unreachable');
    expect(r.code).toBe(1);
  });

  it('without --json, the failed host is in the summary too', async () => {
    const r = await deploy(project('plain', PLAYBOOK));
    expect(r.t.connects.map((c) => c.host).sort()).toEqual(['r1', 'r3']);
    expect(`${r.stdout}${r.stderr}`).toMatch(/r2.*failed|failed.*r2/);
  });

  it('an error in the shared playbook still refuses everything before any contact', async () => {
    const inv = project('shared', `${PLAYBOOK}    - { name: cable, interface: wan3, gateway: "{{ gw | nope }}" }\n`);
    const r = await deploy(inv, '--json');
    expect(r.t.connects).toEqual([]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain("no filter named 'nope'");
  });
});

describe('drift, status and rollback: the same', () => {
  it("status: r2 is 'error' with the diagnostic, r1 and r3 are read (--json)", async () => {
    const r = await command('status', project('status', PLAYBOOK), '--json');
    expect(r.t.connects.map((c) => c.host).sort()).toEqual(['r1', 'r3']);
    const doc = JSON.parse(r.stdout) as { hosts: { host: string; status: string; message?: string }[]; summary: Record<string, number> };
    expect(doc.hosts.map((h) => [h.host, h.status])).toEqual([
      ['r1', 'unreachable'],
      ['r2', 'error'],
      ['r3', 'unreachable'],
    ]);
    expect(doc.hosts[1].message).toMatch(/playbook\.yaml:5:46: error: template '\{\{ gw \}\}'/);
    expect(doc.summary).toEqual({ ok: 0, unreachable: 2, error: 1 });
    expect(r.code).toBe(1);
  });

  it('status as a table and as OpenMetrics names the failed host too', async () => {
    const inv = project('status-text', PLAYBOOK);
    const table = await command('status', inv);
    expect(table.stdout).toMatch(/r2.*error/);
    const metrics = await command('status', inv, '--format', 'openmetrics');
    expect(metrics.stdout).toContain('multilink_router_up{router="r2"} 0');
  });

  it("drift: r2 is 'error' with the diagnostic, r1 and r3 are checked (--json)", async () => {
    const r = await command('drift', project('drift', PLAYBOOK), '--json');
    expect(r.t.connects.map((c) => c.host).sort()).toEqual(['r1', 'r3']);
    const doc = JSON.parse(r.stdout) as { hosts: { host: string; status: string; message?: string }[]; summary: Record<string, number> };
    expect(doc.hosts.map((h) => [h.host, h.status])).toEqual([
      ['r1', 'unreachable'],
      ['r2', 'error'],
      ['r3', 'unreachable'],
    ]);
    expect(doc.hosts[1].message).toMatch(/playbook\.yaml:5:46: error: template '\{\{ gw \}\}'/);
    expect(doc.summary).toMatchObject({ error: 1, unreachable: 2 });
    expect(r.code).toBe(1);
  });

  it('rollback: r2 is failed, r1 and r3 are contacted (--json)', async () => {
    const r = await command('rollback', project('rollback', PLAYBOOK), '--limit', 'all', '--json');
    expect(r.t.connects.map((c) => c.host).sort()).toEqual(['r1', 'r3']);
    const hosts = jsonHosts(r);
    expect(hosts.r2.outcome).toBe('failed');
    expect(hosts.r2.message).toMatch(/'gw' is undefined/);
    expect(r.code).toBe(1);
  });
});

describe('remove: a host with an undefined variable fails alone', () => {
  it('r2 is failed, r1 and r3 are contacted (--json); a shared error still refuses all', async () => {
    const r = await command('remove', project('remove', PLAYBOOK), '--limit', 'all', '--json');
    expect(r.t.connects.map((c) => c.host).sort()).toEqual(['r1', 'r3']);
    const hosts = jsonHosts(r);
    expect(Object.keys(hosts)).toEqual(['r1', 'r2', 'r3']);
    expect(hosts.r2.outcome).toBe('failed');
    expect(hosts.r2.message).toMatch(/'gw' is undefined/);
    expect(r.code).toBe(1);
    const shared = await command('remove', project('remove-shared', `${PLAYBOOK}    - { name: cable, interface: wan3, gateway: "{{ gw | nope }}" }\n`), '--limit', 'all', '--json');
    expect(shared.t.connects).toEqual([]);
    expect(shared.code).toBe(1);
  });
});

describe('weights: a host with an undefined variable fails alone', () => {
  it('written at all: the file gets the weights, r1 and r3 are contacted, r2 is failed (--json)', async () => {
    const inv = project('weights', PLAYBOOK);
    const r = await command('weights', inv, 'dsl=2', '--json');
    expect(r.t.connects.map((c) => c.host).sort()).toEqual(['r1', 'r3']);
    const hosts = jsonHosts(r);
    expect(Object.keys(hosts)).toEqual(['r1', 'r2', 'r3']);
    expect(hosts.r2.outcome).toBe('failed');
    expect(hosts.r2.message).toMatch(/'gw' is undefined/);
    expect(r.code).toBe(1);
    expect(readFileSync(inv, 'utf8')).toMatch(/multilink_weights:.*dsl: 2/);
  });

  it('--no-write: the same, and the file is left alone', async () => {
    const inv = project('weights-no-write', PLAYBOOK);
    const r = await command('weights', inv, 'dsl=2', '--no-write', '--json');
    expect(r.t.connects.map((c) => c.host).sort()).toEqual(['r1', 'r3']);
    expect(jsonHosts(r).r2.outcome).toBe('failed');
    expect(readFileSync(inv, 'utf8')).toBe(INVENTORY);
  });
});

describe('status --watch: a host with an undefined variable is shown in error, never tried', () => {
  it('r2 is in the frame with its diagnostic and is not retried; r1 and r3 are watched', async () => {
    const r = await command('status', project('watch', PLAYBOOK), '--watch', '--frames', '1');
    expect(r.t.connects.map((c) => c.host)).not.toContain('r2');
    expect(r.t.connects.map((c) => c.host)).toContain('r1');
    const r2 = r.stdout.split('\n').find((l) => l.startsWith('r2'));
    expect(r2, r.stdout).toMatch(/^r2 · error: .*playbook\.yaml:5:46: error: template '\{\{ gw \}\}'/);
    expect(r2).not.toMatch(/retrying/);
    expect(r.stdout.split('\n').find((l) => l.startsWith('r1')), r.stdout).toMatch(/unreachable.*retrying/);
    expect(r.code).toBe(1);
  });
});
