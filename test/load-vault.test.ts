// Vault in the load stage: whole encrypted files (inventory, group_vars and host_vars files and
// folders, playbooks) decrypted while loading; inline values only where used — a play's
// template, a connection var of a command that connects — so an inventory whose vaulted vars
// are never used loads without a password.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Diagnostics, formatDiagnostic } from '../src/diagnostics.js';
import { loadInventory } from '../src/load/inventory.js';
import { loadProject, type LoadOptions } from '../src/load/resolve.js';
import { VaultKeyring, type Opened, type VaultSecret } from '../src/load/vault.js';
import { vaultEncrypt } from './helpers/vault-encrypt.js';

const VAULT = fileURLToPath(new URL('./fixtures/vault/', import.meta.url));
const CORPUS = fileURLToPath(new URL('./fixtures/inventories/', import.meta.url));
const LAZY = join(VAULT, 'lazy/inventory.yml');
const secret = (id: string, file: string): VaultSecret => ({ id, password: Buffer.from(readFileSync(join(VAULT, file), 'utf8').trim()) });

/** A keyring that remembers what it was asked to open. */
class RecordingKeyring extends VaultKeyring {
  readonly asked: string[] = [];
  override open(text: string, what: string): Opened {
    this.asked.push(text.split('\n')[1]);
    return super.open(text, what);
  }
}

/** The first line of hex of the inline value `name` in the lazy inventory: which text was opened. */
function firstHexOf(name: string): string {
  const lines = readFileSync(LAZY, 'utf8').split('\n');
  return lines[lines.findIndex((l) => l.trim().startsWith(`${name}: !vault`)) + 2].trim();
}

function load(file: string, options: LoadOptions): { errors: string[]; project: ReturnType<typeof loadProject> } {
  const project = loadProject(file, options);
  return { project, errors: project.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic) };
}

const at = (line: number, col: number): string => `${LAZY}:${line}:${col}`;
const lazyLine = (name: string): number => readFileSync(LAZY, 'utf8').split('\n').findIndex((l) => l.trim().startsWith(`${name}: !vault`)) + 1;

describe('inline vaulted values are decrypted only where used', () => {
  it('render of r1 needs no password: its play uses no vaulted var, its connection vars are not used', () => {
    const vault = new RecordingKeyring();
    const { errors, project } = load(LAZY, { limit: 'r1', connect: false, vault });
    expect(errors).toEqual([]);
    expect(project.hosts.map((h) => h.name)).toEqual(['r1']);
    expect(vault.asked).toEqual([]);
  });

  it('a command that connects to r1 needs its vaulted login: an error at the value naming vault id prod', () => {
    const { errors } = load(LAZY, { limit: 'r1' });
    const user = readFileSync(LAZY, 'utf8').split('\n').findIndex((l) => l.includes('r1: {')) + 1;
    expect(errors).toEqual([
      `${at(lazyLine('vault_user'), 17)}: error: cannot decrypt this vaulted value (vault id 'prod'): no vault password was given; use --vault-id prod@FILE, --vault-password-file FILE or --ask-vault-pass\n  needed by '{{ vault_user }}' at ${at(user, 54)}`,
    ]);
  });

  it('decrypts that login with the password of prod, and nothing else', () => {
    const vault = new RecordingKeyring([secret('prod', 'prod.pass')]);
    const { errors, project } = load(LAZY, { limit: 'r1', vault });
    expect(errors).toEqual([]);
    expect(project.hosts[0].connection.user).toBe('admin');
    expect(vault.asked).toEqual([firstHexOf('vault_user')]);
  });

  it('r2\'s play takes its gateway from a vaulted var: without the password, an error at the value and where the play needs it', () => {
    const { errors } = load(LAZY, { limit: 'r2', connect: false });
    expect(errors).toEqual([
      `${at(lazyLine('vault_gateway'), 20)}: error: cannot decrypt this vaulted value (vault id 'default'): no vault password was given; use --vault-password-file FILE, --vault-id FILE or --ask-vault-pass\n  needed by '{{ vault_gateway }}' at ${join(VAULT, 'lazy/playbooks/vaulted.yaml')}:5:46`,
    ]);
  });

  it('with the default password r2 is compiled with the decrypted gateway; the vault id prod is never needed', () => {
    const vault = new RecordingKeyring([secret('default', 'default.pass')]);
    const { errors, project } = load(LAZY, { limit: 'r2', connect: false, vault });
    expect(errors).toEqual([]);
    expect(project.hosts[0].play.links[0].gateway).toBe('100.64.9.1');
    expect(vault.asked).toEqual([firstHexOf('vault_gateway')]);
  });

  it('a wrong password: the same place, naming the vault id tried', () => {
    const { errors } = load(LAZY, { limit: 'r2', vault: new VaultKeyring([secret('default', 'wrong.pass')]) });
    expect(errors[0]).toMatch(/^.*inventory\.yml:\d+:20: error: cannot decrypt this vaulted value with vault id 'default' \(wrong password\?\)\n {2}needed by/);
  });
});

describe('whole encrypted files are decrypted while loading, as Ansible does', () => {
  const file = join(CORPUS, 'yaml-vault/inventory.yml');
  const both = (): VaultKeyring => new VaultKeyring([secret('prod', 'prod.pass'), secret('default', 'default.pass')]);

  it('group_vars files and files in host_vars folders', () => {
    const diags = new Diagnostics();
    const { inventory, hostVars } = loadInventory(file, diags, { vault: both() });
    expect(diags.items.map(formatDiagnostic)).toEqual([]);
    expect(inventory.hosts.get('r2')?.vars).toMatchObject({ ansible_password: 'from-an-encrypted-file', encrypted_host_var: 'r2-secret', plain_host_var: 'visible' });
    // Every value of a decrypted file is marked secret (never quoted in a message); others are not.
    expect(hostVars.get('r2')?.get('ansible_password')?.value).toMatchObject({ secret: true });
    expect(hostVars.get('r2')?.get('plain_host_var')?.value).not.toHaveProperty('secret');
    // An inline value stays encrypted: it is no file.
    expect(hostVars.get('r1')?.get('ansible_password')?.value).toMatchObject({ kind: 'vault' });
  });

  it('need a password at once, used or not: Ansible stops there too ("Attempting to decrypt but no vault secrets found")', () => {
    const diags = new Diagnostics();
    loadInventory(file, diags);
    expect(diags.items.map(formatDiagnostic)).toEqual([
      `${join(CORPUS, 'yaml-vault/group_vars/routers.yml')}:1:1: error: cannot decrypt this vault-encrypted file (vault id 'prod'): no vault password was given; use --vault-id prod@FILE, --vault-password-file FILE or --ask-vault-pass`,
      `${join(CORPUS, 'yaml-vault/host_vars/r2/secret.yml')}:1:1: error: cannot decrypt this vault-encrypted file (vault id 'default'): no vault password was given; use --vault-password-file FILE, --vault-id FILE or --ask-vault-pass`,
    ]);
  });

  it('an INI inventory encrypted as a whole', () => {
    const ini = join(CORPUS, 'ini-vault/hosts');
    const diags = new Diagnostics();
    const { inventory, hostVars } = loadInventory(ini, diags, { vault: new VaultKeyring([secret('default', 'default.pass')]) });
    expect(diags.items).toEqual([]);
    expect(inventory.format).toBe('ini');
    expect(inventory.hosts.get('r1')?.vars).toEqual({ ansible_host: '192.0.2.1', ansible_password: 'ini-secret', ansible_user: 'admin' });
    expect(hostVars.get('r1')?.get('ansible_password')?.value).toMatchObject({ secret: true });
    const wrong = new Diagnostics();
    loadInventory(ini, wrong, { vault: new VaultKeyring([secret('default', 'wrong.pass')]) });
    expect(wrong.items.map(formatDiagnostic)).toEqual([`${ini}:1:1: error: cannot decrypt this vault-encrypted file with vault id 'default' (wrong password?)`]);
  });

  describe('a playbook encrypted as a whole', () => {
    const work = mkdtempSync(join(tmpdir(), 'ml-vault-load-'));
    afterAll(() => rmSync(work, { recursive: true, force: true }));
    const inventory = join(work, 'inventory.yml');
    const playbook = join(VAULT, 'lazy/playbooks/encrypted.yaml');
    writeFileSync(inventory, `all:\n  vars:\n    multilink_playbooks: [${playbook}]\n  hosts:\n    e1:\n`);

    it('is read with the password', () => {
      const { errors, project } = load(inventory, { vault: new VaultKeyring([secret('default', 'default.pass')]) });
      expect(errors).toEqual([]);
      expect(project.hosts[0].play.links.map((l) => l.name)).toEqual(['cable']);
    });

    it('is an error at its first line without it', () => {
      expect(load(inventory, {}).errors).toEqual([
        `${playbook}:1:1: error: cannot decrypt this vault-encrypted file (vault id 'default'): no vault password was given; use --vault-password-file FILE, --vault-id FILE or --ask-vault-pass`,
      ]);
    });
  });
});

describe('no text of an encrypted file in a message', () => {
  const work = mkdtempSync(join(tmpdir(), 'ml-vault-quiet-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const keyring = new VaultKeyring([{ id: 'default', password: Buffer.from('pw') }]);

  it('an encrypted INI inventory with mistakes: each at its line and column, its text not shown', () => {
    const ini = join(work, 'hosts');
    writeFileSync(ini, vaultEncrypt('[routers]\nr1 pw=s3cr3t oops-word\nr2 set="{1, 2}"\n[routers:vars]\nbad-line-here\n[bad section]\n', 'pw'));
    const diags = new Diagnostics();
    loadInventory(ini, diags, { vault: keyring });
    const text = diags.items.map(formatDiagnostic).join('\n');
    expect(text).toBe(
      [
        `${ini}:2:14: error: expected key=value after the host name, got '<not shown: the file is vault-encrypted>' (quote values with spaces: key="a b")`,
        `${ini}:3:8: error: value <not shown: the file is vault-encrypted> is a Python set, which Ansible cannot use either; quote it to keep it as a string`,
        `${ini}:5:1: error: [routers:vars]: expected key=value, got '<not shown: the file is vault-encrypted>'`,
        `${ini}:6:1: error: invalid section <not shown: the file is vault-encrypted>: expected [group], [group:vars] or [group:children], without spaces`,
      ].join('\n'),
    );
  });

  it('a value of an encrypted group_vars file that is not what its place expects is named, not quoted', () => {
    writeFileSync(join(work, 'inventory.yml'), `all:\n  vars:\n    multilink_playbooks: [${join(VAULT, 'lazy/playbooks/plain.yaml')}]\n  children:\n    plain:\n      hosts:\n        r1:\n`);
    mkdirSync(join(work, 'group_vars'), { recursive: true });
    writeFileSync(join(work, 'group_vars/plain.yml'), vaultEncrypt('ansible_port: port-s3cret\n', 'pw'));
    const { errors } = load(join(work, 'inventory.yml'), { vault: keyring });
    expect(errors).toEqual([`${join(work, 'group_vars/plain.yml')}:1:15: error: ansible_port: expected a whole number from 1 to 65535, got a value from the vault (not shown)`]);
  });
});
