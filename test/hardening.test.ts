// Issue 24, the hardening an OpenSSH user takes for granted: a private key others can read is
// refused, router output cannot drive the operator's terminal.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
