// Output a CI job can rely on (issue 22 §5): every fleet command names each host's result
// `outcome` and ends with the same summary line; an unreachable host says what was seen,
// once; --json with bad input still prints one JSON document. In-process, fake transport.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli.js';
import { FakeTransport } from '../src/transport/fake-transport.js';

const dir = mkdtempSync(join(tmpdir(), 'ml-fleet-output-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, lines: string[]): string {
  const file = join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

const playbook = write('pb.yaml', ['- name: two links', '  hosts: all', '  balance: { lan: [lan0] }', '  links:', '    - { name: dsl, interface: wan1, gateway: 100.64.1.1 }', '    - { name: cable, interface: wan2, gateway: 100.64.2.1 }']);
const inventory = write('inv.yaml', ['all:', '  vars:', `    multilink_playbooks: [${playbook}]`, '  hosts:', '    r1: { ansible_host: 192.0.2.1 }']);
const badPlaybook = write('bad-pb.yaml', ['- name: bad', '  hosts: all', '  balance: { lan: [lan0] }', '  links:', '    - { name: dsl, interface: wan1, gateway: 100.64.1.300 }']);
const badInventory = write('bad-inv.yaml', ['all:', '  vars:', `    multilink_playbooks: [${badPlaybook}]`, '  hosts:', '    r1: { ansible_host: 192.0.2.1 }']);

async function cli(args: string[], transport = new FakeTransport()): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(['node', 'multilink', ...args], { out: (t) => (stdout += `${t}\n`), err: (t) => (stderr += `${t}\n`) }, () => transport);
  return { code, stdout, stderr };
}

function refusing(): FakeTransport {
  const t = new FakeTransport();
  t.setUnreachable('r1', 'connection refused by 192.0.2.1:22');
  return t;
}

/** Each fleet command, as run against the inventory above. */
const COMMANDS: [string, string[]][] = [
  ['deploy', ['deploy', inventory]],
  ['deploy --check', ['deploy', inventory, '--check']],
  ['drift', ['drift', inventory]],
  ['status', ['status', inventory]],
  ['weights', ['weights', inventory, 'dsl=2', '--limit', 'r1', '--no-write']],
  ['rollback', ['rollback', inventory, '--limit', 'r1']],
  ['remove', ['remove', inventory, '--limit', 'r1']],
];

describe('one vocabulary across fleet commands', () => {
  it.each(COMMANDS)('%s --json: hosts[].outcome, the summary counts it, the reason said once', async (command, args) => {
    const res = await cli([...args, '--json'], refusing());
    expect(res.code).toBe(1);
    const doc = JSON.parse(res.stdout) as { command: string; hosts: { host: string; outcome: string; message: string }[]; summary: Record<string, number> };
    expect(doc.command).toBe(command);
    expect(doc.hosts.map((h) => [h.host, h.outcome])).toEqual([['r1', 'unreachable']]);
    expect(doc.hosts[0].message).toMatch(/^connection refused by 192\.0\.2\.1:22(; nothing was changed)?$/);
    expect(doc.summary.unreachable).toBe(1);
    expect(Object.values(doc.summary).reduce((a, b) => a + b, 0)).toBe(1);
  });

  it.each(COMMANDS)('%s: the closing line is "1 host: unreachable=1", the reason said once', async (_command, args) => {
    const res = await cli(args, refusing());
    expect(res.code).toBe(1);
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('1 host: unreachable=1');
    expect(res.stdout).toContain('connection refused by 192.0.2.1:22');
    expect(res.stdout).not.toMatch(/r1: connection refused/);
  });
});

describe('--json with bad input', () => {
  it.each(COMMANDS)('%s: one JSON document with the diagnostics on stdout, exit 1', async (command, args) => {
    const res = await cli([...args.map((a) => (a === inventory ? badInventory : a)), '--json']);
    expect(res.code).toBe(1);
    const doc = JSON.parse(res.stdout) as { command: string; hosts: unknown[]; error: string; diagnostics: { severity: string; summary: string; pos?: { file: string; line: number; col: number } }[] };
    expect(doc.command).toBe(command);
    expect(doc.hosts).toEqual([]);
    expect(doc.error).toMatch(/^gateway: expected an IPv4 address/);
    expect(doc.diagnostics).toEqual([expect.objectContaining({ severity: 'error', pos: { file: badPlaybook, line: 5, col: 46 } })]);
    // People still read the diagnostics on stderr.
    expect(res.stderr).toContain(`${badPlaybook}:5:46: error: gateway`);
  });

  it('a usage error (unknown option, status --format json) is a JSON document too; without --json stdout stays empty', async () => {
    const unknown = await cli(['drift', inventory, '--json', '--bogus']);
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ command: 'drift', hosts: [], error: "unknown option '--bogus'" });
    const missing = await cli(['status', join(dir, 'nosuch.yaml'), '--format', 'json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({ command: 'status', hosts: [] });
    const plain = await cli(['drift', badInventory]);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toBe('');
  });
});

describe('words of the other commands', () => {
  it('render --host: an unknown or untargeted host is said with --host, never a --limit that was not given', async () => {
    const unknown = await cli(['render', inventory, '--host', 'r9']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`error: --host r9: no host of that name in ${inventory}`);
    expect(unknown.stderr).not.toContain('--limit');
    const untargeted = write('untargeted.yaml', ['all:', '  vars:', `    multilink_playbooks: [${write('pb-r1.yaml', ['- name: r1 only', '  hosts: r1', '  balance: { lan: [lan0] }', '  links:', '    - { name: dsl, interface: wan1, gateway: 100.64.1.1 }'])}]`, '  hosts:', '    r1:', '    r2:']);
    const r2 = await cli(['render', untargeted, '--host', 'r2']);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain(`host r2 is in no play of ${untargeted}`);
    expect(r2.stderr).not.toContain('--limit');
  });

  it.each(['deploy', 'weights', 'rollback', 'remove', 'render', 'inventory', 'drift', 'status'])('%s --help names the inventory formats', async (command) => {
    const help = await cli([command, '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('inventory (YAML, INI, JSON or script)');
  });
});
