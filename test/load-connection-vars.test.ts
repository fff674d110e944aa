// Connection vars for logins and become (issue 21): the Ansible names and aliases, become vars
// read only with ansible_become, and a password that never shows in a message or a print.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProject } from '../src/load/resolve.js';
import { Secret } from '../src/model/secret.js';
import type { ConnectionVars } from '../src/model/config.js';

const PLAYBOOK = resolve('playbooks/lab.yaml');

/** Every folder a test made, removed when the file is done. */
const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function load(hosts: string, groupVars = ''): ReturnType<typeof loadProject> {
  const dir = mkdtempSync(join(tmpdir(), 'multilink-conn-'));
  made.push(dir);
  const file = join(dir, 'inventory.yaml');
  const vars = `        multilink_playbooks: [ ${JSON.stringify(PLAYBOOK)} ]\n${groupVars}`;
  writeFileSync(file, `all:\n  children:\n    lab:\n      vars:\n${vars}      hosts:\n${hosts}`);
  return loadProject(file);
}

function connection(project: ReturnType<typeof loadProject>, host: string): ConnectionVars {
  const h = project.hosts.find((x) => x.name === host);
  if (!h) throw new Error(`no host ${host}: ${JSON.stringify(project.diagnostics)}`);
  return h.connection;
}

const reveal = (s: Secret | undefined): string | undefined => s?.reveal();

describe('connection vars: passwords and become', () => {
  it('reads each var under its Ansible names; become vars only with ansible_become', () => {
    const p = load(
      [
        "        r1: { ansible_password: 'pw one' }",
        "        r2: { ansible_ssh_pass: 'pw two', ansible_become: true, ansible_become_pass: b2 }",
        '        r3: { ansible_become: yes, ansible_become_method: su, ansible_su_pass: b3, ansible_su_user: admin }',
        '        r4: { ansible_become_password: never-read, ansible_become_method: bogus }',
        '        r5: { ansible_become: true, ansible_become_method: doas, ansible_become_user: root, ansible_become_password: 1234 }',
        '',
      ].join('\n'),
    );
    expect(p.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const [r1, r2, r3, r4, r5] = ['r1', 'r2', 'r3', 'r4', 'r5'].map((h) => connection(p, h));
    expect(reveal(r1.password)).toBe('pw one');
    expect(r1.become).toBe(false);
    expect([reveal(r2.password), r2.becomeMethod, r2.becomeUser, reveal(r2.becomePassword)]).toEqual(['pw two', undefined, undefined, 'b2']);
    expect([r3.becomeMethod, r3.becomeUser, reveal(r3.becomePassword)]).toEqual(['su', 'admin', 'b3']);
    expect(r4).toEqual({ host: 'r4', become: false });
    expect([r5.becomeMethod, r5.becomeUser, reveal(r5.becomePassword)]).toEqual(['doas', undefined, '1234']);
  });

  it('refuses a password that is not one line, or not a string, without showing it', () => {
    const p = load(
      ['        r1: { ansible_password: "first\\nsecond" }', '        r2: { ansible_become: true, ansible_become_password: [ hidden ] }', '        r3: { ansible_become: true, ansible_become_user: "a b" }', ''].join('\n'),
    );
    const errors = p.diagnostics.filter((d) => d.severity === 'error').map((d) => d.summary);
    expect(errors).toEqual([
      'ansible_password: a password must be one line, without line breaks or NUL (the value is not shown)',
      'ansible_become_password: expected a string (the value is not shown)',
      "ansible_become_user: expected a user name, got 'a b'",
    ]);
    expect(errors.join('\n')).not.toMatch(/first|second|hidden/);
  });

  it('ansible_become_exe and ansible_become_flags (and the method\'s own names): a command, and flags split as shlex does; anything else refused', () => {
    const p = load(
      [
        "        r1: { ansible_become: true, ansible_become_exe: /usr/local/bin/sudo, ansible_become_flags: \"-H -S -n --prompt 'a b'\" }",
        '        r2: { ansible_become: true, ansible_become_method: su, ansible_su_exe: busybox-su, ansible_su_flags: -l }',
        "        r3: { ansible_become: true, ansible_become_exe: 'sudo; reboot', ansible_become_flags: \"-u 'unclosed\" }",
        '        r4: { ansible_become_exe: never-read }',
        '',
      ].join('\n'),
    );
    const errors = p.diagnostics.filter((d) => d.severity === 'error').map((d) => d.summary);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^ansible_become_exe: expected a command name or absolute path .*, got 'sudo; reboot'/);
    expect(errors[1]).toMatch(/^ansible_become_flags: expected flags as shell words/);
    const [r1, r2, r4] = ['r1', 'r2', 'r4'].map((h) => connection(p, h));
    expect([r1.becomeExe, r1.becomeFlags]).toEqual(['/usr/local/bin/sudo', ['-H', '-S', '-n', '--prompt', 'a b']]);
    expect([r2.becomeExe, r2.becomeFlags]).toEqual(['busybox-su', ['-l']]);
    expect(r4.becomeExe).toBeUndefined();
  });

  it('a Secret prints, serialises and inspects as [secret]', () => {
    const conn = { host: 'r1', password: new Secret('hunter2') };
    expect(JSON.stringify(conn)).toBe('{"host":"r1","password":"[secret]"}');
    expect(`${conn.password}`).toBe('[secret]');
    expect(inspect(conn)).not.toContain('hunter2');
    expect(conn.password.reveal()).toBe('hunter2');
  });
});
