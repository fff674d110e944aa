// Where vault passwords come from, in Ansible's order: files, executables (stdin closed, stdout
// taken, no password in their arguments or environment), `…-client` scripts, prompts; the
// environment variables; the terminal prompt itself (keys, and a real pseudo-terminal).
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { effectiveVaultSettings, readVaultSecrets, vaultSettingsFromConfig, VaultPasswordError, type SecretIO, type VaultSourceOptions } from '../src/load/vault-secrets.js';
import { vaultEncrypt } from './helpers/vault-encrypt.js';
import { typeKeys } from '../src/util/secret-prompt.js';

const VAULT = fileURLToPath(new URL('./fixtures/vault/', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'ml-vault-secrets-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function file(name: string, text: string, mode = 0o600): string {
  const path = join(work, name);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

interface Recorded {
  io: SecretIO;
  prompts: string[];
  warnings: string[];
}

function io(env: Record<string, string> = {}, answers: (string | undefined)[] = []): Recorded {
  const prompts: string[] = [];
  const warnings: string[] = [];
  return {
    prompts,
    warnings,
    io: {
      env: { PATH: process.env.PATH, ...env },
      cwd: work,
      prompt: async (q) => {
        prompts.push(q);
        return answers.shift();
      },
      warn: (m) => warnings.push(m),
    },
  };
}

async function secrets(opts: VaultSourceOptions, rec = io()): Promise<{ id: string; password: string }[]> {
  const keyring = await readVaultSecrets(opts, rec.io);
  return keyring.secrets.map((s) => ({ id: s.id, password: s.password.toString('utf8') }));
}

describe('password files', () => {
  it('are trimmed as Ansible trims them (blanks and newlines around)', async () => {
    const f = file('pw.txt', '  \tpass word \r\n\n');
    expect(await secrets({ vaultPasswordFile: [f] })).toEqual([{ id: 'default', password: 'pass word' }]);
  });

  it('a relative path is taken from the working folder, ~/ from home', async () => {
    file('rel.txt', 'relative\n');
    expect(await secrets({ vaultId: ['ops@rel.txt'] })).toEqual([{ id: 'ops', password: 'relative' }]);
  });

  it('an empty or missing file is refused, naming it', async () => {
    const empty = file('empty.txt', ' \n');
    await expect(secrets({ vaultPasswordFile: [empty] })).rejects.toThrow(`the vault password file ${empty} is empty`);
    await expect(secrets({ vaultPasswordFile: [join(work, 'nope')] })).rejects.toThrow(`the vault password file ${join(work, 'nope')} was not found`);
  });

  it('a failing source is a warning while another one gives a password, as in Ansible', async () => {
    const rec = io();
    const good = file('good.txt', 'good\n');
    expect(await secrets({ vaultId: [`a@${join(work, 'nope')}`, `b@${good}`] }, rec)).toEqual([{ id: 'b', password: 'good' }]);
    expect(rec.warnings).toEqual([`vault id 'a': the vault password file ${join(work, 'nope')} was not found`]);
  });

  it('a password file encrypted with a password given before it is decrypted', async () => {
    // text-1.1.vault is the fixture's plaintext encrypted with default.pass: it serves as an encrypted "password".
    const encrypted = join(work, 'encrypted-pw');
    copyFileSync(join(VAULT, 'text-1.1.vault'), encrypted);
    const got = await secrets({ vaultPasswordFile: [join(VAULT, 'default.pass'), encrypted] });
    expect(got[1]).toEqual({ id: 'default', password: 'the plaintext\nwith two lines, ünïcode and a trailing newline' });
    await expect(secrets({ vaultPasswordFile: [encrypted] })).rejects.toThrow(`cannot decrypt the vault password file ${encrypted} (vault id 'default'): no vault password was given`);
  });
});

describe('password scripts', () => {
  it('an executable file is run and its output is the password (only newlines around it dropped)', async () => {
    const script = file('pw.sh', '#!/bin/sh\nprintf " scripted \\n"\n', 0o700);
    expect(await secrets({ vaultPasswordFile: [script] })).toEqual([{ id: 'default', password: ' scripted ' }]);
  });

  it('runs with stdin closed, and sees no password given before it, in its arguments or environment', async () => {
    const seen = join(work, 'seen');
    const script = file('spy.sh', `#!/bin/sh\n{ echo "args: $*"; env; } > '${seen}'\nif read line; then echo "read: $line"; else echo "stdin-closed"; fi\n`, 0o700);
    const first = file('first.txt', 'the-first-secret\n');
    const got = await secrets({ vaultId: [`one@${first}`, `two@${script}`] });
    expect(got).toEqual([{ id: 'one', password: 'the-first-secret' }, { id: 'two', password: 'stdin-closed' }]);
    const spied = readFileSync(seen, 'utf8');
    expect(spied).toMatch(/^args: \n/);
    expect(spied).not.toContain('the-first-secret');
  });

  it('a failing script is an error naming it and its exit status', async () => {
    const script = file('fail.sh', '#!/bin/sh\nexit 3\n', 0o700);
    await expect(secrets({ vaultPasswordFile: [script] })).rejects.toThrow(`the vault password script ${script} exited 3`);
    const silent = file('silent.sh', '#!/bin/sh\necho\n', 0o700);
    await expect(secrets({ vaultPasswordFile: [silent] })).rejects.toThrow(`the vault password script ${silent} printed no password`);
  });

  it('a …-client script is asked for the vault id; status 2 means it has none for it', async () => {
    const client = file('keyring-client.py', '#!/bin/sh\n[ "$1 $2" = "--vault-id prod" ] && echo client-prod && exit 0\necho "no such id: $2" >&2\nexit 2\n', 0o700);
    expect(await secrets({ vaultId: [`prod@${client}`] })).toEqual([{ id: 'prod', password: 'client-prod' }]);
    await expect(secrets({ vaultId: [`dev@${client}`] })).rejects.toThrow(`the vault password client script ${client} has no password for vault id 'dev': no such id: dev`);
  });
});

describe('prompts', () => {
  it('--ask-vault-pass asks "Vault password: " for vault id default; prompt asks naming the label', async () => {
    const rec = io({}, [' typed \n', 'second']);
    expect(await secrets({ askVaultPass: true, vaultId: ['prod@prompt'] }, rec)).toEqual([
      { id: 'prod', password: 'typed' },
      { id: 'default', password: 'second' },
    ]);
    expect(rec.prompts).toEqual(['Vault password (prod): ', 'Vault password: ']);
  });

  it('an empty answer or the end of input is refused', async () => {
    await expect(secrets({ askVaultPass: true }, io({}, ['  ']))).rejects.toThrow("the vault password typed for vault id 'default' is empty");
    await expect(secrets({ askVaultPass: true }, io({}, [undefined]))).rejects.toThrow("no vault password was typed for vault id 'default' (end of input)");
    await expect(secrets({ askVaultPass: true }, io({}, [undefined]))).rejects.toBeInstanceOf(VaultPasswordError);
  });
});

describe('the environment', () => {
  it('ANSIBLE_VAULT_IDENTITY_LIST first, then --vault-id, --vault-password-file, ANSIBLE_VAULT_PASSWORD_FILE, the prompt', async () => {
    const f = (name: string): string => file(name, `${name}\n`);
    const rec = io({ ANSIBLE_VAULT_IDENTITY_LIST: ` e1@${f('env-id-1')} , e2@${f('env-id-2')},`, ANSIBLE_VAULT_PASSWORD_FILE: f('env-file') }, ['typed']);
    const got = await secrets({ vaultId: [`c1@${f('cli-id')}`], vaultPasswordFile: [f('cli-file')], askVaultPass: true }, rec);
    expect(got).toEqual([
      { id: 'e1', password: 'env-id-1' },
      { id: 'e2', password: 'env-id-2' },
      { id: 'c1', password: 'cli-id' },
      { id: 'default', password: 'cli-file' },
      { id: 'default', password: 'env-file' },
      { id: 'default', password: 'typed' },
    ]);
  });

  it('nothing given: an empty keyring, and nothing asked', async () => {
    const rec = io();
    expect(await secrets({}, rec)).toEqual([]);
    expect(rec.prompts).toEqual([]);
  });

  it('ANSIBLE_VAULT_IDENTITY names the passwords given without a label (files, prompts) and the texts of format 1.1', async () => {
    const rec = io({ ANSIBLE_VAULT_IDENTITY: 'ops', ANSIBLE_VAULT_PASSWORD_FILE: file('ops-env', 'pw-env\n') }, ['typed 1', 'typed 2']);
    const got = await secrets({ vaultId: ['prompt', `lab@${file('lab', 'pw-lab\n')}`], vaultPasswordFile: [file('ops-cli', 'pw-cli\n')], askVaultPass: true }, rec);
    expect(got.map((g) => g.id)).toEqual(['ops', 'lab', 'ops', 'ops', 'ops']);
    expect(rec.prompts).toEqual(['Vault password (ops): ', 'Vault password: ']);
    const keyring = await readVaultSecrets({ vaultId: [`ops@${file('ops-right', 'right\n')}`] }, io({ ANSIBLE_VAULT_IDENTITY: 'ops', ANSIBLE_VAULT_ID_MATCH: 'yes' }).io);
    // A 1.1 text is the identity's: with the match on, only ops's password is tried, and it opens it.
    expect(keyring.open(vaultEncrypt('x', 'right'), 'this value')).toMatchObject({ ok: true, id: 'ops' });
  });

  it('ANSIBLE_VAULT_ID_MATCH: a text is tried only with its own vault id\'s passwords (by default with every one)', async () => {
    const both = { vaultId: [`dev@${file('dev-pw', 'dev password\n')}`, `prod@${file('prod-pw', 'prod password\n')}`] };
    const forProd = vaultEncrypt('secret', 'dev password', 'prod');
    const loose = await readVaultSecrets(both, io().io);
    expect(loose.open(forProd, 'this value')).toMatchObject({ ok: true, id: 'dev' });
    for (const word of ['1', 'True', 'on', 'y']) {
      const strict = await readVaultSecrets(both, io({ ANSIBLE_VAULT_ID_MATCH: word }).io);
      expect(strict.open(forProd, 'this value')).toEqual({ ok: false, problem: "cannot decrypt this value with vault id 'prod' (wrong password?)" });
    }
    const none = await readVaultSecrets({ vaultId: [both.vaultId[0]] }, io({ ANSIBLE_VAULT_ID_MATCH: 'true' }).io);
    expect(none.open(forProd, 'this value')).toEqual({
      ok: false,
      problem: "cannot decrypt this value (vault id 'prod'): vault_id_match allows only a password of vault id 'prod', and none was given (given: 'dev')",
    });
    expect((await readVaultSecrets(both, io({ ANSIBLE_VAULT_ID_MATCH: 'no' }).io)).open(forProd, 'this value')).toMatchObject({ ok: true });
  });
});

describe('ansible.cfg\'s vault settings (vaultSettingsFromConfig, read by the caller from [defaults])', () => {
  it('types them as Ansible does: quotes removed, the list split, the file from the config\'s folder, the match a boolean', () => {
    expect(
      vaultSettingsFromConfig({ vault_identity: "'ops'", vault_identity_list: 'a@x.pw, b@/abs/y.pw', vault_password_file: 'pw/file', vault_id_match: 'True', inventory: 'hosts' }, '/etc/proj'),
    ).toEqual({ identity: 'ops', identityList: ['a@x.pw', 'b@/abs/y.pw'], passwordFile: '/etc/proj/pw/file', idMatch: true });
    expect(vaultSettingsFromConfig({ vault_id_match: 'false' }, '/x')).toEqual({ idMatch: false });
    expect(vaultSettingsFromConfig({}, '/x')).toEqual({});
  });

  it('the environment wins, setting by setting', async () => {
    const config = vaultSettingsFromConfig({ vault_identity: 'cfg', vault_password_file: file('cfg-pw', 'from cfg\n'), vault_id_match: 'yes', vault_identity_list: `l@${file('cfg-list', 'listed\n')}` }, work);
    expect(effectiveVaultSettings(config, { ANSIBLE_VAULT_IDENTITY: 'env', ANSIBLE_VAULT_ID_MATCH: '0' })).toEqual({ ...config, identity: 'env', idMatch: false });
    const keyring = await readVaultSecrets({}, io().io, config);
    expect(keyring.secrets.map((x) => [x.id, x.password.toString()])).toEqual([
      ['l', 'listed'],
      ['cfg', 'from cfg'],
    ]);
    expect(keyring.matching).toEqual({ identity: 'cfg', idMatch: true });
    const overridden = await readVaultSecrets({}, io({ ANSIBLE_VAULT_IDENTITY_LIST: '', ANSIBLE_VAULT_PASSWORD_FILE: file('env-pw', 'from env\n') }).io, config);
    expect(overridden.secrets.map((x) => [x.id, x.password.toString()])).toEqual([['cfg', 'from env']]);
  });
});

describe('typing at the prompt', () => {
  it.each([
    ['secret\r', { text: 'secret', end: 'line' }],
    ['sec', { text: 'sec' }],
    ['secx\u007fret\n', { text: 'secret', end: 'line' }],
    ['wrong\u0015right\r', { text: 'right', end: 'line' }],
    ['ünï\u007f\r', { text: 'ün', end: 'line' }],
    ['abc\u0003', { text: '', end: 'interrupt' }],
    ['\u0004', { text: '', end: 'eof' }],
    ['ab\u0004c\r', { text: 'abc', end: 'line' }],
  ])('%j', (keys, state) => {
    expect(typeKeys({ text: '' }, keys)).toEqual(state);
  });
});

// The prompt on a real pseudo-terminal: python3's pty module gives the child a controlling
// terminal, so /dev/tty is one; the answer must come back and never be echoed.
const python = spawnSync('sh', ['-c', 'command -v python3'], { encoding: 'utf8' }).stdout.trim();
if (!python) console.warn('pseudo-terminal prompt test skipped: python3 is not installed');

describe.skipIf(!python)('promptSecret on a pseudo-terminal', () => {
  it('asks on the terminal, reads without echo, gives the answer', () => {
    const source = readFileSync(fileURLToPath(new URL('../src/util/secret-prompt.ts', import.meta.url)), 'utf8');
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    writeFileSync(join(work, 'secret-prompt.mjs'), js);
    writeFileSync(join(work, 'ask.mjs'), "import { promptSecret } from './secret-prompt.mjs';\nconst a = await promptSecret('Vault password: ');\nprocess.stdout.write(`GOT[${a}]\\n`);\n");
    const driver = [
      'import os, pty, sys',
      'pid, fd = pty.fork()',
      'if pid == 0:',
      '    os.execv(sys.argv[1], [sys.argv[1], sys.argv[2]])',
      "buf = b''",
      "while b'Vault password: ' not in buf:",
      '    buf += os.read(fd, 1024)',
      "os.write(fd, b'pty-s3cret\\x7fT\\r')",
      'while True:',
      '    try:',
      '        chunk = os.read(fd, 1024)',
      '    except OSError:',
      '        break',
      '    if not chunk:',
      '        break',
      '    buf += chunk',
      'os.waitpid(pid, 0)',
      'sys.stdout.write(buf.decode())',
    ].join('\n');
    const r = spawnSync(python, ['-c', driver, process.execPath, join(work, 'ask.mjs')], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Vault password: ');
    expect(r.stdout).toContain('GOT[pty-s3creT]');
    expect(r.stdout.split('pty-s3cre').length - 1).toBe(1);
  });
});
