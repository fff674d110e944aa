// Ssh2Transport against a real OpenSSH server started here on 127.0.0.1, with its own host
// keys, authorized_keys and config in a temp dir. Writes only in that temp dir.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnreachableError } from '../src/errors.js';
import type { ConnectionVars } from '../src/model/config.js';
import { ExecTimeoutError } from '../src/transport/exec-timeout-error.js';
import { Ssh2Transport, type Ssh2TransportOptions } from '../src/transport/ssh2-transport.js';
import type { ConnectTarget } from '../src/transport/transport.js';
import { connectError } from './helpers/connect-error.js';

const SSHD = '/usr/sbin/sshd';
const skipReason = !existsSync(SSHD)
  ? `${SSHD} is missing`
  : process.getuid?.() !== 0
    ? 'sshd needs root here (privilege separation, root login)'
    : undefined;
if (skipReason) console.warn(`transport-sshd tests skipped: ${skipReason}`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

function keygen(file: string, type: 'ed25519' | 'ecdsa'): void {
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', '', '-f', file]);
}

function pubKeyField(file: string): string {
  const [type, key] = readFileSync(`${file}.pub`, 'utf8').trim().split(' ');
  return `${type} ${key}`;
}

describe.skipIf(skipReason !== undefined)('Ssh2Transport against a real sshd', () => {
  let dir = '';
  let home = '';
  let port = 0;
  let sshd: ChildProcess | undefined;
  let agent: ChildProcess | undefined;
  let sshdLog = '';
  const extraServers: Server[] = [];
  let files = 0;

  const clientKey = (): string => join(dir, 'id_client');
  const hostKey = (type: 'ed25519' | 'ecdsa'): string => join(dir, `ssh_host_${type}_key`);
  const newFile = (): string => join(dir, `kh-${++files}`, 'known_hosts');
  const knownHostsWith = (...lines: string[]): string => {
    const file = newFile();
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
    return file;
  };
  const trusted = (): string => knownHostsWith(`[127.0.0.1]:${port} ${pubKeyField(hostKey('ed25519'))}`);
  const transport = (homeDir = home): Ssh2Transport => new Ssh2Transport({ homeDir, env: {}, localUser: 'root' });
  const target = (knownHosts: string, connection: Partial<ConnectionVars> = {}): ConnectTarget => ({
    name: 'r1',
    connection: { host: '127.0.0.1', port, user: 'root', privateKeyFile: clientKey(), become: false, ...connection },
    knownHosts,
  });
  const strict = { acceptNewHostKeys: false, timeoutMs: 10_000 };
  const acceptNew = { acceptNewHostKeys: true, timeoutMs: 10_000 };
  const fingerprintOf = (file: string): string => execFileSync('ssh-keygen', ['-lf', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'multilink-sshd-'));
    home = join(dir, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    keygen(hostKey('ed25519'), 'ed25519');
    keygen(hostKey('ecdsa'), 'ecdsa');
    keygen(clientKey(), 'ed25519');
    keygen(join(dir, 'id_wrong'), 'ed25519');
    keygen(join(dir, 'other_host_key'), 'ed25519');
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${clientKey()}.pub`));
    port = await freePort();
    const config = join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey('ed25519')}`,
        `HostKey ${hostKey('ecdsa')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        'StrictModes no',
        'UsePAM no',
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'AllowTcpForwarding yes',
        'MaxStartups 100',
        'MaxSessions 50',
        'LogLevel INFO',
        '',
      ].join('\n'),
    );
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    sshd = child;
    child.stderr?.on('data', (chunk: Buffer) => {
      sshdLog += chunk.toString();
    });
    const started = Date.now();
    while (!sshdLog.includes('Server listening')) {
      if (child.exitCode !== null) throw new Error(`sshd exited ${child.exitCode}: ${sshdLog}`);
      if (Date.now() - started > 10_000) throw new Error(`sshd did not start: ${sshdLog}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  afterAll(async () => {
    for (const srv of extraServers) srv.close();
    // Only the processes spawned here, by their own pid.
    await stop(agent);
    await stop(sshd);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs commands with stdin and reports exit codes', async () => {
    const session = await transport().connect(target(trusted()), strict);
    try {
      expect(await session.exec('cat; exit 3', { stdin: 'héllo\nwörld\n', timeoutMs: 5_000 })).toEqual({
        stdout: 'héllo\nwörld\n',
        stderr: '',
        code: 3,
      });
      expect(await session.exec('true', { timeoutMs: 5_000 })).toEqual({ stdout: '', stderr: '', code: 0 });
      expect((await session.exec('kill -TERM $$', { timeoutMs: 5_000 })).code).toBeNull();
      const big = 'x'.repeat(300_000);
      expect((await session.exec('wc -c', { stdin: big, timeoutMs: 5_000 })).stdout.trim()).toBe('300000');
    } finally {
      await session.close();
    }
  });

  describe('a conversation on one exec channel', () => {
    // The remote reads its script from stdin (sh -s), prints, then reads the answer from the
    // same stdin: the way multilink's gather+transaction and confirm+disarm run.
    const script = (body: string): string => `ml_main() {\n${body}\n}\nml_main; exit $?\n`;
    const echoAnswer = script('echo "facts $$"; echo @@PROMPT; r=$(cat); printf "got %s\\n" "$r"; exit 4');

    it('sends the answer planned from the output before the prompt, then closes stdin', async () => {
      const session = await transport().connect(target(trusted()), strict);
      try {
        let seen = '';
        let sent = 0;
        const res = await session.converse('sh -s', { stdin: echoAnswer, prompt: '@@PROMPT', timeoutMs: 5_000, answer: (before) => ((seen = before), 'plan 42'), onSent: () => sent++ });
        expect(seen).toMatch(/^facts \d+\n$/);
        expect(res).toMatchObject({ before: seen, after: 'got plan 42\n', prompted: true, code: 4, stderr: '' });
        expect(res.stdout).toBe(`${seen}@@PROMPT\ngot plan 42\n`);
        expect(sent).toBe(1);
        // The session stays usable.
        expect((await session.exec('echo ok', { timeoutMs: 5_000 })).stdout).toBe('ok\n');
      } finally {
        await session.close();
      }
    });

    it('an empty answer sends nothing: the remote reads end of file', async () => {
      const session = await transport().connect(target(trusted()), strict);
      try {
        let sent = 0;
        const res = await session.converse('sh -s', { stdin: echoAnswer, prompt: '@@PROMPT', timeoutMs: 5_000, answer: () => '', onSent: () => sent++ });
        expect(res).toMatchObject({ after: 'got \n', prompted: true, code: 4 });
        expect(sent).toBe(0);
      } finally {
        await session.close();
      }
    });

    const shells = ['sh -s', ...(existsSync('/bin/busybox') ? ['busybox sh -s'] : [])];
    it.each(shells)('a large first part and a large answer arrive whole: %s reads no further than its script', async (shell) => {
      const session = await transport().connect(target(trusted()), strict);
      try {
        const filler = Array.from({ length: 4000 }, (_, i) => `: line ${i} ${'y'.repeat(60)}`).join('\n');
        const big = 'z'.repeat(250_000);
        const res = await session.converse(shell, {
          stdin: script(`${filler}\necho @@PROMPT\nwc -c`),
          prompt: '@@PROMPT',
          timeoutMs: 10_000,
          answer: () => big,
        });
        expect(res.after.trim()).toBe('250000');
      } finally {
        await session.close();
      }
    });

    it('no prompt: the answer is never asked for, and the output is all "before"', async () => {
      const session = await transport().connect(target(trusted()), strict);
      try {
        let asked = false;
        const res = await session.converse('sh -s', { stdin: script('echo locked; exit 4'), prompt: '@@PROMPT', timeoutMs: 5_000, answer: () => ((asked = true), 'x') });
        expect(res).toMatchObject({ before: 'locked\n', after: '', prompted: false, code: 4 });
        expect(asked).toBe(false);
      } finally {
        await session.close();
      }
    });

    it('an answer that throws closes stdin with nothing sent, and the conversation rejects with its error', async () => {
      const session = await transport().connect(target(trusted()), strict);
      try {
        const err: unknown = await session
          .converse('sh -s', { stdin: echoAnswer, prompt: '@@PROMPT', timeoutMs: 5_000, answer: () => Promise.reject(new Error('planning failed')) })
          .catch((e: unknown) => e);
        expect(String(err)).toMatch(/planning failed/);
        expect((await session.exec('echo ok', { timeoutMs: 5_000 })).stdout).toBe('ok\n');
      } finally {
        await session.close();
      }
    });

    it('each turn has its own timeout: a slow answer does not count, a remote that never ends does', async () => {
      const session = await transport().connect(target(trusted()), strict);
      try {
        const res = await session.converse('sh -s', {
          stdin: echoAnswer,
          prompt: '@@PROMPT',
          // The remote's own turns get 1.5 s (a loaded machine starts sh in more than 0.5 s);
          // the answer takes longer than that, and must not count against them.
          timeoutMs: 1500,
          answer: () => new Promise<string>((ok) => setTimeout(() => ok('late'), 2500)),
        });
        expect(res.after).toBe('got late\n');
        const err: unknown = await session
          .converse('sh -s', { stdin: script('echo @@PROMPT; cat >/dev/null; sleep 7'), prompt: '@@PROMPT', timeoutMs: 400, answer: () => 'x' })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ExecTimeoutError);
      } finally {
        await session.close();
      }
    });
  });

  it('captures stderr separately', async () => {
    const session = await transport().connect(target(trusted()), strict);
    try {
      expect(await session.exec('echo out; echo err >&2; exit 1', { timeoutMs: 5_000 })).toEqual({
        stdout: 'out\n',
        stderr: 'err\n',
        code: 1,
      });
    } finally {
      await session.close();
    }
  });

  it('times out an exec, naming host, command and timeout, and the session stays usable', async () => {
    const session = await transport().connect(target(trusted()), strict);
    try {
      const started = Date.now();
      const err: unknown = await session.exec('sleep 7', { timeoutMs: 300 }).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(err).toBeInstanceOf(ExecTimeoutError);
      expect(String(err)).toMatch(/r1: `sleep 7` timed out after 300 ms/);
      expect((await session.exec('echo ok', { timeoutMs: 5_000 })).stdout).toBe('ok\n');
    } finally {
      await session.close();
    }
  });

  it('refuses an unknown host key, naming type, fingerprint and the way to accept it', async () => {
    const file = newFile();
    const err = await connectError(transport().connect(target(file), strict));
    expect(err.message).toContain(`host key for [127.0.0.1]:${port} is unknown`);
    expect(err.message).toContain(`ssh-ed25519 ${fingerprintOf(hostKey('ed25519'))}`);
    expect(err.message).toContain('--accept-new-host-keys');
    expect(err.message).toContain(file);
    expect(existsSync(file)).toBe(false);
  });

  it('accept-new records the key, and a second connect works without it', async () => {
    const file = newFile();
    const first = await transport().connect(target(file), acceptNew);
    await first.close();
    expect(readFileSync(file, 'utf8')).toBe(`[127.0.0.1]:${port} ${pubKeyField(hostKey('ed25519'))}\n`);
    const second = await transport().connect(target(file), strict);
    expect((await second.exec('echo again', { timeoutMs: 5_000 })).stdout).toBe('again\n');
    await second.close();
  });

  it('refuses a changed key even with accept-new, and never records it', async () => {
    const file = knownHostsWith('# first line is a comment', `[127.0.0.1]:${port} ${pubKeyField(join(dir, 'other_host_key'))}`);
    const before = readFileSync(file, 'utf8');
    const err = await connectError(transport().connect(target(file), acceptNew));
    expect(err.message).toContain(`host key for [127.0.0.1]:${port} has CHANGED`);
    expect(err.message).toContain('man-in-the-middle');
    expect(err.message).toContain(`${file} line 2`);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('accepts a hashed known_hosts entry (ssh-keygen -H)', async () => {
    const file = trusted();
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file], { stdio: 'ignore' });
    expect(readFileSync(file, 'utf8')).toMatch(/^\|1\|/);
    const session = await transport().connect(target(file), strict);
    await session.close();
  });

  it('asks the server for the key type already known (ecdsa here, not the preferred ed25519)', async () => {
    const file = knownHostsWith(`[127.0.0.1]:${port} ${pubKeyField(hostKey('ecdsa'))}`);
    const session = await transport().connect(target(file), strict);
    await session.close();
  });

  it('a wrong private key is an authentication failure naming what was tried', async () => {
    const wrong = join(dir, 'id_wrong');
    const err = await connectError(transport().connect(target(trusted(), { privateKeyFile: wrong }), strict));
    expect(err.message).toContain(`authentication failed for root@127.0.0.1:${port}`);
    expect(err.message).toContain(`publickey ${wrong}`);
  });

  it('a port with nothing listening is unreachable: connection refused', async () => {
    const closed = await freePort();
    const err = await connectError(transport().connect(target(trusted(), { port: closed }), strict));
    expect(err.message).toContain(`connection refused by 127.0.0.1:${closed}`);
  });

  it('a server that never speaks SSH times out within timeoutMs', async () => {
    const silent = createServer(() => undefined);
    extraServers.push(silent);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const address = silent.address();
    const silentPort = typeof address === 'object' && address ? address.port : 0;
    const started = Date.now();
    const err = await connectError(transport().connect(target(trusted(), { port: silentPort }), { acceptNewHostKeys: false, timeoutMs: 700 }));
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(err.message).toMatch(/timed out/);
  });

  it('hops through a ProxyJump host from ~/.ssh/config (jumping to this same sshd)', async () => {
    const jumpHome = join(dir, 'home-jump');
    mkdirSync(join(jumpHome, '.ssh'), { recursive: true, mode: 0o700 });
    writeFileSync(
      join(jumpHome, '.ssh', 'config'),
      [
        'Host via-jump',
        '  HostName 127.0.0.1',
        `  Port ${port}`,
        '  User root',
        `  IdentityFile ${clientKey()}`,
        `  ProxyJump root@127.0.0.1:${port}`,
        'Host via-unknown-jump',
        '  HostName 127.0.0.1',
        `  Port ${port}`,
        `  IdentityFile ${clientKey()}`,
        `  ProxyJump root@localhost:${port}`,
        '# the jump host is resolved through this file too: this gives it its key',
        'Host 127.0.0.1 localhost',
        `  IdentityFile ${clientKey()}`,
        '',
      ].join('\n'),
    );
    const accepted = (): number => sshdLog.split('Accepted publickey').length - 1;
    const before = accepted();
    const session = await transport(jumpHome).connect(
      { name: 'r1', connection: { host: 'via-jump', become: false }, knownHosts: trusted() },
      strict,
    );
    try {
      expect((await session.exec('echo through', { timeoutMs: 5_000 })).stdout).toBe('through\n');
    } finally {
      await session.close();
    }
    expect(accepted() - before).toBe(2); // the jump connection, then the target through it

    // The jump host is verified too: [localhost]:port is not in known_hosts.
    const err = await connectError(
      transport(jumpHome).connect({ name: 'r1', connection: { host: 'via-unknown-jump', become: false }, knownHosts: trusted() }, strict),
    );
    expect(err.message).toContain(`host key for [localhost]:${port} is unknown`);
  });

  it.skipIf(!existsSync('/usr/bin/ssh-agent'))('authenticates through ssh-agent after a key file that fails', async () => {
    const socket = join(dir, 'agent.sock');
    agent = spawn('/usr/bin/ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    const started = Date.now();
    while (!existsSync(socket)) {
      if (Date.now() - started > 5_000) throw new Error('ssh-agent did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    execFileSync('ssh-add', ['-q', clientKey()], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
    const withAgent = new Ssh2Transport({ homeDir: home, env: { SSH_AUTH_SOCK: socket }, localUser: 'root' });
    const session = await withAgent.connect(target(trusted(), { privateKeyFile: join(dir, 'id_wrong') }), strict);
    expect((await session.exec('echo agent', { timeoutMs: 5_000 })).stdout).toBe('agent\n');
    await session.close();
    const err = await connectError(withAgent.connect(target(trusted(), { privateKeyFile: join(dir, 'id_wrong'), user: 'nobody' }), strict));
    expect(err.message).toContain(`tried publickey ${join(dir, 'id_wrong')}, ssh-agent`);
  });

  it('a connection lost during a command rejects it with UnreachableError, without crashing', async () => {
    const session = await transport().connect(target(trusted()), strict);
    // Kill this connection's sshd session process (the shell's parent): the TCP link drops.
    const err: unknown = await session
      .exec('kill -9 $PPID; sleep 5', { timeoutMs: 8_000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect(String(err)).toMatch(/connection lost/);
    await expect(session.exec('true', { timeoutMs: 1_000 })).rejects.toBeInstanceOf(UnreachableError);
    await session.close();
  });

  it('handles 20 parallel connections', async () => {
    const file = trusted();
    const t = transport();
    const outputs = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const session = await t.connect({ ...target(file), name: `r${i}` }, strict);
        try {
          return (await session.exec(`echo ${i}`, { timeoutMs: 10_000 })).stdout.trim();
        } finally {
          await session.close();
        }
      }),
    );
    expect(outputs).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
  });

  it('bounds handshakes per endpoint below sshd MaxStartups, and retries the few it still drops, so all 24 connect', async () => {
    // A second sshd that drops every unauthenticated connection beyond three. It still counts
    // a connection for a moment after the client saw it authenticated, so a bound of two
    // cannot rule drops out by itself: the retry is what guarantees the 24.
    const port2 = await freePort();
    const config2 = join(dir, 'sshd_config_maxstartups');
    writeFileSync(
      config2,
      readFileSync(join(dir, 'sshd_config'), 'utf8')
        .replace(/^Port \d+$/m, `Port ${port2}`)
        .replace(/^MaxStartups .*$/m, 'MaxStartups 3:100:3')
        // VERBOSE: every drop is logged, not only the first of a throttling spell.
        .replace(/^LogLevel .*$/m, 'LogLevel VERBOSE')
        .replace(/^PidFile .*$/m, `PidFile ${join(dir, 'sshd2.pid')}`),
    );
    const child = spawn(SSHD, ['-D', '-e', '-f', config2], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const drops = (): number => log.split('past MaxStartups').length - 1;
    try {
      const started = Date.now();
      while (!log.includes('Server listening') && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 50));
      const file = knownHostsWith(`[127.0.0.1]:${port2} ${pubKeyField(hostKey('ed25519'))}`);
      const burst = async (options: Partial<Ssh2TransportOptions>): Promise<{ connected: number; dropped: number }> => {
        const before = drops();
        const t = new Ssh2Transport({ homeDir: home, env: {}, localUser: 'root', ...options });
        const results = await Promise.all(
          Array.from({ length: 24 }, (_, i) =>
            t.connect({ ...target(file, { port: port2 }), name: `r${i}` }, strict).then(
              async (session) => {
                await session.close();
                return true;
              },
              () => false,
            ),
          ),
        );
        return { connected: results.filter(Boolean).length, dropped: drops() - before };
      };
      const bounded = await burst({ maxStartupsPerEndpoint: 2 });
      expect(bounded.connected).toBe(24);
      // Without bound and retry, the same burst loses most of them: the server is as hostile as claimed.
      const bare = await burst({ maxStartupsPerEndpoint: 24, retry: { attempts: 1 } });
      expect(bare.connected).toBeLessThan(24);
      expect(bare.dropped).toBeGreaterThan(10);
      // The bound keeps drops rare: each costs a backoff.
      expect(bounded.dropped).toBeLessThanOrEqual(3);
    } finally {
      await stop(child);
    }
  });

  it('accept-new from 20 parallel connections records the key once', async () => {
    const file = newFile();
    const t = transport();
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const session = await t.connect(target(file), acceptNew);
        await session.close();
      }),
    );
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1);
  });
});
