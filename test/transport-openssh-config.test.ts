// ~/.ssh/config as OpenSSH reads it: `ssh -G` output parsed (recorded), the real ssh client
// asked about Match host/user/exec/final and Include, the built-in parser checked against it
// where it can evaluate, and warning where it cannot. The live part needs the OpenSSH client
// and is skipped with a reason without it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSshG, sshConfigMatters, sshGArgs, SshConfigSource } from '../src/transport/openssh-config.js';
import { resolveSshConfig } from '../src/transport/ssh-config.js';
import { Ssh2Transport } from '../src/transport/ssh2-transport.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'transport');
const ctx = { homeDir: '/home/ops', localUser: 'ops' };

describe('ssh -G output', () => {
  it('takes HostName, Port, User, IdentityFile (tokens expanded), IdentitiesOnly, ProxyJump', () => {
    const out = readFileSync(join(FIXTURES, 'ssh-G-router-7.txt'), 'utf8');
    expect(parseSshG(out, { host: 'router-7' }, ctx)).toEqual({
      hostName: '198.51.100.7',
      port: 2207,
      user: 'admin',
      identityFiles: ['/home/ops/.ssh/router_admin', '/home/ops/.ssh/fleet_key'],
      identitiesOnly: true,
      proxyJump: [{ user: 'ops', host: 'bastion.example.net', port: 2022 }],
    });
  });

  it('OpenSSH\'s own default keys are not configured keys', () => {
    const out = readFileSync(join(FIXTURES, 'ssh-G-defaults.txt'), 'utf8');
    expect(parseSshG(out, { host: 'plain-host' }, ctx)).toMatchObject({ hostName: 'plain-host', port: 22, identityFiles: [] });
  });

  it('warns about a ProxyCommand it cannot run', () => {
    expect(parseSshG('hostname h\nproxycommand nc %h %p\n', { host: 'h' }, ctx).warnings).toEqual([
      'ssh config for h: ProxyCommand is not supported (use ProxyJump); connecting without it',
    ]);
  });

  it('puts the inventory\'s user and port on the command line, and the host after --', () => {
    expect(sshGArgs({ host: 'r1', user: 'root', port: 2222, configFile: '/dev/null' })).toEqual(['-G', '-F', '/dev/null', '-l', 'root', '-p', '2222', '--', 'r1']);
    expect(sshGArgs({ host: '-oProxyCommand=x' })).toEqual(['-G', '--', '-oProxyCommand=x']);
  });
});

describe('the built-in parser evaluates Match host, originalhost, user, localuser', () => {
  const config = [
    'Host r*',
    '    HostName %h.example.net',
    'Match host *.example.net user root',
    '    Port 2201',
    'Match originalhost r2 !localuser ops',
    '    Port 2202',
    'Match all',
    '    IdentitiesOnly yes',
    'Match final originalhost r3',
    '    Port 2203',
    '',
  ].join('\n');
  const resolve = (host: string, user?: string) => resolveSshConfig(host, '/cfg', { ...ctx, readFile: () => config }, { user });

  it.each([
    ['r1', 'root', { hostName: 'r1.example.net', port: 2201, identitiesOnly: true, identityFiles: [] }],
    ['r1', undefined, { hostName: 'r1.example.net', identitiesOnly: true, identityFiles: [] }],
    ['r2', undefined, { hostName: 'r2.example.net', identitiesOnly: true, identityFiles: [] }],
  ])('%s as %s', (host, user, expected) => {
    expect(resolve(host, user)).toEqual(expected);
  });

  it('skips a Match it cannot evaluate only when the rest of it holds, and says so', () => {
    expect(resolve('r3').warnings).toEqual(["/cfg:9: Match final cannot be evaluated without OpenSSH's ssh client: the block is skipped"]);
    expect(resolve('r1').warnings).toBeUndefined();
  });
});

const ssh = spawnSync('ssh', ['-V'], { stdio: 'ignore' }).status === 0;
if (!ssh) console.warn('skipping ssh -G tests: the OpenSSH client (ssh) is not installed');

describe.skipIf(!ssh)('OpenSSH itself (ssh -G)', () => {
  let dir = '';
  let flag = '';
  const me = userInfo().username;
  // Made only when these tests run: a skipped block leaves nothing behind.
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ml-sshg-'));
    flag = join(dir, 'on-call');
    writeFileSync(join(dir, 'included.conf'), 'Host inc-*\n    User from-include\n    Port 2210\n');
    writeFileSync(
      join(dir, 'config'),
      [
        `Include ${join(dir, 'included.conf')}`,
        'Host r*',
        '    HostName %h.example.net',
        'Match host *.example.net user admin',
        '    Port 2201',
        `Match exec "test -e ${flag}" originalhost r2`,
        '    Port 2202',
        'Match final originalhost r3',
        '    Port 2203',
        'Match originalhost r4 !user admin',
        '    IdentityFile %d/.ssh/r4_%r',
        'Host *',
        '    IdentitiesOnly yes',
        '',
      ].join('\n'),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const source = (mode: 'openssh' | 'builtin', warn: (m: string) => void = () => undefined) =>
    new SshConfigSource({ homeDir: homedir(), localUser: me, configFile: join(dir, 'config'), configFileGiven: true, mode, warn });

  it('Match host (after HostName) and user, Include', async () => {
    const s = source('openssh');
    expect(await s.resolve('r1', { user: 'admin' })).toMatchObject({ hostName: 'r1.example.net', port: 2201, user: 'admin', identitiesOnly: true });
    expect(await s.resolve('r1', { user: 'ops' })).toMatchObject({ port: 22, user: 'ops' });
    expect(await s.resolve('inc-a')).toMatchObject({ hostName: 'inc-a', port: 2210, user: 'from-include' });
  });

  it('Match exec: OpenSSH runs the command', async () => {
    const off = await source('openssh').resolve('r2');
    writeFileSync(flag, '');
    const on = await source('openssh').resolve('r2');
    rmSync(flag);
    expect([off.port, on.port]).toEqual([22, 2202]);
  });

  it('Match final, and tokens in IdentityFile', async () => {
    const s = source('openssh');
    expect((await s.resolve('r3')).port).toBe(2203);
    expect((await s.resolve('r4', { user: 'bob' })).identityFiles).toEqual([join(homedir(), '.ssh', 'r4_bob')]);
  });

  it('the built-in parser agrees wherever it can evaluate, and warns where it cannot', async () => {
    const warnings: string[] = [];
    const builtin = source('builtin', (m) => warnings.push(m));
    const openssh = source('openssh');
    for (const [host, user] of [['r1', 'admin'], ['r1', undefined], ['r1', 'root'], ['inc-b', undefined], ['r4', 'bob'], ['r4', 'admin'], ['zz', 'admin']] as const) {
      const target = user ? { user } : {};
      const a = await openssh.resolve(host, target);
      const b = await builtin.resolve(host, target);
      expect({ host, user, port: b.port ?? 22, hostName: b.hostName ?? host, identityFiles: b.identityFiles, identitiesOnly: b.identitiesOnly ?? false }).toEqual({
        host,
        user,
        port: a.port,
        hostName: a.hostName,
        identityFiles: a.identityFiles,
        identitiesOnly: a.identitiesOnly ?? false,
      });
    }
    await builtin.resolve('r2');
    await builtin.resolve('r3');
    expect(warnings).toEqual([
      `${join(dir, 'config')}:6: Match exec cannot be evaluated without OpenSSH's ssh client: the block is skipped`,
      `${join(dir, 'config')}:8: Match final cannot be evaluated without OpenSSH's ssh client: the block is skipped`,
    ]);
  });

  it('a config OpenSSH refuses is an error naming the line, as OpenSSH words it', async () => {
    writeFileSync(join(dir, 'bad'), 'Host x\n    Bogus yes\n');
    const s = new SshConfigSource({ homeDir: homedir(), localUser: me, configFile: join(dir, 'bad'), configFileGiven: true, mode: 'openssh' });
    await expect(s.resolve('x')).rejects.toThrow(/line 2: Bad configuration option: bogus/);
  });

  it('the transport routes through it: inventory values on the command line, jump hosts too', async () => {
    writeFileSync(join(dir, 'jump'), 'Host edge-*\n    ProxyJump bastion\nHost bastion\n    HostName 192.0.2.99\n    User jumper\n    Port 2022\n');
    const t = new Ssh2Transport({ sshConfigFile: join(dir, 'jump'), sshConfig: 'openssh', env: {} });
    const hops = await t.resolveRoute({ name: 'e1', connection: { host: 'edge-1', user: 'root', port: 2200, become: false } });
    expect(hops.map((h) => `${h.user}@${h.host}:${h.port}`)).toEqual(['jumper@192.0.2.99:2022', 'root@edge-1:2200']);
  });
});

describe('when OpenSSH is asked', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-sshcfg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('only when a user config exists or the system-wide files set something multilink uses', () => {
    const user = join(dir, 'user-config');
    const system = join(dir, 'ssh_config');
    const folder = join(dir, 'ssh_config.d');
    mkdirSync(folder);
    // Debian's own ssh_config: nothing that changes where or as whom multilink connects
    writeFileSync(system, 'Include /etc/ssh/ssh_config.d/*.conf\nHost *\n    SendEnv LANG LC_*\n    HashKnownHosts yes\n    GSSAPIAuthentication yes\n');
    expect(sshConfigMatters(user, [system, folder])).toBe(false);
    writeFileSync(join(folder, '50-fleet.conf'), 'Host edge-*\n    User ops\n');
    expect(sshConfigMatters(user, [system, folder])).toBe(true);
    rmSync(join(folder, '50-fleet.conf'));
    writeFileSync(user, '# empty for now\n');
    expect(sshConfigMatters(user, [system, folder])).toBe(true);
  });

  it('not when HOME is not the user\'s home (OpenSSH would read the real one)', () => {
    const s = new SshConfigSource({ homeDir: dir, localUser: 'x', configFile: join(dir, 'user-config'), configFileGiven: false });
    expect(s.openssh).toBe(false);
  });
});
