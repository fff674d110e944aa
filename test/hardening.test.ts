// Issue 24, the hardening an OpenSSH user takes for granted: a private key others can read is
// refused, ssh-rsa (SHA-1) host key signatures only where ssh config lets them in, router output
// cannot drive the operator's terminal.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostKeyAlgorithms } from '../src/transport/host-key-verify.js';
import { parseSshG, sshGArgs } from '../src/transport/openssh-config.js';
import { allowsSshRsa, resolveSshConfig } from '../src/transport/ssh-config.js';
import { authCandidates } from '../src/transport/ssh2-auth.js';
import { plainText } from '../src/util/terminal-text.js';

const dir = mkdtempSync(join(tmpdir(), 'multilink-hardening-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('private key permissions, as ssh checks them', () => {
  const key = join(dir, 'id_ed25519');
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const hop = { host: '192.0.2.1', port: 22, user: 'root', identityFiles: [key], useDefaultKeys: false, identitiesOnly: true };

  it.each([0o600, 0o400])('a key of mode %o is offered', (mode) => {
    chmodSync(key, mode);
    const notes: string[] = [];
    expect(authCandidates(hop, dir, undefined, notes).map((c) => c.label)).toEqual([`publickey ${key}`]);
    expect(notes).toEqual([]);
  });

  it.each([0o644, 0o640, 0o604, 0o660])('a key of mode %o is refused, with the reason and the fix', (mode) => {
    chmodSync(key, mode);
    const notes: string[] = [];
    expect(authCandidates(hop, dir, undefined, notes)).toEqual([]);
    expect(notes).toEqual([`${key}: permissions 0${mode.toString(8)} are too open: a private key must not be accessible by group or others (chmod 600 ${key}), as ssh requires`]);
    chmodSync(key, 0o600);
  });
});

describe('router output printed to a terminal', () => {
  it.each([
    ['colours and cursor moves', 'a\x1b[31mred\x1b[0m\x1b[2J\x1b[1;1Hb', 'aredb'],
    ['a window title (OSC, BEL or ST)', 'x\x1b]0;owned\x07y\x1b]2;t\x1b\\z', 'xyz'],
    ['a device control string', 'p\x1bP1$r\x1b\\q', 'pq'],
    ['C1 CSI', 'u\u009b2Jv', 'uv'],
    ['carriage return and backspace that rewrite a line', 'ok\rFAIL\b\b', 'ok\ufffdFAIL\ufffd\ufffd'],
    ['a lone escape', 'end\x1b', 'end'],
  ])('%s are removed', (_what, text, plain) => {
    expect(plainText(text)).toBe(plain);
  });

  it('newlines, tabs and any printable text stay', () => {
    expect(plainText('r1:\tfailed – état\nnext ✓')).toBe('r1:\tfailed – état\nnext ✓');
  });
});

describe('ssh-rsa (SHA-1) host key signatures, off as in OpenSSH 8.8+', () => {
  it('are not asked for by default, RSA keys sign with SHA-2; ssh config can let them in', () => {
    expect(hostKeyAlgorithms([], '192.0.2.1')).toEqual(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256']);
    expect(hostKeyAlgorithms([], '192.0.2.1', true)).toContain('ssh-rsa');
  });

  it.each([
    ['+ssh-rsa', true],
    ['^ssh-rsa,ssh-ed25519', true],
    ['ssh-ed25519,ssh-rsa', true],
    ['-ssh-rsa', false],
    ['rsa-sha2-512,rsa-sha2-256', false],
    ['ssh-rsa-cert-v01@openssh.com', false],
  ])('HostKeyAlgorithms %s lets ssh-rsa in: %s', (value, allowed) => {
    expect(allowsSshRsa(value)).toBe(allowed);
    const config = `Host old\n  HostKeyAlgorithms ${value}\n`;
    expect(resolveSshConfig('old', '/cfg', { homeDir: dir, localUser: 'ops', readFile: () => config }).rsaSha1HostKeys ?? false).toBe(allowed);
    expect(resolveSshConfig('new', '/cfg', { homeDir: dir, localUser: 'ops', readFile: () => config }).rsaSha1HostKeys).toBeUndefined();
  });

  it.skipIf(spawnSync('ssh', ['-V']).error !== undefined)('as OpenSSH itself resolves it (ssh -G): only for the host given +ssh-rsa', () => {
    const file = join(dir, 'ssh_config');
    writeFileSync(file, 'Host old-router\n  HostKeyAlgorithms +ssh-rsa\n');
    const resolved = (host: string) => {
      const out = spawnSync('ssh', sshGArgs({ host, configFile: file }), { encoding: 'utf8' }).stdout;
      return parseSshG(out, { host }, { homeDir: dir, localUser: 'ops' }).rsaSha1HostKeys;
    };
    expect(resolved('old-router')).toBe(true);
    expect(resolved('new-router')).toBeUndefined();
  });
});
