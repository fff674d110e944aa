// Issue 24: inputs nobody thought hostile, refused at file:line:column before they cost the
// controller time or memory, or reach a command line.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Diagnostics, formatDiagnostic } from '../src/diagnostics.js';
import { loadProject } from '../src/load/resolve.js';
import { MATCH_BUDGET_MS, matchPattern } from '../src/load/patterns.js';
import type { Inventory } from '../src/model/inventory.js';
import { loadInventoryFile } from '../src/load/inventory.js';
import { cli } from './helpers/cli.js';
import { aliasNodeCap, parseYaml } from '../src/load/yaml-source.js';

const dir = mkdtempSync(join(tmpdir(), 'multilink-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A "billion laughs": each level a list of ten aliases to the level before. */
export function aliasBomb(levels: number): string {
  const lines = ['all:', '  vars:', '    l0: &l0 ["lol"]'];
  for (let i = 1; i <= levels; i++) lines.push(`    l${i}: &l${i} [${Array.from({ length: 10 }, () => `*l${i - 1}`).join(', ')}]`);
  lines.push('  hosts:', '    r1: { ansible_host: 192.0.2.1 }', '');
  return lines.join('\n');
}

describe('YAML alias bomb', () => {
  it.each([4, 8, 12])('%i levels of ten aliases are refused at the alias, quickly and in bounded memory', (levels) => {
    const text = aliasBomb(levels);
    const heap = process.memoryUsage().heapUsed;
    const started = performance.now();
    const diags = new Diagnostics();
    expect(parseYaml(text, 'bomb.yaml', diags)).toBeUndefined();
    const ms = performance.now() - started;
    const errors = diags.items.filter((d) => d.severity === 'error').map(formatDiagnostic);
    expect(errors).toHaveLength(1);
    // Level 4 is the first whose ten aliases to level 3 (10^3 nodes each) cross the cap: its first alias.
    expect(errors[0]).toMatch(/^bomb\.yaml:7:14: error: YAML alias \*l3 and the aliases in it expand to more than [\d,]+ nodes \(an alias bomb\?\)/);
    // Generous bounds (a loaded CI machine): ~35 ms measured, bench/alias-bomb.ts prints it.
    expect(ms).toBeLessThan(2000);
    expect(process.memoryUsage().heapUsed - heap).toBeLessThan(256 * 1024 * 1024);
  });

  it('an inventory with the bomb is refused by the loader with file:line:column', () => {
    const file = join(dir, 'bomb.yaml');
    writeFileSync(file, aliasBomb(8));
    const project = loadProject(file);
    const errors = project.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
    expect(errors.some((e) => /bomb\.yaml:\d+:\d+: .*alias bomb/.test(e))).toBe(true);
  });

  it('ordinary reuse of anchors is not limited: three levels (1,000 nodes) and a long list of aliases load', () => {
    const diags = new Diagnostics();
    expect(parseYaml(aliasBomb(3), 'ok.yaml', diags)).toBeDefined();
    const many = ['base: &b { a: 1, b: 2 }', 'hosts:', ...Array.from({ length: 5000 }, (_, i) => `  h${i}: *b`), ''].join('\n');
    expect(parseYaml(many, 'many.yaml', diags)).toBeDefined();
    expect(diags.items).toEqual([]);
    expect(aliasNodeCap(0)).toBe(5000);
  });
});

describe('inventory scripts', () => {
  function script(name: string, body: string): string {
    const file = join(dir, name);
    writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return file;
  }

  it('a script that prints more than 16 MB is stopped and refused', async () => {
    const file = script('flood.sh', 'head -c 40000000 /dev/zero | tr "\\0" " "');
    const res = await cli('inventory', file, '--list');
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/inventory script `.*flood\.sh --list` printed more than 16 MB: stopped reading it/);
  });

  const agentScript = () =>
    script('agent.sh', `[ "$1" = --list ] && printf '{"g":{"hosts":["h1"],"vars":{"agent":"%s"}},"_meta":{"hostvars":{}}}' "\${SSH_AUTH_SOCK:-none}"`);
  const agentSeen = async (file: string): Promise<unknown> => {
    const res = await cli('inventory', file, '--list');
    expect(res.code, res.stderr).toBe(0);
    return (JSON.parse(res.stdout) as { _meta: { hostvars: Record<string, Record<string, unknown>> } })._meta.hostvars.h1.agent;
  };

  it('a script does not get the ssh-agent socket, unless MULTILINK_INVENTORY_SSH_AGENT=1 asks', async () => {
    const file = agentScript();
    const saved = { sock: process.env.SSH_AUTH_SOCK, ask: process.env.MULTILINK_INVENTORY_SSH_AGENT };
    try {
      process.env.SSH_AUTH_SOCK = join(dir, 'agent.sock');
      delete process.env.MULTILINK_INVENTORY_SSH_AGENT;
      expect(await agentSeen(file)).toBe('none');
      process.env.MULTILINK_INVENTORY_SSH_AGENT = '1';
      expect(await agentSeen(file)).toBe(join(dir, 'agent.sock'));
    } finally {
      for (const [k, v] of [['SSH_AUTH_SOCK', saved.sock], ['MULTILINK_INVENTORY_SSH_AGENT', saved.ask]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe('host and user names, as OpenSSH accepts them', () => {
  const playbook = resolve('playbooks/lab.yaml');
  function load(hosts: string[]): string[] {
    const file = join(mkdtempSync(join(dir, 'names-')), 'inventory.yaml');
    writeFileSync(file, ['all:', '  vars:', `    multilink_playbooks: [ ${JSON.stringify(playbook)} ]`, '  children:', '    lab:', '      hosts:', ...hosts.map((h) => `        ${h}`), ''].join('\n'));
    return loadProject(file)
      .diagnostics.filter((d) => d.severity === 'error')
      .map((d) => `${d.pos ? `${d.pos.line}:${d.pos.col}` : ''} ${d.summary}`);
  }

  it('accepts names and addresses OpenSSH accepts', () => {
    expect(load(['r1: { ansible_host: router-1.example.net, ansible_user: admin }', "r2: { ansible_host: '2001:db8::1', ansible_user: 'svc$' }", 'r3: { ansible_host: 192.0.2.3, ansible_user: first.last@corp }'])).toEqual([]);
  });

  it.each([
    ['$(touch /tmp/x)', '$'],
    ['`id`', 'backticks'],
    ['r1;reboot', ';'],
    ['a|b', '|'],
    ["it's", 'quote'],
    ['a&b', '&'],
    ['{a,b}', 'braces'],
    ['-oProxyCommand=x', 'leading dash'],
  ])('refuses ansible_host %j (%s) at file:line:column', (host) => {
    expect(load([`r1: { ansible_host: ${JSON.stringify(host)} }`])).toEqual([
      `7:29 ansible_host: expected a host name or address (no blanks, quotes, $ \` \\ ; & < > | ( ) { } or leading dash, as ssh requires), got '${host}'`,
    ]);
  });

  it.each(['a`b`', 'root;x', 'a|b', 'a\\', '-l'])('refuses ansible_user %j at file:line:column', (user) => {
    const [error] = load([`r1: { ansible_host: 192.0.2.1, ansible_user: ${JSON.stringify(user)} }`]);
    expect(error).toMatch(/^7:\d+ ansible_user: expected a user name \(no blanks, quotes, ` ; & < > \| \( \) \{ \}, leading dash or trailing \\, as ssh requires\), got /);
  });

  it('refuses an inventory host name that cannot be used to connect, at the name', () => {
    expect(load(['"r1$(id)": {}'])).toEqual(["7:9 host name 'r1$(id)' cannot be used to connect (no blanks, quotes, $ ` \\ ; & < > | ( ) { } or leading dash, as ssh requires): set ansible_host"]);
  });
});

describe('~regex host patterns', () => {
  function inventory(names: string[]): Inventory {
    const file = join(mkdtempSync(join(dir, 'patterns-')), 'inventory.yaml');
    writeFileSync(file, ['all:', '  hosts:', ...names.map((n) => `    ${JSON.stringify(n)}: { ansible_host: 192.0.2.1 }`), ''].join('\n'));
    return loadInventoryFile(file);
  }

  it('a backtracking regex against long names is stopped at the budget, with a reason', () => {
    const inv = inventory(['a'.repeat(40) + '!', 'r1']);
    const started = performance.now();
    const m = matchPattern('~(a+)+$', inv);
    expect(m.hosts).toEqual([]);
    expect(m.problems).toEqual([`host pattern '~(a+)+$': matching it took more than ${MATCH_BUDGET_MS / 1000} s (a regular expression that backtracks, like (a+)+): write it another way`]);
    // The budget, plus a generous margin for a loaded machine (unguarded: hours).
    expect(performance.now() - started).toBeLessThan(MATCH_BUDGET_MS + 4000);
  });

  it('ordinary regexes and globs match as before', () => {
    const inv = inventory(['r1', 'r2', 'edge-10', 'core1']);
    expect(matchPattern('~r\\d', inv).hosts).toEqual(['r1', 'r2']);
    expect(matchPattern('edge-*:core?', inv).hosts).toEqual(['edge-10', 'core1']);
    expect(matchPattern('r1', inv).hosts).toEqual(['r1']);
  });
});
