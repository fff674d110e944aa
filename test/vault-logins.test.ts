// Issue 21, Vault and logins together: an inline-vaulted ansible_password and a become
// password in a whole vault-encrypted group_vars file reach the connection settings decrypted
// (as Secrets) for a command that connects, and are never decrypted for one that does not
// (render). The files are made by ansible-vault itself; skipped with a reason without it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProject } from '../src/load/resolve.js';
import { VaultKeyring } from '../src/load/vault.js';
import { formatDiagnostic } from '../src/diagnostics.js';

const vaultTool = spawnSync('sh', ['-c', 'command -v ansible-vault'], { encoding: 'utf8' }).stdout.trim();
if (!vaultTool) console.warn('vault-logins tests skipped: ansible-vault is not installed (apt-get install ansible-core; .ci/run does)');

describe.skipIf(!vaultTool)('vaulted login and become passwords', () => {
  let dir = '';
  const password = 'vault pass 1';
  const keyring = (p = password) => new VaultKeyring([{ id: 'default', password: Buffer.from(p) }]);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ml-vault-logins-'));
    const env = { ...process.env, ANSIBLE_CONFIG: join(dir, 'ansible.cfg'), ANSIBLE_HOME: dir, ANSIBLE_LOCAL_TEMP: join(dir, 'tmp') };
    writeFileSync(join(dir, 'ansible.cfg'), '');
    writeFileSync(join(dir, 'vault.pass'), `${password}\n`);
    const inline = execFileSync(vaultTool, ['encrypt_string', '--vault-password-file', join(dir, 'vault.pass'), '--name', 'ansible_password', '--', 'ssh secret 7'], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'ignore'] });
    writeFileSync(
      join(dir, 'inv.yaml'),
      `all:\n  vars:\n    multilink_playbooks: [pb.yaml]\n  children:\n    routers:\n      hosts:\n        r1:\n          ansible_host: 192.0.2.1\n          ansible_user: admin\n${inline.replace(/^/gm, '          ')}\n`,
    );
    writeFileSync(join(dir, 'pb.yaml'), '- hosts: all\n  balance: { lan: [lan0] }\n  links:\n    - { name: dsl, interface: wan1, gateway: 100.64.1.1 }\n');
    mkdirSync(join(dir, 'group_vars'));
    writeFileSync(join(dir, 'group_vars', 'routers.yml'), 'ansible_become: true\nansible_become_method: su\nansible_become_password: "become secret 9"\n');
    execFileSync(vaultTool, ['encrypt', '--vault-password-file', join(dir, 'vault.pass'), join(dir, 'group_vars', 'routers.yml')], { env, stdio: 'ignore' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a connecting command gets both passwords decrypted, as Secrets', () => {
    const p = loadProject(join(dir, 'inv.yaml'), { connect: true, vault: keyring() });
    expect(p.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic)).toEqual([]);
    const c = p.hosts[0].connection;
    expect(c.password?.reveal()).toBe('ssh secret 7');
    expect(c.becomePassword?.reveal()).toBe('become secret 9');
    expect(c.become).toBe(true);
    expect(c.becomeMethod).toBe('su');
    expect(JSON.stringify(c)).not.toMatch(/secret 7|secret 9/);
  });

  it('a wrong vault password stops the load at the value, naming the vault id; nothing is shown', () => {
    const p = loadProject(join(dir, 'inv.yaml'), { connect: true, vault: keyring('not it') });
    const errors = p.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic).join('\n');
    expect(errors).toMatch(/routers\.yml:1:1: .*vault id 'default'/);
    expect(errors).not.toMatch(/secret 7|secret 9/);
  });
});
