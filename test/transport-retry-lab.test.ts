// Connection set-up against real OpenSSH servers in a lab router's network namespace: a
// fleet of 24 hosts behind one sshd with `MaxStartups 3:100:3` (directly, and as the jump
// host) is reached completely with the default transport; drops before the SSH
// identification are retried with backoff up to a bound; refused credentials and refused
// host keys are never retried. A counting TCP relay in front of sshd counts the attempts.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabInfo, LabRouter } from '../src/lab/lab.js';
import { Ssh2Transport, type Ssh2TransportOptions } from '../src/transport/ssh2-transport.js';
import type { ConnectTarget } from '../src/transport/transport.js';
import { connectError } from './helpers/connect-error.js';
import { labSupport, startTestLab, stopTestLab } from './helpers/lab.js';
import { startTcpProxy, type TcpProxy, type TcpProxyOptions } from './helpers/tcp-proxy.js';

const support = labSupport();
if (!support.ok) console.warn(`skipping connection retry lab tests: ${support.reason}`);

const SSHD = '/usr/sbin/sshd';
const BASTION_PORT = 2222;
const FLEET = 24;
const strict = { acceptNewHostKeys: false, timeoutMs: 15_000 };

describe.skipIf(!support.ok)('connection set-up against sshd that drops handshakes (lab namespace)', () => {
  let lab: LabInfo;
  let router: LabRouter;
  let dir = '';
  let bastion: ChildProcess | undefined;
  let bastionLog = '';
  const proxies: TcpProxy[] = [];
  const count = (text: string): number => bastionLog.split(text).length - 1;
  const hostKeyLine = (): string => readFileSync(join(router.dir, 'ssh_host_ed25519_key.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const knownHosts = (name: string, ...hosts: string[]): string => {
    const file = join(dir, `${name}.known_hosts`);
    writeFileSync(file, hosts.map((h) => `${h} ${hostKeyLine()}\n`).join(''));
    return file;
  };
  /** Default settings, as `multilink` builds its transport, with this test's home and key. */
  const transport = (options: Partial<Ssh2TransportOptions> = {}): Ssh2Transport =>
    new Ssh2Transport({ homeDir: join(dir, 'home'), env: {}, localUser: 'root', ...options });
  const direct = (name: string, at: { host: string; port: number }, file: string, key = lab.privateKey): ConnectTarget => ({
    name,
    connection: { host: at.host, port: at.port, user: 'root', privateKeyFile: key, become: false },
    knownHosts: file,
  });
  const local = (p: TcpProxy): { host: string; port: number } => ({ host: '127.0.0.1', port: p.port });
  const proxy = async (refuse?: TcpProxyOptions['refuse']): Promise<TcpProxy> => {
    const p = await startTcpProxy({ to: { host: router.mgmtAddress, port: 22 }, refuse });
    proxies.push(p);
    return p;
  };
  /** Connects to all targets at once (as --forks 50 does), runs one command on each. */
  const reachAll = async (t: Ssh2Transport, targets: ConnectTarget[]): Promise<string[]> =>
    Promise.all(
      targets.map(async (target) => {
        try {
          const session = await t.connect(target, strict);
          try {
            return (await session.exec(`echo ${target.name}`, { timeoutMs: 10_000 })).stdout.trim();
          } finally {
            await session.close();
          }
        } catch (err) {
          return `FAILED ${err instanceof Error ? err.message : String(err)}`;
        }
      }),
    );

  beforeAll(async () => {
    lab = await startTestLab(1);
    router = lab.routers[0];
    dir = mkdtempSync(join(tmpdir(), 'multilink-retry-'));
    mkdirSync(join(dir, 'home', '.ssh'), { recursive: true, mode: 0o700 });
    // A second sshd in the router's namespace, beside the lab's own: MaxStartups 3:100:3
    // drops every unauthenticated connection past three; VERBOSE logs every drop.
    const config = join(dir, 'bastion_sshd_config');
    writeFileSync(
      config,
      readFileSync(router.sshdConfig, 'utf8')
        .replace(/^Port 22$/m, `Port ${BASTION_PORT}`)
        .replace(/^MaxStartups .*$/m, 'MaxStartups 3:100:3')
        .replace(/^LogLevel .*$/m, 'LogLevel VERBOSE')
        .replace(/^PidFile .*$/m, `PidFile ${join(dir, 'bastion.pid')}`),
    );
    // `ip netns exec` execs sshd in place: the child's pid is sshd's own.
    const child = spawn('ip', ['netns', 'exec', router.namespace, SSHD, '-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    bastion = child;
    child.stderr?.on('data', (chunk: Buffer) => (bastionLog += chunk.toString()));
    const started = Date.now();
    while (!bastionLog.includes('Server listening')) {
      if (child.exitCode !== null) throw new Error(`bastion sshd exited ${child.exitCode}: ${bastionLog}`);
      if (Date.now() - started > 10_000) throw new Error(`bastion sshd did not start: ${bastionLog}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 180_000);

  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    if (bastion?.exitCode === null && bastion.signalCode === null) {
      const exited = new Promise<void>((resolve) => bastion!.once('exit', () => resolve()));
      bastion.kill('SIGTERM'); // by its own pid, nothing else
      await exited;
    }
    if (lab) await stopTestLab(lab);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`reaches a fleet of ${FLEET} hosts behind one sshd with MaxStartups 3:100:3, completely, with default settings`, async () => {
    const file = knownHosts('direct', `[${router.mgmtAddress}]:${BASTION_PORT}`);
    const names = Array.from({ length: FLEET }, (_, i) => `h${String(i + 1).padStart(2, '0')}`);
    const dropsBefore = count('past MaxStartups');
    const acceptedBefore = count('Accepted publickey');
    const outputs = await reachAll(transport(), names.map((n) => direct(n, { host: router.mgmtAddress, port: BASTION_PORT }, file)));
    expect(outputs).toEqual(names);
    // The server did drop handshakes (the default bound of 8 is above its 3): retries carried them.
    expect(count('past MaxStartups') - dropsBefore).toBeGreaterThan(0);
    expect(count('Accepted publickey') - acceptedBefore).toBe(FLEET);
  });

  it(`reaches ${FLEET} hosts through one jump host with MaxStartups 3:100:3 (ProxyJump), completely`, async () => {
    const home = join(dir, 'home-jump');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    writeFileSync(
      join(home, '.ssh', 'config'),
      [
        'Host h*',
        `  HostName ${router.mgmtAddress}`,
        '  User root',
        `  IdentityFile ${lab.privateKey}`,
        `  ProxyJump root@${router.mgmtAddress}:${BASTION_PORT}`,
        `Host ${router.mgmtAddress}`,
        `  IdentityFile ${lab.privateKey}`,
        '',
      ].join('\n'),
    );
    const file = knownHosts('jump', router.mgmtAddress, `[${router.mgmtAddress}]:${BASTION_PORT}`);
    const names = Array.from({ length: FLEET }, (_, i) => `h${String(i + 1).padStart(2, '0')}`);
    const dropsBefore = count('past MaxStartups');
    const acceptedBefore = count('Accepted publickey');
    const t = transport({ homeDir: home });
    const outputs = await reachAll(
      t,
      names.map((name) => ({ name, connection: { host: name, become: false }, knownHosts: file })),
    );
    expect(outputs).toEqual(names);
    expect(count('past MaxStartups') - dropsBefore).toBeGreaterThan(0);
    expect(count('Accepted publickey') - acceptedBefore).toBe(FLEET); // one jump connection per host
  });

  it('retries a connection closed before the SSH identification, after a backoff, until it gets through', async () => {
    const p = await proxy((n) => (n <= 2 ? 'close' : undefined));
    const file = knownHosts('retry', `[127.0.0.1]:${p.port}`);
    const started = Date.now();
    const session = await transport().connect(direct('r1', local(p), file), strict);
    try {
      expect((await session.exec('echo through', { timeoutMs: 5_000 })).stdout).toBe('through\n');
    } finally {
      await session.close();
    }
    expect(p.connections).toBe(3);
    // Equal jitter: at least half of 250 ms, then half of 500 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(375);
  });

  it('gives up after the bounded number of attempts, saying how many and the last cause', async () => {
    const closing = await proxy(() => 'close');
    const err = await connectError(transport().connect(direct('r1', local(closing), knownHosts('closing', `[127.0.0.1]:${closing.port}`)), strict));
    expect(closing.connections).toBe(5);
    expect(err.message).toBe(
      `r1: 127.0.0.1:${closing.port} closed the connection before the SSH handshake; ` +
        'gave up after 5 attempts, each reset or closed before authentication',
    );

    const resetting = await proxy(() => 'reset');
    const quick = transport({ retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 40 } });
    const reset = await connectError(quick.connect(direct('r2', local(resetting), knownHosts('resetting', `[127.0.0.1]:${resetting.port}`)), strict));
    expect(resetting.connections).toBe(3);
    expect(reset.message).toMatch(new RegExp(`^r2: connection reset by 127\\.0\\.0\\.1:${resetting.port}; gave up after 3 attempts`));
  });

  it('stops retrying when the connect timeout leaves no room for another backoff', async () => {
    const p = await proxy(() => 'close');
    // No jitter: every backoff is 500 ms. Attempts start at 0, 500, 1000 and 1500 ms (plus
    // their own few ms); after the fourth, another backoff would end past the 2 s timeout.
    const t = transport({ retry: { attempts: 10, baseDelayMs: 1_000, maxDelayMs: 1_000 }, random: () => 0 });
    const started = Date.now();
    const err = await connectError(t.connect(direct('r1', local(p), knownHosts('deadline', `[127.0.0.1]:${p.port}`)), { acceptNewHostKeys: false, timeoutMs: 2_000 }));
    expect(Date.now() - started).toBeLessThan(2_000); // given up, not timed out
    expect(p.connections).toBe(4);
    expect(err.message).toContain('gave up after 4 attempts');
    expect(err.message).toContain('no time left for another before the connect timeout');
  });

  it('never retries a refused key: one connection, an authentication failure', async () => {
    const p = await proxy();
    const wrong = join(dir, 'id_wrong');
    const keygen = spawn('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', wrong], { stdio: 'ignore' });
    await new Promise((r) => keygen.once('exit', r));
    const err = await connectError(transport().connect(direct('r1', local(p), knownHosts('auth', `[127.0.0.1]:${p.port}`), wrong), strict));
    expect(err.message).toContain(`authentication failed for root@127.0.0.1:${p.port}`);
    expect(err.message).not.toContain('attempt');
    expect(p.connections).toBe(1);
  });

  it('never retries an unknown host key: one connection', async () => {
    const p = await proxy();
    const err = await connectError(transport().connect(direct('r1', local(p), join(dir, 'empty.known_hosts')), strict));
    expect(err.message).toContain(`host key for [127.0.0.1]:${p.port} is unknown`);
    expect(p.connections).toBe(1);
  });

  it('never retries a changed host key, even with --accept-new-host-keys: one connection', async () => {
    const p = await proxy();
    const file = join(dir, 'changed.known_hosts');
    // Another key for this name: the lab client key's public half will do.
    const other = readFileSync(`${lab.privateKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    writeFileSync(file, `[127.0.0.1]:${p.port} ${other}\n`);
    const err = await connectError(transport().connect(direct('r1', local(p), file), { acceptNewHostKeys: true, timeoutMs: 15_000 }));
    expect(err.message).toContain('has CHANGED');
    expect(p.connections).toBe(1);
  });

  it('retries a target behind a jump host over the same jump connection', async () => {
    // The relay listens on the host's side of the lab's management network, where the jump
    // host (the router's sshd) can reach it.
    const p = await startTcpProxy({ to: { host: router.mgmtAddress, port: 22 }, listen: lab.hostAddress, refuse: (n) => (n <= 2 ? 'close' : undefined) });
    proxies.push(p);
    const home = join(dir, 'home-jump-retry');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    writeFileSync(
      join(home, '.ssh', 'config'),
      ['Host target', `  HostName ${lab.hostAddress}`, `  Port ${p.port}`, '  User root', `  IdentityFile ${lab.privateKey}`, `  ProxyJump root@${router.mgmtAddress}:${BASTION_PORT}`, `Host ${router.mgmtAddress}`, `  IdentityFile ${lab.privateKey}`, ''].join('\n'),
    );
    const file = knownHosts('jump-retry', `[${lab.hostAddress}]:${p.port}`, `[${router.mgmtAddress}]:${BASTION_PORT}`);
    const acceptedBefore = count('Accepted publickey');
    const session = await transport({ homeDir: home }).connect({ name: 'r1', connection: { host: 'target', become: false }, knownHosts: file }, strict);
    try {
      expect((await session.exec('echo behind', { timeoutMs: 5_000 })).stdout).toBe('behind\n');
    } finally {
      await session.close();
    }
    expect(p.connections).toBe(3);
    expect(count('Accepted publickey') - acceptedBefore).toBe(1);
  });
});
