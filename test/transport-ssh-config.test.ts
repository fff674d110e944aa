import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseProxyJump, parseSshConfigText, resolveSshConfig, type SshConfigContext } from '../src/transport/ssh-config.js';
import { Ssh2Transport } from '../src/transport/ssh2-transport.js';

const HOME = join(import.meta.dirname, 'fixtures', 'transport', 'home');
const CONFIG = join(HOME, '.ssh', 'config');
const ctx: SshConfigContext = { homeDir: HOME, localUser: 'tester' };
const ssh = (...parts: string[]): string => join(HOME, '.ssh', ...parts);

describe('resolveSshConfig', () => {
  it.each([
    [
      'pattern block, then a later block: first obtained value wins',
      'router-1',
      { hostName: '10.0.0.1', user: 'admin', port: 2200, identityFiles: [ssh('router_key'), ssh('common_admin')] },
    ],
    [
      'negated pattern keeps router-9 out; a Match exec it cannot evaluate is skipped, with a warning',
      'router-9',
      {
        user: 'fallback',
        identityFiles: [ssh('common_fallback')],
        warnings: [`${CONFIG}:33: Match exec cannot be evaluated without OpenSSH's ssh client: the block is skipped`],
      },
    ],
    [
      '%h in HostName, ProxyJump chain with user@host:port, Match host on the name after HostName',
      'db.lab',
      {
        hostName: 'db.lab.internal',
        user: 'fallback',
        identitiesOnly: true,
        identityFiles: [ssh('common_fallback')],
        proxyJump: [{ user: 'jump', host: 'bastion.example.net', port: 2022 }, { host: 'second' }],
      },
    ],
    [
      '%d in IdentityFile, IdentitiesOnly, several names on one Host line',
      'bastion.example.net',
      { user: 'jumper', identitiesOnly: true, identityFiles: [ssh('bastion_key'), ssh('common_jumper')] },
    ],
    ['ProxyJump none, quoted value', 'direct', { hostName: 'direct.example.net', user: 'fallback', identityFiles: [ssh('common_fallback')] }],
    [
      'Include with a glob, Key=value syntax, hidden files skipped',
      'extra',
      { hostName: 'extra.example.net', port: 2022, user: 'fallback', identityFiles: [ssh('common_fallback')] },
    ],
  ])('%s', (_label, host, expected) => {
    expect(resolveSshConfig(host, CONFIG, ctx)).toEqual(expected);
  });

  it('a missing config file resolves to nothing', () => {
    expect(resolveSshConfig('r1', join(HOME, 'no-such-config'), ctx)).toEqual({ identityFiles: [] });
  });

  it('reports a bad value with file:line', () => {
    const readFile = (): string => 'Host r1\n  Port 99999\n';
    expect(() => resolveSshConfig('r1', '/cfg', { ...ctx, readFile })).toThrow('/cfg:2');
  });

  it('an Include inside a Host block applies only when that block matches', () => {
    const files: Record<string, string> = {
      '/cfg': 'Host r1\n  Include /inc\nHost *\n  User other\n',
      '/inc': 'Port 2201\nHost never-r1\n  User x\n',
    };
    const readFile = (path: string): string | undefined => files[path];
    expect(resolveSshConfig('r1', '/cfg', { ...ctx, readFile })).toEqual({ port: 2201, user: 'other', identityFiles: [] });
    expect(resolveSshConfig('r2', '/cfg', { ...ctx, readFile })).toEqual({ user: 'other', identityFiles: [] });
  });

  it('lines before the first Host apply to every host', () => {
    const readFile = (): string => 'User global\nHost r1\n  User r1user\n';
    expect(resolveSshConfig('r1', '/cfg', { ...ctx, readFile }).user).toBe('global');
  });

  it('tokenizes Key=value, quotes and comments', () => {
    expect(parseSshConfigText('Port=22\n  # c\nHostName "a b" # trailing\nUser = x')).toEqual([
      { keyword: 'port', args: ['22'], line: 1 },
      { keyword: 'hostname', args: ['a b'], line: 3 },
      { keyword: 'user', args: ['x'], line: 4 },
    ]);
  });
});

describe('parseProxyJump', () => {
  it.each([
    ['bastion', [{ host: 'bastion' }]],
    ['me@bastion', [{ user: 'me', host: 'bastion' }]],
    ['me@bastion:2222', [{ user: 'me', host: 'bastion', port: 2222 }]],
    ['[2001:db8::1]:2222', [{ host: '2001:db8::1', port: 2222 }]],
    ['ssh://me@bastion:2022', [{ user: 'me', host: 'bastion', port: 2022 }]],
    ['a,b:23', [{ host: 'a' }, { host: 'b', port: 23 }]],
    ['none', undefined],
  ])('%s', (value, expected) => {
    expect(parseProxyJump(value)).toEqual(expected);
  });

  it('refuses a bad port', () => {
    expect(() => parseProxyJump('me@bastion:http')).toThrow('invalid port');
  });
});

describe('Ssh2Transport route: inventory values win over ssh config', () => {
  const warnings: string[] = [];
  const transport = new Ssh2Transport({ homeDir: HOME, env: {}, localUser: 'tester', warn: (m) => warnings.push(m) });

  it('reads ssh config with the built-in parser when HOME is not the user\'s home, and warns once per problem', async () => {
    await transport.resolveRoute({ name: 'a', connection: { host: 'router-9', become: false } });
    await transport.resolveRoute({ name: 'b', connection: { host: 'router-9', user: 'root', become: false } });
    expect(warnings).toEqual([`${CONFIG}:33: Match exec cannot be evaluated without OpenSSH's ssh client: the block is skipped`]);
  });

  it('uses ssh config when the inventory says nothing', async () => {
    const [hop] = await transport.resolveRoute({ name: 'router-1', connection: { host: 'router-1', become: false } });
    expect(hop).toEqual({
      host: '10.0.0.1',
      port: 2200,
      user: 'admin',
      identityFiles: [ssh('router_key'), ssh('common_admin')],
      useDefaultKeys: false,
      identitiesOnly: false,
    });
  });

  it('ansible_port, ansible_user and the private key file win', async () => {
    const [hop] = await transport.resolveRoute({
      name: 'r1',
      connection: { host: 'router-1', port: 22, user: 'root', privateKeyFile: '~/keys/r1', become: false },
    });
    expect(hop).toMatchObject({ host: '10.0.0.1', port: 22, user: 'root' });
    expect(hop.identityFiles[0]).toBe(join(HOME, 'keys', 'r1'));
  });

  it('resolves jump hosts through ssh config too', async () => {
    const hops = await transport.resolveRoute({ name: 'db', connection: { host: 'db.lab', become: false } });
    expect(hops.map((h) => `${h.user}@${h.host}:${h.port}`)).toEqual([
      'jump@bastion.example.net:2022',
      'fallback@second:22',
      'fallback@db.lab.internal:22',
    ]);
    expect(hops[0].identitiesOnly).toBe(true);
  });

  it('defaults to the local user, port 22 and the default keys', async () => {
    const [hop] = await transport.resolveRoute({ name: 'x', connection: { host: 'router-9', become: false } });
    expect(hop).toMatchObject({ host: 'router-9', port: 22, user: 'fallback', useDefaultKeys: false });
    const bare = new Ssh2Transport({ homeDir: '/nonexistent', env: {}, localUser: 'tester' });
    expect((await bare.resolveRoute({ name: 'x', connection: { host: 'h', become: false } }))[0]).toMatchObject({
      host: 'h',
      port: 22,
      user: 'tester',
      useDefaultKeys: true,
    });
  });
});
