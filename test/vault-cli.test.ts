// The vault options on the command line: --vault-password-file (a file, an executable),
// --vault-id LABEL@SOURCE, ANSIBLE_VAULT_PASSWORD_FILE / ANSIBLE_VAULT_IDENTITY_LIST,
// --ask-vault-pass; a missing or wrong password stops the command before any host is
// contacted; no decrypted value in what the commands print.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { run } from '../src/cli.js';
import { FakeTransport } from '../src/transport/fake-transport.js';
import { cli, type CliResult } from './helpers/cli.js';
import { vaultEncrypt } from './helpers/vault-encrypt.js';
import { hermeticWorld } from './helpers/ansible-world.js';

const prompts: string[] = [];
let typed: string | undefined = 'unset';
vi.mock('../src/util/secret-prompt.js', async (original) => ({
  ...(await original<typeof import('../src/util/secret-prompt.js')>()),
  promptSecret: async (question: string) => {
    prompts.push(question);
    return typed;
  },
}));

const VAULT = fileURLToPath(new URL('./fixtures/vault/', import.meta.url));
const LAZY = join(VAULT, 'lazy/inventory.yml');
const DEFAULT = join(VAULT, 'default.pass');
const PROD = join(VAULT, 'prod.pass');
const WRONG = join(VAULT, 'wrong.pass');
/** Every plaintext of the lazy fixture's vaulted values and the passwords: none may be printed. */
const SECRETS = ['become-secret', 'never used', 'admin', ...[DEFAULT, PROD].map((f) => readFileSync(f, 'utf8').trim())];
const work = mkdtempSync(join(tmpdir(), 'ml-vault-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => {
  vi.unstubAllEnvs();
  prompts.length = 0;
});

async function withTransport(...args: string[]): Promise<CliResult & { t: FakeTransport }> {
  const t = new FakeTransport();
  for (const h of ['r1', 'r2']) t.setUnreachable(h, 'no route to host (test)');
  let stdout = '';
  let stderr = '';
  const code = await run(['node', 'multilink', ...args], { out: (s) => (stdout += `${s}\n`), err: (s) => (stderr += `${s}\n`) }, () => t, undefined, hermeticWorld());
  return { code, stdout, stderr, t };
}

function noSecretIn(r: CliResult): void {
  for (const s of SECRETS) expect(`${r.stdout}${r.stderr}`).not.toContain(s);
}

describe('render needs only the passwords of what it renders', () => {
  it('a host whose play uses no vaulted var renders without any password (its vaulted login and become password are not used)', async () => {
    const r = await cli('render', LAZY, '--host', 'r1');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('-A ML_MASQ -o wan1 -j MASQUERADE');
    noSecretIn(r);
  });

  it('a host whose play uses a vaulted gateway: exit 1 naming file:line:column and the vault id', async () => {
    const r = await cli('render', LAZY, '--host', 'r2');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/lazy\/inventory\.yml:\d+:20: error: cannot decrypt this vaulted value \(vault id 'default'\): no vault password was given/);
    expect(r.stderr).toContain("needed by '{{ vault_gateway }}' at");
  });

  it('--vault-password-file with a plain file', async () => {
    const r = await cli('render', LAZY, '--host', 'r2', '--vault-password-file', DEFAULT);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ip -4 route replace default via 100.64.9.1 dev wan1');
    noSecretIn(r);
  });

  it('--vault-password-file with an executable script', async () => {
    const script = join(work, 'vault-pass.sh');
    writeFileSync(script, `#!/bin/sh\ncat '${DEFAULT}'\n`);
    chmodSync(script, 0o700);
    const r = await cli('render', LAZY, '--host', 'r2', '--vault-password-file', script);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('via 100.64.9.1 dev wan1');
  });

  it('--vault-id label@file, and a wrong password named by its vault id', async () => {
    expect((await cli('render', LAZY, '--host', 'r2', '--vault-id', `ops@${DEFAULT}`)).code).toBe(0);
    const wrong = await cli('render', LAZY, '--host', 'r2', '--vault-id', `ops@${WRONG}`);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/inventory\.yml:\d+:20: error: cannot decrypt this vaulted value with vault id 'ops' \(wrong password\?\)/);
  });

  it('ANSIBLE_VAULT_PASSWORD_FILE and ANSIBLE_VAULT_IDENTITY_LIST', async () => {
    vi.stubEnv('ANSIBLE_VAULT_PASSWORD_FILE', DEFAULT);
    expect((await cli('render', LAZY, '--host', 'r2')).code).toBe(0);
    vi.unstubAllEnvs();
    vi.stubEnv('ANSIBLE_VAULT_IDENTITY_LIST', `prod@${PROD},ops@${DEFAULT}`);
    expect((await cli('render', LAZY, '--host', 'r2')).code).toBe(0);
  });

  it('--ask-vault-pass asks on the terminal (the prompt function), and an empty answer stops the command', async () => {
    typed = readFileSync(DEFAULT, 'utf8').trim();
    const r = await cli('render', LAZY, '--host', 'r2', '--ask-vault-pass');
    expect(prompts).toEqual(['Vault password: ']);
    expect(r.code).toBe(0);
    typed = '';
    const empty = await cli('render', LAZY, '--host', 'r1', '--vault-id', 'prod@prompt');
    expect(prompts).toEqual(['Vault password: ', 'Vault password (prod): ']);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toBe("error: the vault password typed for vault id 'prod' is empty\n");
  });

  it('a missing password file stops the command, naming it', async () => {
    const r = await cli('render', LAZY, '--host', 'r1', '--vault-password-file', join(work, 'missing'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: the vault password file ${join(work, 'missing')} was not found`);
  });
});

describe('commands that connect decrypt the connection vars first', () => {
  it('deploy without the login\'s password: exit 1 at the value, no host contacted', async () => {
    const r = await withTransport('deploy', LAZY, '--limit', 'r1', '--vault-password-file', DEFAULT);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/lazy\/inventory\.yml:\d+:17: error: cannot decrypt this vaulted value with vault id 'default' \(wrong password\?\); it was encrypted for vault id 'prod', which no password was given for/);
    expect(r.stderr).toContain('no host was contacted');
    expect(r.t.connects).toEqual([]);
  });

  it.each([['drift'], ['status'], ['rollback'], ['weights', 'dsl=2', '--no-write']])('%s: the same, before any host is contacted', async (command, ...rest) => {
    const r = await withTransport(command, LAZY, ...rest, '--limit', 'r1');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: cannot decrypt this vaulted value \(vault id 'prod'\)/);
    expect(r.t.connects).toEqual([]);
  });

  it('with the password the host is contacted as the decrypted user, and no secret is printed (--json)', async () => {
    const r = await withTransport('deploy', LAZY, '--json', '--vault-id', `prod@${PROD}`, '--vault-password-file', DEFAULT);
    expect(r.t.connects.map((c) => [c.host, c.target.connection.user])).toEqual([
      ['r1', 'admin'],
      ['r2', 'root'],
    ]);
    expect(JSON.parse(r.stdout).hosts.map((h: { outcome: string }) => h.outcome)).toEqual(['unreachable', 'unreachable']);
    noSecretIn(r);
  });
});

describe('no decrypted value in a message', () => {
  it('a vaulted value that is not what its place expects is named, not quoted', async () => {
    const playbook = join(work, 'bad.yaml');
    writeFileSync(playbook, '- name: bad\n  hosts: all\n  balance: { lan: lan0 }\n  links:\n    - { name: dsl, interface: wan1, gateway: "{{ vault_unused }}" }\n');
    const inventory = join(work, 'bad-inventory.yml');
    writeFileSync(inventory, readFileSync(LAZY, 'utf8').replace(/multilink_playbooks: \[playbooks\/plain\.yaml\]/, `multilink_playbooks: [${playbook}]`));
    const r = await cli('render', inventory, '--host', 'r1', '--vault-password-file', DEFAULT);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad.yaml:5:46: error: gateway: expected an IPv4 address .*, got '\{\{ vault_unused \}\}' = a value from the vault \(not shown\) \(vault_unused set at .*bad-inventory.yml:\d+:5\)/);
    noSecretIn(r);
  });
});

describe('weights', () => {
  it('does not write into an encrypted inventory: it says so and changes nothing', async () => {
    const inventory = join(work, 'encrypted-hosts');
    const playbook = join(VAULT, 'lazy/playbooks/encrypted.yaml');
    const text = vaultEncrypt(`[routers]\nr1 ansible_host=192.0.2.1\n\n[routers:vars]\nmultilink_playbooks=['${playbook}']\n`, readFileSync(DEFAULT, 'utf8').trim());
    writeFileSync(inventory, text);
    const r = await withTransport('weights', inventory, 'cable=2', '--limit', 'routers', '--vault-password-file', DEFAULT);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: ${inventory} is vault-encrypted: multilink does not write into encrypted files. Set multilink_weights with ansible-vault edit ${inventory}, or apply without writing: --no-write\n`);
    expect(readFileSync(inventory, 'utf8')).toBe(text);
    expect(r.t.connects).toEqual([]);
  });
});
