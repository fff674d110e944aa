// Ansible Vault's cipher and envelope against texts made by ansible-vault itself
// (test/fixtures/vault/make-fixtures.sh): formats 1.1 and 1.2, the vault id chosen by label and,
// without one, by trying each password as Ansible does; wrong, missing and damaged input.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Diagnostics } from '../src/diagnostics.js';
import { openFileText, parseEnvelope, VaultKeyring, type VaultSecret } from '../src/load/vault.js';
import { vaultEncrypt } from './helpers/vault-encrypt.js';

const DIR = fileURLToPath(new URL('./fixtures/vault/', import.meta.url));
const read = (name: string): string => readFileSync(join(DIR, name), 'utf8');
const password = (name: string): Buffer => Buffer.from(read(name).trim(), 'utf8');
const PLAINTEXT = 'the plaintext\nwith two lines, ünïcode and a trailing newline\n';
const TEXT_11 = read('text-1.1.vault');
const TEXT_12 = read('text-1.2-prod.vault');

const secret = (id: string, file: string): VaultSecret => ({ id, password: password(file) });

describe('the vault envelope', () => {
  it('reads the version, the cipher and 1.2\'s vault id', () => {
    expect(parseEnvelope(TEXT_11)).toMatchObject({ version: '1.1', cipher: 'AES256' });
    expect(parseEnvelope(TEXT_11).label).toBeUndefined();
    expect(parseEnvelope(TEXT_12)).toMatchObject({ version: '1.2', cipher: 'AES256', label: 'prod' });
  });
});

describe('VaultKeyring.open', () => {
  it('decrypts format 1.1 with the default password', () => {
    const opened = new VaultKeyring([secret('default', 'default.pass')]).open(TEXT_11, 'this text');
    expect(opened).toEqual({ ok: true, plaintext: Buffer.from(PLAINTEXT), id: 'default' });
  });

  it('decrypts format 1.2 with the password of its vault id, whatever the order given', () => {
    const keyring = new VaultKeyring([secret('default', 'default.pass'), secret('prod', 'prod.pass')]);
    const opened = keyring.open(TEXT_12, 'this text');
    expect(opened).toMatchObject({ ok: true, id: 'prod' });
    expect(opened.ok && opened.plaintext.toString('utf8')).toBe(PLAINTEXT);
  });

  it('tries every password on a 1.1 text, which names no vault id', () => {
    const keyring = new VaultKeyring([secret('prod', 'prod.pass'), secret('dev', 'wrong.pass'), secret('ops', 'default.pass')]);
    expect(keyring.open(TEXT_11, 'this text')).toMatchObject({ ok: true, id: 'ops' });
  });

  it('tries the other passwords too when none is given for a 1.2 text\'s vault id (vault_id_match is off)', () => {
    expect(new VaultKeyring([secret('dev', 'prod.pass')]).open(TEXT_12, 'this text')).toMatchObject({ ok: true, id: 'dev' });
  });

  it('says a wrong password is wrong, naming the vault ids tried and never the password', () => {
    const wrong = new VaultKeyring([secret('prod', 'wrong.pass')]).open(TEXT_12, 'this vaulted value');
    expect(wrong).toEqual({ ok: false, problem: "cannot decrypt this vaulted value with vault id 'prod' (wrong password?)" });
    const two = new VaultKeyring([secret('default', 'wrong.pass'), secret('prod', 'prod.pass')]).open(TEXT_11, 'this vaulted value');
    expect(two).toEqual({ ok: false, problem: "cannot decrypt this vaulted value with vault ids 'default', 'prod' (wrong password?)" });
    const other = new VaultKeyring([secret('dev', 'wrong.pass')]).open(TEXT_12, 'this vaulted value');
    expect(other).toEqual({
      ok: false,
      problem: "cannot decrypt this vaulted value with vault id 'dev' (wrong password?); it was encrypted for vault id 'prod', which no password was given for",
    });
    for (const result of [wrong, two, other]) expect(JSON.stringify(result)).not.toContain(read('wrong.pass').trim());
  });

  it('says how to give a password when none was given, naming the vault id', () => {
    expect(new VaultKeyring().open(TEXT_12, 'this vaulted value')).toEqual({
      ok: false,
      problem: "cannot decrypt this vaulted value (vault id 'prod'): no vault password was given; use --vault-id prod@FILE, --vault-password-file FILE or --ask-vault-pass",
    });
    expect(new VaultKeyring().open(TEXT_11, 'this vaulted value')).toEqual({
      ok: false,
      problem: "cannot decrypt this vaulted value (vault id 'default'): no vault password was given; use --vault-password-file FILE, --vault-id FILE or --ask-vault-pass",
    });
  });

  it('tells damaged text from a wrong password', () => {
    const keyring = new VaultKeyring([secret('default', 'default.pass')]);
    const [header, ...lines] = TEXT_11.split('\n');
    const notHex = [header, `zz${lines[0].slice(2)}`, ...lines.slice(1)].join('\n');
    expect(keyring.open(notHex, 'this value')).toEqual({ ok: false, problem: 'this value is not Ansible Vault data: its payload is not hexadecimal' });
    expect(keyring.open(`${header}\n`, 'this value')).toEqual({ ok: false, problem: 'this value is not Ansible Vault data: its payload does not hold a salt, an HMAC and a ciphertext' });
    expect(keyring.open(TEXT_11.replace('AES256', 'AES'), 'this value')).toEqual({ ok: false, problem: "this value uses the cipher 'AES'; Ansible Vault's only cipher is AES256" });
    expect(keyring.open('$ANSIBLE_VAULT\n00\n', 'this value')).toMatchObject({ ok: false, problem: expect.stringContaining('is not $ANSIBLE_VAULT;VERSION;CIPHER') });
    // One flipped byte of the ciphertext: the HMAC no longer matches, as with a wrong password.
    const inner = Buffer.from(lines.join(''), 'hex').toString('latin1').split('\n');
    inner[2] = `${inner[2].slice(0, -1)}${inner[2].endsWith('0') ? '1' : '0'}`;
    const tampered = `${header}\n${Buffer.from(inner.join('\n'), 'latin1').toString('hex')}\n`;
    expect(keyring.open(tampered, 'this value')).toMatchObject({ ok: false, problem: expect.stringContaining('(wrong password?)') });
  });

  it('derives the keys once per text and password, however often the text is used', () => {
    const keyring = new VaultKeyring([secret('default', 'default.pass')]);
    const started = performance.now();
    keyring.open(TEXT_11, 'this value');
    const first = performance.now() - started;
    const again = performance.now();
    for (let i = 0; i < 1000; i++) keyring.open(TEXT_11, 'this value');
    expect(performance.now() - again).toBeLessThan(Math.max(first * 20, 50));
  });
});

describe('openFileText', () => {
  it('leaves a plain file alone and decrypts a whole encrypted one', () => {
    const keyring = new VaultKeyring([secret('prod', 'prod.pass')]);
    const diags = new Diagnostics();
    expect(openFileText('all:\n', 'inv.yml', keyring, diags)).toEqual({ text: 'all:\n', decrypted: false });
    expect(openFileText(TEXT_12, 'group_vars/routers.yml', keyring, diags)).toEqual({ text: PLAINTEXT, decrypted: true });
    expect(openFileText(TEXT_12, 'group_vars/routers.yml', new VaultKeyring(), diags)).toBeUndefined();
    expect(diags.items).toEqual([
      {
        severity: 'error',
        summary: "cannot decrypt this vault-encrypted file (vault id 'prod'): no vault password was given; use --vault-id prod@FILE, --vault-password-file FILE or --ask-vault-pass",
        pos: { file: 'group_vars/routers.yml', line: 1, col: 1 },
      },
    ]);
  });
});

// ansible-vault itself decrypts what multilink decrypts (the fixtures are its own output), and
// multilink decrypts what it encrypts now, on this machine.
const ansibleVault = spawnSync('sh', ['-c', 'command -v ansible-vault'], { encoding: 'utf8' }).stdout.trim();
if (!ansibleVault) console.warn('vault cipher oracle skipped: ansible-vault is not installed (apt-get install ansible-core; .ci/run does)');

describe.skipIf(!ansibleVault)('agrees with ansible-vault', () => {
  it('decrypts a text ansible-vault encrypts now, in both formats, and ansible-vault reads the fixtures as multilink does', () => {
    const work = mkdtempSync(join(tmpdir(), 'ml-vault-'));
    try {
      const env = { ...process.env, ANSIBLE_CONFIG: join(work, 'ansible.cfg'), ANSIBLE_HOME: work, ANSIBLE_LOCAL_TEMP: join(work, 'tmp') };
      writeFileSync(join(work, 'ansible.cfg'), '');
      const plaintext = `fresh ${Date.now()} 🔑\n`.repeat(7);
      writeFileSync(join(work, 'plain'), plaintext);
      const run = (args: string[]): string => {
        const r = spawnSync(ansibleVault, args, { cwd: work, env, encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        return r.stdout;
      };
      run(['encrypt', '--vault-id', `prod@${join(DIR, 'prod.pass')}`, '--output', join(work, 'v12'), join(work, 'plain')]);
      run(['encrypt', '--vault-password-file', join(DIR, 'default.pass'), '--output', join(work, 'v11'), join(work, 'plain')]);
      const keyring = new VaultKeyring([secret('default', 'default.pass'), secret('prod', 'prod.pass')]);
      for (const f of ['v11', 'v12']) {
        const opened = keyring.open(readFileSync(join(work, f), 'utf8'), f);
        expect(opened.ok && opened.plaintext.toString('utf8')).toBe(plaintext);
      }
      const viewed = run(['view', '--vault-id', `prod@${join(DIR, 'prod.pass')}`, join(DIR, 'text-1.2-prod.vault')]);
      expect(viewed).toBe(PLAINTEXT);
      // The tests' own encryption helper writes what ansible-vault reads.
      writeFileSync(join(work, 'helper'), vaultEncrypt(plaintext, read('prod.pass').trim(), 'prod'));
      expect(run(['view', '--vault-id', `prod@${join(DIR, 'prod.pass')}`, join(work, 'helper')])).toBe(plaintext);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
