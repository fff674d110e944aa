import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Secret } from '../src/model/secret.js';
import { BECOME_OK, becomeCommand, BecomeHandshake, becomeWay, PtyInput, PtyOutput, SUDO_PROMPT, sudoFlagsWithPassword, sudoWantsTty, wrapBecome, type BecomeSpec } from '../src/transport/become.js';

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

  it('ansible_become_exe replaces the command, ansible_become_flags the default flags (sudo drops -n with a password, as Ansible); every word quoted', () => {
    const then = `sh -c 'printf '\\''%s\\n'\\'' ${BECOME_OK}; exec sh -s'`;
    const flags = ['-H', '-S', '-n', '-Hn', '--non-interactive', '--prompt', "it's"];
    expect(sudoFlagsWithPassword(flags)).toEqual(['-H', '-S', '-H', '--prompt', "it's"]);
    expect(becomeCommand({ ...spec('sudo', 'x'), exe: '/opt/bin/sudo', flags }).command).toBe(`/opt/bin/sudo -H -S -H --prompt 'it'\\''s' -p ${SUDO_PROMPT} -u root -- ${then}`);
    // Without a password the flags stay as given; -S is added when they lack it (the handshake reads no password otherwise).
    expect(becomeCommand({ ...spec('sudo'), flags: ['-n', '-E'] }).command).toBe(`sudo -n -E -S -p ${SUDO_PROMPT} -u root -- ${then}`);
    expect(becomeCommand({ ...spec('su', 'x'), exe: 'busybox', flags: ['su', '-s', '/bin/ash'] }).command).toBe(`LC_ALL=C busybox su -s /bin/ash root -c ${then.slice('sh -c '.length)}`);
    expect(becomeCommand({ ...spec('doas', 'x'), exe: 'doas', flags: ['-s; id'] }).command).toMatch(/^LC_ALL=C doas '-s; id' -u root sh -c /);
    // Plain sudo without a password keeps `sudo -n`; another exe or flags go through the handshake.
    expect(becomeWay('sh -s', spec('sudo')).handshake).toBeUndefined();
    expect(becomeWay('sh -s', { ...spec('sudo'), exe: 'sudo' }).handshake).toBeDefined();
    expect(becomeWay('sh -s', { ...spec('sudo'), flags: [] }).handshake).toBeDefined();
  });

  it('sudo that wants a terminal (requiretty): said so by the handshake and by sudo -n, and then run through one', () => {
    const plain = new BecomeHandshake(spec('sudo', 'pw'), false);
    plain.feed('err', 'sudo: sorry, you must have a tty to run sudo\n');
    expect(plain.wantsTty).toBe(true);
    expect(plain.closed(1)).toBe('become (sudo) failed (exit 1): sudo: sorry, you must have a tty to run sudo');
    expect(new BecomeHandshake(spec('su', 'pw'), false).wantsTty).toBe(false);
    expect(sudoWantsTty(spec('sudo'), 1, 'sudo: sorry, you must have a tty to run sudo\n')).toBe(true);
    expect(sudoWantsTty(spec('sudo'), 1, 'ip: command failed\n')).toBe(false);
    expect(sudoWantsTty({ ...spec('sudo'), tty: true }, 1, 'sudo: sorry, you must have a tty to run sudo\n')).toBe(false);
    const viaTty = becomeCommand({ ...spec('sudo', 'pw'), tty: true });
    expect(viaTty.pty).toBe(true);
    expect(viaTty.command).toMatch(new RegExp(`^sudo -p ${SUDO_PROMPT} -u root -- sh -c 'stty raw`));
    const h = new BecomeHandshake({ ...spec('sudo', 'pw'), tty: true }, true);
    expect(h.feed('out', `${SUDO_PROMPT} `)).toEqual({ kind: 'send', data: 'pw\n' });
    expect(h.feed('out', `\r\n\n${BECOME_OK}\n`)).toEqual({ kind: 'ready', rest: '' });
  });

  it('BusyBox su (OpenWrt) prompts on standard output: answered there too', () => {
    const h = new BecomeHandshake(spec('su', 'pw'), false);
    expect(h.feed('out', 'Password: ')).toEqual({ kind: 'send', data: 'pw\n' });
    expect(h.feed('out', '\n')).toEqual({ kind: 'wait' });
    h.feed('err', 'su: incorrect password\n');
    expect(h.closed(1)).toBe('become (su) refused the password (su: incorrect password)');
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
