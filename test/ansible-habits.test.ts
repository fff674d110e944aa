// Ansible's habits (issue 22 §3), each checked against Ansible itself with the same files:
// ansible.cfg where Ansible looks for it and ANSIBLE_* over it (`ansible-config dump`); -u,
// --private-key, -T and -e against the ssh command line `ansible` runs (a recording ssh
// that fails like an unreachable host: no network); -i folders, repeated -i, host lists and
// -e against `ansible-inventory --list`. Everything lives in the test's temp folder: HOME,
// the working folder and ANSIBLE_CONFIG are pointed there, for Ansible and for multilink.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli.js';
import { UnreachableError } from '../src/errors.js';
import { ansibleCfgValue, parseAnsibleCfg, resolveAnsibleSettings, type AnsibleWorld } from '../src/load/ansible-cfg.js';
import type { ConnectOptions, ConnectTarget, Session, Transport } from '../src/transport/transport.js';
import { hermeticWorld } from './helpers/ansible-world.js';
import { cliIn } from './helpers/cli.js';

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
const ansible = which('ansible');
const ansibleInventory = which('ansible-inventory');
const ansibleConfig = which('ansible-config');
const supported = Boolean(ansible && ansibleInventory && ansibleConfig);
if (!supported) console.warn('Ansible oracle cases skipped: ansible-core is not installed (apt-get install ansible-core; .ci/run does)');

let work = '';
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ml-habits-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Writes files (path → text) under a new folder of the test's; returns the folder. */
function tree(name: string, files: Record<string, string>): string {
  const root = join(work, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  mkdirSync(root, { recursive: true });
  return root;
}

/** Ansible run with HOME, the working folder and every ANSIBLE_* variable the test's own. */
function runAnsible(cmd: string, args: string[], where: { cwd: string; home: string; env?: Record<string, string> }): { status: number | null; stdout: string; stderr: string } {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('ANSIBLE_')) env[k] = v;
  Object.assign(env, { HOME: where.home, ANSIBLE_HOME: join(where.home, '.ansible'), ANSIBLE_LOCAL_TEMP: join(where.home, 'tmp'), ANSIBLE_NOCOLOR: '1' }, where.env ?? {});
  const r = spawnSync(cmd, args, { cwd: where.cwd, env, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function world(cwd: string, home: string, env: Record<string, string> = {}): AnsibleWorld {
  return hermeticWorld({ cwd, home, env });
}

describe.skipIf(!supported)('ansible.cfg and ANSIBLE_* as Ansible reads them (ansible-config dump)', () => {
  /** Ansible's settings multilink shares, as `ansible-config dump --only-changed` gives them. */
  function ansibleSays(cwd: string, home: string, env: Record<string, string> = {}): Record<string, unknown> {
    const r = runAnsible(ansibleConfig as string, ['dump', '--only-changed', '-f', 'json'], { cwd, home, env });
    expect(r.status, r.stderr).toBe(0);
    const dump = JSON.parse(r.stdout) as { name: string; value: unknown }[];
    const value = (name: string): unknown => dump.find((d) => d.name === name)?.value;
    return {
      cfg: value('CONFIG_FILE') ?? undefined,
      inventory: value('DEFAULT_HOST_LIST') ?? ['/etc/ansible/hosts'],
      remoteUser: value('DEFAULT_REMOTE_USER') ?? undefined,
      privateKeyFile: value('DEFAULT_PRIVATE_KEY_FILE') ?? undefined,
      forks: value('DEFAULT_FORKS') ?? undefined,
      timeout: value('DEFAULT_TIMEOUT') ?? undefined,
      vaultPasswordFile: value('DEFAULT_VAULT_PASSWORD_FILE') ?? undefined,
    };
  }

  function multilinkSays(w: AnsibleWorld): Record<string, unknown> {
    const s = resolveAnsibleSettings({}, { ...w, etcDir: '/etc/ansible' });
    return {
      cfg: s.cfg?.file,
      inventory: s.inventory,
      remoteUser: s.remoteUser,
      privateKeyFile: s.privateKeyFile,
      forks: s.forks,
      timeout: s.timeout,
      vaultPasswordFile: s.vaultPasswordFile,
    };
  }

  const FULL_CFG = [
    '# every key multilink reads, written the ways configparser takes them',
    '[defaults]',
    'inventory = hosts.yml, more/inv.ini ; two sources, relative to this file',
    'remote_user = "ops"',
    'private_key_file: keys/id_ed25519',
    'FORKS = 7',
    'timeout=12',
    'vault_password_file = ~/vault.pass',
    '[ssh_connection]',
    'pipelining = True',
    '',
  ].join('\n');

  it('./ansible.cfg: every key, relative paths from its folder, ~ from HOME', () => {
    const root = tree('cfg-cwd', { 'proj/ansible.cfg': FULL_CFG, 'home/.ansible.cfg': '[defaults]\nforks = 3\n' });
    const [cwd, home] = [join(root, 'proj'), join(root, 'home')];
    const want = ansibleSays(cwd, home);
    expect(want.forks).toBe(7);
    expect(multilinkSays(world(cwd, home))).toEqual(want);
  });

  it('ANSIBLE_CONFIG (a folder: its ansible.cfg) wins over ./ansible.cfg; ~/.ansible.cfg when there is no other', () => {
    const root = tree('cfg-env', {
      'proj/ansible.cfg': '[defaults]\nforks = 2\n',
      'elsewhere/ansible.cfg': '[defaults]\nforks = 4\nremote_user = elsewhere\n',
      'home/.ansible.cfg': '[defaults]\nforks = 9\ntimeout = 30\n',
      'bare/.keep': '',
    });
    const home = join(root, 'home');
    const env = { ANSIBLE_CONFIG: join(root, 'elsewhere') };
    const a = ansibleSays(join(root, 'proj'), home, env);
    expect(a.forks).toBe(4);
    expect(multilinkSays(world(join(root, 'proj'), home, env))).toEqual(a);
    const b = ansibleSays(join(root, 'bare'), home);
    expect(b.forks).toBe(9);
    expect(multilinkSays(world(join(root, 'bare'), home))).toEqual(b);
  });

  it('ANSIBLE_INVENTORY, ANSIBLE_REMOTE_USER, ANSIBLE_PRIVATE_KEY_FILE, ANSIBLE_FORKS and ANSIBLE_TIMEOUT over ansible.cfg', () => {
    const root = tree('cfg-vars', { 'proj/ansible.cfg': FULL_CFG, 'home/.keep': '' });
    const [cwd, home] = [join(root, 'proj'), join(root, 'home')];
    const env = { ANSIBLE_INVENTORY: 'a.yml,sub/b', ANSIBLE_REMOTE_USER: 'envuser', ANSIBLE_PRIVATE_KEY_FILE: 'env.key', ANSIBLE_FORKS: '11', ANSIBLE_TIMEOUT: '5' };
    const want = ansibleSays(cwd, home, env);
    expect(want.remoteUser).toBe('envuser');
    expect(multilinkSays(world(cwd, home, env))).toEqual(want);
  });

  it('a world-writable working folder: its ansible.cfg is ignored, as Ansible ignores it', () => {
    const root = tree('cfg-open', { 'open/ansible.cfg': '[defaults]\nforks = 2\n', 'home/.ansible.cfg': '[defaults]\nforks = 6\n' });
    chmodSync(join(root, 'open'), 0o777);
    const [cwd, home] = [join(root, 'open'), join(root, 'home')];
    const want = ansibleSays(cwd, home);
    expect(want.forks).toBe(6);
    expect(multilinkSays(world(cwd, home))).toEqual(want);
    expect(resolveAnsibleSettings({}, world(cwd, home)).warnings.join('\n')).toContain('world-writable');
  });
});

describe('ansible.cfg search and values (no Ansible needed)', () => {
  it('/etc/ansible/ansible.cfg last, and its hosts as the default inventory', () => {
    const root = tree('cfg-etc', { 'etc/ansible.cfg': '[defaults]\nforks = 8\n', 'etc/hosts': 'r1\n', 'cwd/.keep': '', 'home/.keep': '' });
    const w = hermeticWorld({ cwd: join(root, 'cwd'), home: join(root, 'home'), etcDir: join(root, 'etc') });
    const s = resolveAnsibleSettings({}, w);
    expect(s.cfg?.file).toBe(join(root, 'etc/ansible.cfg'));
    expect(s.forks).toBe(8);
    expect(s.inventory).toEqual([join(root, 'etc/hosts')]);
  });

  it('flags over variables over ansible.cfg', () => {
    const root = tree('cfg-flags', { 'p/ansible.cfg': '[defaults]\nforks = 8\nremote_user = c\ninventory = i1\n', 'home/.keep': '' });
    const w = world(join(root, 'p'), join(root, 'home'), { ANSIBLE_FORKS: '9', ANSIBLE_REMOTE_USER: 'e' });
    expect(resolveAnsibleSettings({}, w)).toMatchObject({ forks: 9, remoteUser: 'e', inventory: [join(root, 'p/i1')] });
    const s = resolveAnsibleSettings({ forks: 3, remoteUser: 'f', inventory: ['x', 'r1,r2'] }, w);
    expect(s).toMatchObject({ forks: 3, remoteUser: 'f', inventory: ['x', 'r1,r2'] });
  });

  it('other settings are there for their readers: ansibleCfgValue (configparser: keys any case, ; comments, continuation lines)', () => {
    const cfg = parseAnsibleCfg('[defaults]\nVault_Identity_List = "dev@~/.dev.pass, prod@prompt" ; ids\nlong = first\n  second\n[ssh_connection]\nssh_args: -o X=1\n', 'x.cfg');
    expect(ansibleCfgValue(cfg, 'vault_identity_list')).toBe('dev@~/.dev.pass, prod@prompt');
    expect(ansibleCfgValue(cfg, 'long')).toBe('first\nsecond');
    expect(ansibleCfgValue(cfg, 'ssh_args', 'ssh_connection')).toBe('-o X=1');
    expect(ansibleCfgValue(cfg, 'missing')).toBeUndefined();
    expect(ansibleCfgValue(undefined, 'vault_identity_list')).toBeUndefined();
  });

  it.each([
    ['[defaults]\nforks = many\n', /forks: expected a whole number, not "many"/],
    ['[defaults]\nforks = 0\n', /forks: expected a whole number ≥ 1/],
    ['forks = 3\n', /ansible.cfg:1: a key before the first \[section\]/],
    ['[defaults]\nforks = 3\nforks = 4\n', /ansible.cfg:3: key forks appears twice/],
    ['[defaults]\n[defaults]\n', /section \[defaults\] appears twice/],
  ])('a bad ansible.cfg is refused with its place: %j', async (text, message) => {
    const root = tree(`cfg-bad-${Math.random().toString(36).slice(2)}`, { 'ansible.cfg': text, 'hosts': 'r1\n' });
    const r = await cliIn(world(root, join(root, 'home')), 'inventory', '-i', join(root, 'hosts'), '--list');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
  });
});

/** Records each connect and fails it as an unreachable host; counts connects at once. */
class RecordingTransport implements Transport {
  readonly seen: { host: string; user?: string; key?: string; timeoutMs: number }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  async connect(target: ConnectTarget, options: ConnectOptions): Promise<Session> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const c = target.connection;
    this.seen.push({ host: c.host, ...(c.user ? { user: c.user } : {}), ...(c.privateKeyFile ? { key: c.privateKeyFile } : {}), timeoutMs: options.timeoutMs });
    await new Promise((r) => setTimeout(r, 40));
    this.inFlight--;
    throw new UnreachableError(target.name, 'connection refused (recording transport)');
  }
}

/**
 * Paths on the command line are the process's (relative to its working folder): the test
 * runs in the repository, so words naming a file of the scenario's working folder are
 * written out in full, as if multilink had been started there.
 */
function inCwd(cwd: string, args: string[]): string[] {
  return args.map((a) => {
    const [at, path] = a.startsWith('@') ? ['@', a.slice(1)] : ['', a];
    return path !== '' && !path.startsWith('/') && existsSync(join(cwd, path)) ? `${at}${join(cwd, path)}` : a;
  });
}

async function multilink(w: AnsibleWorld, transport: Transport, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(['node', 'multilink', ...inCwd(w.cwd, args)], { out: (t) => (stdout += `${t}\n`), err: (t) => (stderr += `${t}\n`) }, () => transport, undefined, w);
  return { code, stdout, stderr };
}

describe.skipIf(!supported)('-u, --private-key, -T and -e reach the connection as Ansible\'s ssh command line says', () => {
  const INV = [
    'all:',
    '  hosts:',
    '    r1: { ansible_host: 192.0.2.1 }',
    '    r2: { ansible_host: 192.0.2.2, ansible_user: invuser, ansible_ssh_private_key_file: /keys/inv.key }',
    '',
  ].join('\n');

  /** What the recording ssh saw per address: User, IdentityFile, ConnectTimeout. */
  function ansibleSsh(root: string, args: string[], env: Record<string, string> = {}): Record<string, { user?: string; key?: string; timeout: number }> {
    const log = join(root, `log-${Math.random().toString(36).slice(2)}`);
    mkdirSync(log);
    const r = runAnsible(ansible as string, ['all', '-i', 'inv.yml', '-m', 'ping', ...args], {
      cwd: join(root, 'proj'),
      home: join(root, 'home'),
      env: { ANSIBLE_SSH_EXECUTABLE: join(root, 'fakessh'), FAKE_SSH_LOG: log, ...env },
    });
    expect(r.status, r.stderr).toBe(4); // unreachable, every host
    const out: Record<string, { user?: string; key?: string; timeout: number }> = {};
    for (const f of readdirSync(log)) {
      const argv = readFileSync(join(log, f), 'utf8').split('\n');
      const opt = (name: string): string | undefined => argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1).replace(/^"(.*)"$/, '$1');
      const host = argv.find((a) => a.startsWith('192.0.2.')) as string;
      out[host] = { ...(opt('User') ? { user: opt('User') } : {}), ...(opt('IdentityFile') ? { key: opt('IdentityFile') } : {}), timeout: Number(opt('ConnectTimeout')) };
    }
    return out;
  }

  async function multilinkSsh(root: string, args: string[], env: Record<string, string> = {}): Promise<Record<string, { user?: string; key?: string; timeout: number }>> {
    const t = new RecordingTransport();
    const r = await multilink(world(join(root, 'proj'), join(root, 'home'), env), t, 'remove', '-i', 'inv.yml', '--limit', 'all', ...args);
    expect(r.code, r.stderr).toBe(1);
    return Object.fromEntries(t.seen.map((s) => [s.host, { ...(s.user ? { user: s.user } : {}), ...(s.key ? { key: s.key } : {}), timeout: s.timeoutMs / 1000 }]));
  }

  function setup(name: string, cfg: string): string {
    const root = tree(name, {
      'proj/inv.yml': INV,
      'proj/ansible.cfg': cfg,
      'home/.keep': '',
      fakessh: '#!/bin/sh\nfor a in "$@"; do printf \'%s\\n\' "$a"; done > "$FAKE_SSH_LOG/$$"\necho "ssh: connect to host: Connection refused" >&2\nexit 255\n',
    });
    chmodSync(join(root, 'fakessh'), 0o755);
    return root;
  }

  it('ansible.cfg remote_user, private_key_file, timeout; inventory vars over them', async () => {
    const root = setup('ssh-cfg', '[defaults]\nremote_user = cfguser\nprivate_key_file = keys/cfg.key\ntimeout = 7\n');
    const want = ansibleSsh(root, []);
    expect(want['192.0.2.1']).toEqual({ user: 'cfguser', key: join(root, 'proj/keys/cfg.key'), timeout: 7 });
    expect(await multilinkSsh(root, [])).toEqual(want);
  });

  it('ANSIBLE_* over ansible.cfg, then -u, --private-key and -T over those, inventory vars still over all', async () => {
    const root = setup('ssh-flags', '[defaults]\nremote_user = cfguser\nprivate_key_file = keys/cfg.key\ntimeout = 7\n');
    const env = { ANSIBLE_REMOTE_USER: 'envuser', ANSIBLE_PRIVATE_KEY_FILE: '/keys/env.key', ANSIBLE_TIMEOUT: '9' };
    const byEnv = ansibleSsh(root, [], env);
    expect(byEnv['192.0.2.1']).toEqual({ user: 'envuser', key: '/keys/env.key', timeout: 9 });
    expect(await multilinkSsh(root, [], env)).toEqual(byEnv);
    const flags = ['-u', 'flaguser', '--private-key', '/keys/flag.key', '-T', '11'];
    const byFlags = ansibleSsh(root, flags, env);
    expect(byFlags['192.0.2.1']).toEqual({ user: 'flaguser', key: '/keys/flag.key', timeout: 11 });
    expect(byFlags['192.0.2.2']).toMatchObject({ user: 'invuser', key: '/keys/inv.key' });
    expect(await multilinkSsh(root, flags, env)).toEqual(byFlags);
    // Ansible's other spellings: --user, --key-file, --timeout.
    expect(await multilinkSsh(root, ['--user', 'flaguser', '--key-file', '/keys/flag.key', '--timeout', '11'], env)).toEqual(byFlags);
  });

  it('-e over everything, inventory vars included (key=value, JSON, @file; the later -e wins)', async () => {
    const root = setup('ssh-extra', '[defaults]\nremote_user = cfguser\ntimeout = 8\n');
    writeFileSync(join(root, 'proj/extra.yml'), 'ansible_user: fileuser\nansible_ssh_private_key_file: /keys/extra.key\n');
    const args = ['-u', 'flaguser', '-e', 'ansible_user=kvuser', '-e', '{"ansible_user": "jsonuser"}', '-e', '@extra.yml', '-e', 'ansible_user="last-user"'];
    const want = ansibleSsh(root, args);
    expect(want['192.0.2.2']).toMatchObject({ user: 'last-user', key: '/keys/extra.key' });
    expect(await multilinkSsh(root, args)).toEqual(want);
  });
});

describe.skipIf(!supported)('inventory sources and -e as ansible-inventory reads them', () => {
  async function sameListing(cwd: string, args: string[], env: Record<string, string> = {}): Promise<Record<string, unknown>> {
    const home = join(work, 'home-listing');
    mkdirSync(home, { recursive: true });
    const a = runAnsible(ansibleInventory as string, ['--list', ...args], { cwd, home, env: { ANSIBLE_CONFIG: join(cwd, 'ansible.cfg'), ...env } });
    expect(a.status, a.stderr).toBe(0);
    const want = JSON.parse(a.stdout) as Record<string, unknown>;
    const ours = await cliIn(world(cwd, home, { ANSIBLE_CONFIG: join(cwd, 'ansible.cfg'), ...env }), 'inventory', '--list', ...inCwd(cwd, args));
    expect(ours.stderr).toBe('');
    expect(ours.code).toBe(0);
    expect(JSON.parse(ours.stdout)).toEqual(want);
    return want;
  }

  /** A folder as operators keep one: INI and YAML files, a subfolder, group_vars/host_vars, files Ansible skips. */
  function folder(): string {
    return tree('inv-folder', {
      'inventory/01-routers': '[edge]\nr1 ansible_host=192.0.2.1\nr2\n\n[edge:vars]\nrole=edge\n',
      'inventory/02-more.yml': 'all:\n  children:\n    core:\n      hosts:\n        c1: { ansible_port: 2222 }\n    edge:\n      hosts:\n        r3:\n      vars:\n        role: edge-yaml\n',
      'inventory/sub/03-lab.yaml': 'lab:\n  hosts:\n    r1:\n      lab: true\n',
      'inventory/group_vars/edge.yml': 'multilink_weights: { dsl: 2 }\n',
      'inventory/host_vars/c1.yml': 'site: fra\n',
      'inventory/README.md': '# not an inventory: Ansible skips .md\n',
      'inventory/old.ini': '[ignored]\nx1\n',
      'inventory/.hidden': '[hidden]\nh1\n',
      'inventory/notes.txt': 'skipped\n',
      'ansible.cfg': '',
    });
  }

  it('a folder: every inventory file in it and its subfolders, its group_vars and host_vars, .md/.ini/.txt/hidden skipped', async () => {
    const root = folder();
    const want = await sameListing(root, ['-i', 'inventory']);
    expect(Object.keys((want._meta as { hostvars: object }).hostvars).sort()).toEqual(['c1', 'r1', 'r2', 'r3']);
  });

  it('a file in the folder that is no inventory is refused by name (Ansible warns and skips it: a typo would drop routers)', async () => {
    const root = tree('inv-folder-readme', { 'inv/hosts': '[g]\nr1\n', 'inv/README': 'This folder holds the routers of the north.\n', 'home/.keep': '' });
    const r = await cliIn(world(root, join(root, 'home')), 'inventory', '-i', join(root, 'inv'), '--graph');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(root, 'inv/README')}:1:`);
  });

  it('repeated -i merge in order (later vars win); a host list r1,r2:2222,', async () => {
    const root = tree('inv-repeat', {
      'a.ini': '[g]\nr1 x=1 y=1\n',
      'b/hosts.yml': 'g:\n  hosts:\n    r1: { x: 2 }\n    r2:\n',
      'b/group_vars/g.yml': 'z: 3\n',
      'ansible.cfg': '',
    });
    const merged = await sameListing(root, ['-i', 'b/hosts.yml', '-i', 'a.ini']);
    expect((merged._meta as { hostvars: Record<string, unknown> }).hostvars.r1).toEqual({ x: 1, y: 1, z: 3 });
    await sameListing(root, ['-i', 'h1,h2:2222,192.0.2.7']);
  });

  it('the inventory from ansible.cfg, and from ANSIBLE_INVENTORY over it', async () => {
    const root = tree('inv-cfg', { 'cfg-inv.yml': 'all:\n  hosts:\n    from-cfg:\n', 'env-inv.yml': 'all:\n  hosts:\n    from-env:\n', 'ansible.cfg': '[defaults]\ninventory = cfg-inv.yml\n' });
    expect(((await sameListing(root, [])) as { ungrouped: { hosts: string[] } }).ungrouped.hosts).toEqual(['from-cfg']);
    const env = { ANSIBLE_INVENTORY: join(root, 'env-inv.yml') };
    expect(((await sameListing(root, [], env)) as { ungrouped: { hosts: string[] } }).ungrouped.hosts).toEqual(['from-env']);
  });

  it('ansible.cfg vault_password_file opens an encrypted inventory, as ansible-inventory does', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/inventories/ini-vault/', import.meta.url));
    const root = tree('inv-vault', { 'ansible.cfg': `[defaults]\ninventory = ${join(fixture, 'hosts')}\nvault_password_file = ${join(fixture, 'default.pass')}\n` });
    const want = await sameListing(root, []);
    expect(JSON.stringify(want)).toContain('ini-secret');
  });

  it('ansible.cfg vault_identity_list opens it too (a labelled password file), as ansible-inventory does', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/inventories/ini-vault/', import.meta.url));
    const root = tree('inv-vault-ids', { 'ansible.cfg': `[defaults]\ninventory = ${join(fixture, 'hosts')}\nvault_identity_list = ops@${join(fixture, 'default.pass')}\n` });
    const want = await sameListing(root, []);
    expect(JSON.stringify(want)).toContain('ini-secret');
  });

  it('-e key=value (strings, quotes, escapes), inline JSON and YAML, @file, repeated: over host vars', async () => {
    const root = tree('inv-extra', {
      'hosts': '[g]\nr1 a=1 keep=yes\n[g:vars]\nb=2\n',
      'extra.json': '{"c": {"d": [1, "two"]}, "a": "from-file"}',
      'ansible.cfg': '',
    });
    const want = await sameListing(root, ['-i', 'hosts', '-e', 'a=x b="y z" c=\'q\' esc=tab\\there', '-e', '{"n": 5, "l": [1, 2]}', '-e', '{m: yes, o: 1.5}', '-e', '@extra.json', '-e', 'last=1']);
    expect((want._meta as { hostvars: Record<string, Record<string, unknown>> }).hostvars.r1).toMatchObject({ a: 'from-file', b: 'y z', keep: 'yes' });
  });
});

describe('the command line an Ansible user types', () => {
  const FLEET = {
    'inv/hosts.yml': [
      'all:',
      '  vars:',
      '    multilink_playbooks: [../site.yml]',
      '  hosts:',
      ...Array.from({ length: 6 }, (_, i) => `    r${i + 1}: { ansible_host: 192.0.2.${i + 1} }`),
      '',
    ].join('\n'),
    'site.yml': '- hosts: all\n  balance: { lan: lan0 }\n  links:\n    - { name: dsl, interface: wan1, gateway: 100.64.1.1 }\n    - { name: lte, interface: wan2, gateway: 100.64.2.1 }\n',
    'home/.keep': '',
  };

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await cliIn(hermeticWorld(), '--version');
    expect(r).toEqual({ code: 0, stdout: `multilink ${pkg.version}\n`, stderr: '' });
  });

  it.each([
    [['deploy', '-i', 'inv/hosts.yml', 'site.yml']],
    [['deploy', 'inv/hosts.yml', 'site.yml']],
    [['deploy', 'site.yml']],
    [['drift', '-i', 'inv/hosts.yml', 'site.yml', '-C']],
    [['weights', '-i', 'inv/hosts.yml', 'site.yml', 'dsl=2']],
  ])('a playbook on the command line gets a hint, not "too many arguments": %j', async (args) => {
    const root = tree('cli-playbook', FLEET);
    const t = new RecordingTransport();
    const r = await multilink(world(root, join(root, 'home')), t, ...args.filter((a) => a !== '-C'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('site.yml is a playbook: multilink takes no playbook on the command line. It reads the playbooks the inventory names in multilink_playbooks');
    expect(r.stderr).not.toContain('too many arguments');
    expect(t.seen).toEqual([]);
  });

  it('a second inventory argument is refused by name; -i takes several', async () => {
    const root = tree('cli-extra-arg', FLEET);
    const r = await multilink(world(root, join(root, 'home')), new RecordingTransport(), 'drift', 'inv/hosts.yml', 'other');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unexpected argument "other": drift takes one inventory (more: repeat -i)');
  });

  it('no inventory anywhere: says where it looked', async () => {
    const root = tree('cli-none', { 'home/.keep': '' });
    const r = await multilink(world(root, join(root, 'home')), new RecordingTransport(), 'drift');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no inventory given: name it \(multilink drift INVENTORY, or -i INVENTORY\), or set ANSIBLE_INVENTORY or inventory in ansible.cfg/);
  });

  it('-f/--forks, ANSIBLE_FORKS and ansible.cfg forks bound the hosts worked on at once', async () => {
    const root = tree('cli-forks', { ...FLEET, 'ansible.cfg': '[defaults]\nforks = 3\n' });
    const w = (env: Record<string, string> = {}): AnsibleWorld => world(root, join(root, 'home'), env);
    const at = async (wld: AnsibleWorld, ...flags: string[]): Promise<number> => {
      const t = new RecordingTransport();
      const r = await multilink(wld, t, 'drift', '-i', 'inv/hosts.yml', ...flags);
      expect(r.code, r.stderr).toBe(1);
      expect(t.seen).toHaveLength(6);
      return t.maxInFlight;
    };
    expect(await at(w())).toBe(3);
    expect(await at(w({ ANSIBLE_FORKS: '2' }))).toBe(2);
    expect(await at(w({ ANSIBLE_FORKS: '2' }), '-f', '1')).toBe(1);
    expect(await at(w({ ANSIBLE_FORKS: '2' }), '--forks', '6')).toBe(6);
  });

  it('-C, -D and -vvv are taken where Ansible users type them; -T and --connect-timeout must agree', async () => {
    const root = tree('cli-short', FLEET);
    const w = world(root, join(root, 'home'));
    const t = new RecordingTransport();
    const r = await multilink(w, t, 'deploy', '-i', 'inv/hosts.yml', '-C', '-D', '-vvv', '-l', 'r1', '--json');
    expect(r.code, r.stderr).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ command: 'deploy --check' });
    expect(t.seen.map((s) => s.host)).toEqual(['192.0.2.1']);
    const removed = await multilink(w, new RecordingTransport(), 'remove', 'inv/hosts.yml', '-C', '-D', '-l', 'r2', '--json');
    expect(JSON.parse(removed.stdout)).toMatchObject({ command: 'remove --check' });
    for (const args of [['rollback', '-D', '-l', 'r1'], ['weights', 'dsl=2', '--no-write', '-D', '-l', 'r1']]) {
      const r2 = await multilink(w, new RecordingTransport(), args[0], 'inv/hosts.yml', ...args.slice(1), '-vv');
      expect(r2.stderr).not.toMatch(/unknown option/);
      expect(r2.stdout).toMatch(/r1: unreachable/);
    }
    const both = await multilink(w, new RecordingTransport(), 'drift', '-i', 'inv/hosts.yml', '-T', '5', '--connect-timeout', '6');
    expect(both.stderr).toContain('-T/--timeout 5 and --connect-timeout 6 say two things: give one');
  });

  it('a bad remote user from -u or ansible.cfg is refused before any host is contacted', async () => {
    const root = tree('cli-user', FLEET);
    const t = new RecordingTransport();
    const r = await multilink(world(root, join(root, 'home')), t, 'drift', '-i', 'inv/hosts.yml', '-u', '-oProxyCommand=x');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('remote user "-oProxyCommand=x": expected a user name');
    expect(t.seen).toEqual([]);
  });

  it('-e errors name the -e and the column; a file path needs @', async () => {
    const root = tree('cli-extra-bad', FLEET);
    const w = world(root, join(root, 'home'));
    const r = await multilink(w, new RecordingTransport(), 'inventory', '-i', 'inv/hosts.yml', '-e', 'ok=1', '-e', 'ok=2 justaword 9bad=1');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--extra-vars:2:6: error: -e: "justaword" is not KEY=VALUE');
    expect(r.stderr).toContain("--extra-vars:2:16: error: invalid variable name '9bad'");
    const path = await multilink(w, new RecordingTransport(), 'inventory', '-i', 'inv/hosts.yml', '-e', './vars.yml');
    expect(path.stderr).toContain('a file of extra vars is given as @./vars.yml');
  });

  it('-e over the inventory reaches the compiled state (multilink_weights from -e)', async () => {
    const root = tree('cli-extra-render', FLEET);
    const r = await multilink(world(root, join(root, 'home')), new RecordingTransport(), 'render', '-i', 'inv/hosts.yml', '--host', 'r1', '-e', '{"multilink_weights": {"dsl": 0}}');
    expect(r.code, r.stderr).toBe(0);
    const plain = await multilink(world(root, join(root, 'home')), new RecordingTransport(), 'render', '-i', 'inv/hosts.yml', '--host', 'r1');
    expect(r.stdout).not.toEqual(plain.stdout);
    expect(r.stdout).not.toMatch(/ML_BAL\S* .*dsl/);
  });

  it('weights does not write into a folder of inventories (it would not know which file), --no-write applies', async () => {
    const root = tree('cli-weights-folder', { ...FLEET, 'inv/more.yml': 'all:\n  hosts:\n    r7: { ansible_host: 192.0.2.7 }\n' });
    const r = await multilink(world(root, join(root, 'home')), new RecordingTransport(), 'weights', '-i', 'inv', 'dsl=2');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('weights writes multilink_weights into one inventory file, and the inventory here is 2 files');
    const t = new RecordingTransport();
    const applied = await multilink(world(root, join(root, 'home')), t, 'weights', '-i', 'inv', 'dsl=2', '--no-write', '-l', 'r1');
    expect(applied.code).toBe(1);
    expect(t.seen.map((s) => s.host)).toEqual(['192.0.2.1']);
  });
});

describe('ansible_* connection vars multilink does not honour: one warning each, naming the hosts', () => {
  it('warns once per variable, with every host, for commands that connect; render stays quiet', async () => {
    const hosts = Array.from({ length: 8 }, (_, i) => `    r${i + 1}: { ansible_host: 192.0.2.${i + 1}${i < 2 ? ', ansible_connection: local' : ''}${i === 2 ? ', ansible_connection: ssh' : ''} }`);
    const root = tree('unhonoured', {
      'inv.yml': ['all:', '  vars:', '    multilink_playbooks: [site.yml]', '    ansible_ssh_common_args: -o ProxyJump=bastion', '    ansible_python_interpreter: /usr/bin/python3', '  hosts:', ...hosts, '    r9: { ansible_host: 192.0.2.9, ansible_ssh_pipelining: true, ansible_connection: docker }', ''].join('\n'),
      'site.yml': '- hosts: all\n  balance: { lan: lan0 }\n  links:\n    - { name: dsl, interface: wan1, gateway: 100.64.1.1 }\n',
      'home/.keep': '',
    });
    const w = world(root, join(root, 'home'));
    const r = await multilink(w, new RecordingTransport(), 'drift', '-i', 'inv.yml');
    const warnings = r.stderr.split('\n').filter((l) => l.includes('warning:'));
    expect(warnings).toEqual([
      `${join(root, 'inv.yml')}:4:5: warning: ansible_ssh_common_args is set for hosts r1, r2, r3, r4, r5 and 4 more (9 hosts) but multilink does not honour it: its SSH client takes no OpenSSH arguments; put options in ~/.ssh/config (read as ssh -G resolves it)`,
      `${join(root, 'inv.yml')}:7:36: warning: ansible_connection is "local" for hosts r1 and r2; "docker" for host r9: multilink connects over SSH only, and will reach them over SSH`,
      `${join(root, 'inv.yml')}:15:36: warning: ansible_ssh_pipelining is set for host r9 but multilink does not honour it: its SSH client has no such setting`,
    ]);
    const limited = await multilink(w, new RecordingTransport(), 'drift', '-i', 'inv.yml', '-l', 'r3:r4');
    expect(limited.stderr.split('\n').filter((l) => l.includes('warning:'))).toEqual([
      `${join(root, 'inv.yml')}:4:5: warning: ansible_ssh_common_args is set for hosts r3 and r4 but multilink does not honour it: its SSH client takes no OpenSSH arguments; put options in ~/.ssh/config (read as ssh -G resolves it)`,
    ]);
    const rendered = await multilink(w, new RecordingTransport(), 'render', '-i', 'inv.yml', '--host', 'r1');
    expect(rendered.stderr).toBe('');
  });
});
