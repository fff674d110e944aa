import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Secret } from '../src/model/secret.js';
import { BECOME_OK, becomeCommand, BecomeHandshake, PtyInput, PtyOutput, SUDO_PROMPT, wrapBecome, type BecomeSpec } from '../src/transport/become.js';

describe('wrapBecome', () => {
  it('leaves the command alone without become', () => {
    expect(wrapBecome('ip rule show', false)).toBe('ip rule show');
  });

  it('wraps the whole command line in sudo -n sh -c, quoted', () => {
    expect(wrapBecome('ip rule show', true)).toBe(`sudo -n -- sh -c 'ip rule show'`);
    expect(wrapBecome(`echo 'a' && id`, true)).toBe(`sudo -n -- sh -c 'echo '\\''a'\\'' && id'`);
  });

  it('the quoted command survives a real shell unchanged', () => {
    const command = `printf '%s\\n' "$HOME" 'it''s' ; echo $((1+2)) | cat`;
    // Replace sudo by a function that just runs its arguments, to check the quoting only.
    const script = `sudo() { shift 2; "$@"; }; ${wrapBecome(command, true)}`;
    const direct = execFileSync('sh', ['-c', command], { encoding: 'utf8' });
    expect(execFileSync('sh', ['-c', script], { encoding: 'utf8' })).toBe(direct);
  });
});

describe('become with a password: the handshake (become.ts)', () => {
  const spec = (method: 'sudo' | 'su' | 'doas', password?: string): BecomeSpec => ({ method, user: 'root', ...(password !== undefined ? { password: new Secret(password) } : {}) });

  it('puts no password on any command line and quotes the user', () => {
    for (const method of ['sudo', 'su', 'doas'] as const) {
      const c = becomeCommand({ ...spec(method, 'hunter2'), user: 'ad.min' });
      expect(c.command).not.toContain('hunter2');
      expect(c.pty).toBe(method === 'doas');
    }
    expect(becomeCommand(spec('sudo', 'x')).command).toBe(`sudo -S -p ${SUDO_PROMPT} -u root -- sh -c 'printf '\\''%s\\n'\\'' ${BECOME_OK}; exec sh -s'`);
    expect(becomeCommand(spec('su', 'x')).command).toMatch(/^LC_ALL=C su root -c /);
    expect(wrapBecome('sh -s', true, 'backup')).toBe(`sudo -n -u backup -- sh -c 'sh -s'`);
  });

  it('sudo: answers the first prompt once, fails on the second, goes on after the marker', () => {
    const h = new BecomeHandshake(spec('sudo', 'pw 1'), false);
    expect(h.feed('err', SUDO_PROMPT)).toEqual({ kind: 'send', data: 'pw 1\n' });
    expect(h.feed('err', '\n')).toEqual({ kind: 'wait' });
    expect(h.feed('out', `${BECOME_OK}\nfirst output`)).toEqual({ kind: 'ready', rest: 'first output' });
    const wrong = new BecomeHandshake(spec('sudo', 'pw 1'), false);
    wrong.feed('err', SUDO_PROMPT);
    expect(wrong.feed('err', `\nSorry, try again.\n${SUDO_PROMPT}`)).toEqual({ kind: 'fail', message: 'become (sudo) refused the password (Sorry, try again.)' });
  });

  it('su and doas: a password prompt in any wording ending in a colon; refusals and other failures are told apart', () => {
    const su = new BecomeHandshake(spec('su', 'secret!'), false);
    expect(su.feed('err', 'Password: ')).toEqual({ kind: 'send', data: 'secret!\n' });
    expect(su.closed(1)).toBe('become (su) refused the password');
    su.feed('err', 'su: Authentication failure secret!\n');
    expect(su.closed(1)).toBe('become (su) refused the password (su: Authentication failure [secret])');
    const doas = new BecomeHandshake({ ...spec('doas'), user: 'backup' }, true);
    expect(doas.feed('out', 'doas (mlu@r1) password: ')).toEqual({
      kind: 'fail',
      message: 'become (doas to backup) asks for a password: set ansible_become_password or use --ask-become-pass',
    });
    const denied = new BecomeHandshake(spec('doas', 'x'), true);
    denied.feed('out', 'doas: Operation not permitted\r\n');
    expect(denied.closed(1)).toBe('become (doas) failed (exit 1): doas: Operation not permitted');
    expect(new BecomeHandshake(spec('su', 'x'), false).timedOut(30_000)).toBe('become (su) did not let us in within 30 s (no password prompt was recognised and no success)');
  });

  it('through a terminal: input framed by lines, the end said; output split into stdout, stderr and the code', () => {
    const input = new PtyInput();
    expect(input.encode('a\nb') + input.encode('c\n\nd') + input.end('e')).toBe('Da\nDbc\nD\nPde\nE\n');
    expect(input.encode('more')).toBe('');
    const output = new PtyOutput();
    const parts = [output.feed('out 1\n\x1eerr'), output.feed(' 1\nout 2'), output.feed('\x1f4'), output.feed('2\n')];
    expect(parts.map((p) => p.stdout).join('')).toBe('out 1\nout 2');
    expect(parts.map((p) => p.stderr).join('')).toBe('err 1\n');
    expect(output.code).toBe(42);
  });
});
