// Logins and become against real servers (issue 21): one lab router whose OpenSSH on port
// 2222 takes only passwords and whose dropbear (OpenWrt's server) on port 2022 takes root's key
// or root's password; a user mlu whose sudo asks for a password, su with root's password, doas.
// Both servers run in the router's network namespace, in a mount namespace of their own with
// an /etc overlay in RAM (test/helpers/login-servers.sh): the host's /etc is never written.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { run } from '../src/cli.js';
import type { LabInfo } from '../src/lab/manifest.js';
import type { ConnectionVars } from '../src/model/config.js';
import { Secret } from '../src/model/secret.js';
import { BecomeError, type BecomeSpec } from '../src/transport/become.js';
import { Ssh2Transport } from '../src/transport/ssh2-transport.js';
import type { Session } from '../src/transport/transport.js';
import { UnreachableError } from '../src/errors.js';
import { findCommand } from '../src/lab/packages.js';
import { inRouter, labSupport, startTestLab } from './helpers/lab.js';
import { cli, jsonHosts, type CliResult } from './helpers/cli.js';
import { BUSYBOX_SU, busyboxWithSu, DROPBEAR_PORT, SSHD_PASSWORD_PORT, startLoginServers, type LoginServers } from './helpers/login-servers.js';
import { hermeticWorld } from './helpers/ansible-world.js';

const support = labSupport();
/** doas comes from Debian's opendoas; without it, doas is not tried (said once). */
const METHODS = (['sudo', 'su', 'doas'] as const).filter((m) => m !== 'doas' || findCommand('doas') !== undefined);
if (support.ok && !METHODS.includes('doas')) console.warn('logins-lab: doas is missing (apt-get install opendoas): become doas not tried');

/**
 * `ps -eo args` (and every process's environment) every 50 ms, in the background; a line that
 * holds one of the patterns (read from a file: the sampler's own command line holds none) is
 * kept with its sample number. `where` runs the loop somewhere else (the router's namespaces).
 */
class LeakSampler {
  private child: ChildProcess;
  private readonly started = Date.now();
  constructor(
    private readonly dir: string,
    patterns: readonly string[],
    where: readonly string[] = [],
  ) {
    writeFileSync(join(dir, 'patterns'), patterns.map((p) => `${p}\n`).join(''), { mode: 0o600 });
    // Two loops: `ps` itself takes ~40 ms on a busy machine, so a short pause keeps its rounds
    // about 50 ms apart (periodMs says how far apart they were).
    const loop = [
      'n=0',
      'while [ ! -e "$1/stop" ]; do',
      '  n=$((n + 1))',
      '  ps -eo args -ww | grep -F -f "$1/patterns" >> "$1/hits"',
      '  echo "$n" > "$1/count"',
      '  sleep 0.01',
      'done &',
      'while [ ! -e "$1/stop" ]; do',
      `  cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | sed 's/^/env: /' | grep -F -f "$1/patterns" >> "$1/hits"`,
      '  sleep 0.05',
      'done &',
      'wait',
    ].join('\n');
    this.child = spawn(where[0] ?? 'sh', [...where.slice(1), ...(where.length ? ['sh'] : []), '-c', loop, 'sampler', dir], { stdio: 'ignore' });
  }
  get samples(): number {
    const f = join(this.dir, 'count');
    return existsSync(f) ? Number(readFileSync(f, 'utf8').trim()) : 0;
  }
  /** Milliseconds from one `ps` to the next, on average so far. */
  get periodMs(): number {
    return Math.round((Date.now() - this.started) / Math.max(1, this.samples));
  }
  get hits(): string {
    const f = join(this.dir, 'hits');
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }
  async stop(): Promise<void> {
    writeFileSync(join(this.dir, 'stop'), '');
    if (this.child.exitCode === null) await new Promise((r) => this.child.once('exit', r));
  }
}

/** Every file under `dir` whose bytes hold one of the strings (a name and which). */
function filesHolding(dir: string, needles: readonly string[]): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) {
        const bytes = readFileSync(p);
        for (const n of needles) if (bytes.includes(Buffer.from(n))) found.push(`${p}: ${needles.indexOf(n)}`);
      }
    }
  };
  walk(dir);
  return found;
}

describe.skipIf(!support.ok)('logins and become (lab)', () => {
  let lab: LabInfo;
  let servers: LoginServers;
  let dir = '';
  let busybox: string | undefined;

  beforeAll(async () => {
    lab = await startTestLab(1);
    dir = mkdtempSync(join(tmpdir(), 'multilink-logins-'));
    const bb = busyboxWithSu(join(dir, 'busybox'));
    if ('missing' in bb) console.warn(`logins-lab: BusyBox su not tried: ${bb.missing}`);
    else busybox = bb.file;
    servers = await startLoginServers(lab, 'r1', join(dir, 'servers'), busybox);
  });
  afterAll(() => {
    servers?.stop();
    // Inventories with the test's passwords, the servers' folder: nothing is left behind.
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const transport = (): Ssh2Transport => new Ssh2Transport({ homeDir: join(dir, 'home'), env: {}, localUser: 'root', sshConfig: 'builtin' });
  const connect = async (connection: Partial<ConnectionVars>): Promise<Session> =>
    transport().connect(
      { name: 'r1', connection: { host: servers.address, become: false, ...connection }, knownHosts: servers.knownHosts },
      { acceptNewHostKeys: false, timeoutMs: 15_000 },
    );
  const script = 'id -un; echo "err line" >&2; printf "no newline"';

  it('logs in with a password (keyboard-interactive) where sshd takes nothing else', async () => {
    const s = await connect({ port: SSHD_PASSWORD_PORT, user: 'root', password: new Secret(servers.rootPassword) });
    const r = await s.exec('sh -s', { stdin: script, timeoutMs: 10_000 });
    await s.close();
    expect(r).toEqual({ stdout: 'root\nno newline', stderr: 'err line\n', code: 0 });
  });

  it.each(METHODS)('becomes root with %s and a password', async (method) => {
    const password = new Secret(method === 'su' ? servers.rootPassword : servers.userPassword);
    const s = await connect({ port: SSHD_PASSWORD_PORT, user: 'mlu', password: new Secret(servers.userPassword) });
    const r = await s.exec('sh -s', { stdin: `${script}; exit 3`, timeoutMs: 20_000, become: { method, user: 'root', password } });
    await s.close();
    expect(r).toEqual({ stdout: 'root\nno newline', stderr: 'err line\n', code: 3 });
  });

  it.each(METHODS)('a wrong %s password is refused, naming become, and runs nothing', async (method) => {
    const s = await connect({ port: SSHD_PASSWORD_PORT, user: 'mlu', password: new Secret(servers.userPassword) });
    const started = Date.now();
    const err = await s.exec('sh -s', { stdin: 'touch /tmp/never', timeoutMs: 20_000, become: { method, user: 'root', password: new Secret('wrong password') } }).catch((e: unknown) => e);
    await s.close();
    expect(err).toBeInstanceOf(BecomeError);
    expect((err as Error).message).toContain(`become (${method}) refused the password`);
    expect((err as Error).message).not.toContain('wrong password');
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('sudo with requiretty, with and without a password, goes in through a terminal; ansible_become_exe and _flags as Ansible', async () => {
    const s = await connect({ port: SSHD_PASSWORD_PORT, user: 'mlu', password: new Secret(servers.userPassword) });
    const as = async (become: BecomeSpec): Promise<unknown> => s.exec('sh -s', { stdin: `${script}; exit 3`, timeoutMs: 20_000, become });
    const expected = (user: string): unknown => ({ stdout: `${user}\nno newline`, stderr: 'err line\n', code: 3 });
    expect(await as({ method: 'sudo', user: 'nobody', password: new Secret(servers.userPassword) })).toEqual(expected('nobody'));
    expect(await as({ method: 'sudo', user: 'daemon' })).toEqual(expected('daemon'));
    // Ansible's default sudo flags, -n dropped with a password; su through an exe of another name.
    expect(await as({ method: 'sudo', user: 'root', exe: '/usr/bin/sudo', flags: ['-H', '-S', '-n'], password: new Secret(servers.userPassword) })).toEqual(expected('root'));
    expect(await as({ method: 'su', user: 'root', exe: '/bin/su', flags: ['-s', '/bin/sh'], password: new Secret(servers.rootPassword) })).toEqual(expected('root'));
    await s.close();
  });

  it('BusyBox su (OpenWrt\'s applet, setuid): its prompt comes on standard output, the password goes to its standard input; a wrong one is refused', async (ctx) => {
    if (!busybox) return ctx.skip();
    const s = await connect({ port: SSHD_PASSWORD_PORT, user: 'mlu', password: new Secret(servers.userPassword) });
    const su = (password: string): Promise<unknown> =>
      s.exec('sh -s', { stdin: `${script}; exit 3`, timeoutMs: 20_000, become: { method: 'su', user: 'root', exe: BUSYBOX_SU, password: new Secret(password) } });
    expect(await su(servers.rootPassword)).toEqual({ stdout: 'root\nno newline', stderr: 'err line\n', code: 3 });
    const err = await su('not root\'s').catch((e: unknown) => e);
    await s.close();
    expect(err).toBeInstanceOf(BecomeError);
    expect((err as Error).message).toMatch(/become \(su\) refused the password/);
  });

  it('a wrong login password is unreachable, saying what was tried', async () => {
    const err = await connect({ port: SSHD_PASSWORD_PORT, user: 'root', password: new Secret('not it') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect((err as Error).message).toMatch(/authentication failed for root@.*:2222 \(tried keyboard-interactive, password\)/);
    expect((err as Error).message).not.toContain('not it');
  });

  it('opens a passphrase-protected key with the password (--ask-pass), and says what to do without it', async () => {
    const key = join(dir, 'id_encrypted');
    const passphrase = `key passphrase ${Date.now()}`;
    expect(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', '', '-f', key]).status).toBe(0);
    writeFileSync(lab.authorizedKeys, readFileSync(`${key}.pub`), { flag: 'a' });
    const s = await connect({ user: 'root', privateKeyFile: key, password: new Secret(passphrase) });
    expect((await s.exec('id -un', { timeoutMs: 10_000 })).stdout).toBe('root\n');
    await s.close();
    const err = await connect({ user: 'root', privateKeyFile: key }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect((err as Error).message).toContain(`${key}: `);
    expect((err as Error).message).toContain('use ssh-agent or --ask-pass for passphrase-protected keys');
  });

  it.each([
    ['a key', { privateKeyFile: '' }],
    ['a password', { password: 'root' }],
  ] as const)('dropbear takes %s', async (_, how) => {
    const connection: Partial<ConnectionVars> = { port: DROPBEAR_PORT, user: 'root' };
    if ('privateKeyFile' in how) connection.privateKeyFile = lab.privateKey;
    else connection.password = new Secret(servers.rootPassword);
    const s = await connect(connection);
    const r = await s.exec('sh -s', { stdin: script, timeoutMs: 10_000 });
    await s.close();
    expect(r).toEqual({ stdout: 'root\nno newline', stderr: 'err line\n', code: 0 });
  });

  it('a ProxyJump host that takes only passwords gets the password, as ssh would type it at its prompt', async () => {
    const home = join(dir, 'home-jump');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    const jump = `ProxyJump root@${servers.address}:${SSHD_PASSWORD_PORT}`;
    writeFileSync(
      join(home, '.ssh', 'config'),
      ['Host to-dropbear', `  HostName ${servers.address}`, `  Port ${DROPBEAR_PORT}`, `  ${jump}`, 'Host to-sshd', `  HostName ${servers.address}`, `  IdentityFile ${lab.privateKey}`, `  ${jump}`, ''].join('\n'),
    );
    const via = (host: string, password: string): Promise<Session> =>
      new Ssh2Transport({ homeDir: home, env: {}, localUser: 'root', sshConfig: 'builtin' }).connect(
        { name: 'r1', connection: { host, user: 'root', become: false, password: new Secret(password) }, knownHosts: servers.knownHosts },
        { acceptNewHostKeys: false, timeoutMs: 15_000 },
      );
    // Both hops by password (dropbear behind the password-only sshd), then a key-only target.
    for (const host of ['to-dropbear', 'to-sshd']) {
      const s = await via(host, servers.rootPassword);
      expect((await s.exec('id -un', { timeoutMs: 10_000 })).stdout).toBe('root\n');
      await s.close();
    }
  });

  describe('deploys', () => {
    const outputs: CliResult[] = [];
    let samplers: LeakSampler[] = [];
    let patterns: string[] = [];
    let step = 0;
    const r1 = (): LabInfo['routers'][number] => lab.routers[0];

    /** The lab's inventory with r1 reached as `vars` say, and weights that make this deploy a change. */
    const inventory = (vars: Record<string, unknown>, weights?: Record<string, number>): string => {
      const inv = parse(readFileSync(lab.inventory, 'utf8')) as { all: { children: { lab: { vars: Record<string, unknown>; hosts: Record<string, Record<string, unknown>> } } } };
      const group = inv.all.children.lab;
      group.vars.multilink_known_hosts = servers.knownHosts;
      group.hosts = { r1: { ...group.hosts.r1, ...vars, ...(weights ? { multilink_weights: weights } : {}) } };
      const file = join(dir, `inventory-${++step}.yaml`);
      writeFileSync(file, stringify(inv), { mode: 0o600 });
      return file;
    };
    /** What a deploy could change on r1: multilink's rules, ip rules, the state folder. */
    const fingerprint = (): string => {
      const save = inRouter(lab, 'r1', `iptables-${r1().iptables}-save`, []).stdout.replace(/^#.*\n/gm, '').replace(/\[\d+:\d+\]/g, '');
      const files = spawnSync('find', [r1().stateDir, '-printf', '%p %s %T@\n'], { encoding: 'utf8' }).stdout;
      return [save, inRouter(lab, 'r1', 'ip', ['rule']).stdout, files].join('\n');
    };
    const deploy = async (inv: string, ...extra: string[]): Promise<CliResult> => {
      const res = await cli('deploy', inv, '--json', ...extra);
      outputs.push(res);
      return res;
    };
    const outcome = (res: CliResult): { outcome: string; message?: string } => jsonHosts(res).r1;
    let weight = 1;
    const nextWeights = (): Record<string, number> => ({ dsl: 1, cable: ++weight, lte: 1 });

    beforeAll(async () => {
      patterns = [servers.rootPassword, servers.userPassword, ...[servers.rootPassword, servers.userPassword].map((p) => p.slice(-12))];
      // The samplers see a password where a naive implementation would put it: a process's
      // arguments (here, on the router) and its environment (here, the controller's side).
      const demo = [new LeakSampler(mkdtempSync(join(dir, 'demo-')), patterns), new LeakSampler(mkdtempSync(join(dir, 'demo-')), patterns, ['nsenter', '-t', String(servers.pids[1]), '-m', '-n'])];
      const inArgs = servers.inside(['sh', '-c', 'sleep 0.5; :', 'naive', `--password=${servers.userPassword}`]);
      expect(inArgs.code).toBe(0);
      spawnSync('sleep', ['0.5'], { env: { ...process.env, NAIVE_PASS: servers.rootPassword } });
      for (const d of demo) await d.stop();
      for (const d of demo) {
        expect(d.hits).toContain(`sh -c sleep 0.5; : naive --password=${servers.userPassword}`);
        expect(d.hits).toContain(`env: NAIVE_PASS=${servers.rootPassword}`);
      }
      // From here on, through every deploy of this file.
      samplers = [new LeakSampler(mkdtempSync(join(dir, 'ps-')), patterns), new LeakSampler(mkdtempSync(join(dir, 'ps-')), patterns, ['nsenter', '-t', String(servers.pids[1]), '-m', '-n'])];
    });

    it('root with ansible_password on an sshd that takes only passwords: changed, then unchanged', async () => {
      const weights = nextWeights();
      const inv = inventory({ ansible_port: SSHD_PASSWORD_PORT, ansible_password: servers.rootPassword }, weights);
      const first = await deploy(inv);
      expect(first.code, first.stdout + first.stderr).toBe(0);
      expect(outcome(first).outcome).toBe('changed');
      const again = await deploy(inv);
      expect(outcome(again).outcome).toBe('unchanged');
    });

    it('a wrong login password: unreachable, saying so, nothing changed', async () => {
      const before = fingerprint();
      const res = await deploy(inventory({ ansible_port: SSHD_PASSWORD_PORT, ansible_password: 'not the password' }, nextWeights()));
      expect(res.code).toBe(1);
      expect(outcome(res)).toMatchObject({ outcome: 'unreachable' });
      expect(outcome(res).message).toMatch(/authentication failed for root@[\d.]+:2222 \(tried .*keyboard-interactive, password\).*nothing was changed/);
      expect(fingerprint()).toBe(before);
    });

    it.each(METHODS.map((m) => [m, m === 'su' ? 'root' : 'user'] as const))('mlu with become %s and its password: deploy, drift, status, weights, rollback; a wrong one: failed naming become, nothing changed', async (method, whose) => {
      const vars = { ansible_port: SSHD_PASSWORD_PORT, ansible_user: 'mlu', ansible_password: servers.userPassword, ansible_become: true, ansible_become_method: method };
      const password = whose === 'root' ? servers.rootPassword : servers.userPassword;
      const inv = inventory({ ...vars, ansible_become_password: password }, nextWeights());
      const res = await deploy(inv);
      expect(res.code, res.stdout + res.stderr).toBe(0);
      expect(outcome(res).outcome).toBe('changed');
      // The other commands go the same way in.
      const other = async (...args: string[]): Promise<CliResult> => {
        const r = await cli(...args, '--json');
        outputs.push(r);
        expect(r.code, `${args[0]}: ${r.stdout}${r.stderr}`).toBe(0);
        return r;
      };
      expect((JSON.parse((await other('drift', inv)).stdout) as { summary: unknown }).summary).toMatchObject({ in_sync: 1 });
      await other('status', inv);
      expect(outcome(await other('weights', inv, 'cable=9', '--no-write')).outcome).toBe('changed');
      expect(outcome(await other('rollback', inv, '--limit', 'r1')).outcome).toBe('changed');
      const before = fingerprint();
      const wrong = await deploy(inventory({ ...vars, ansible_become_password: 'wrong one' }, nextWeights()));
      expect(wrong.code).toBe(1);
      expect(outcome(wrong)).toMatchObject({ outcome: 'failed' });
      expect(outcome(wrong).message).toMatch(new RegExp(`^nothing was changed: become \\(${method}\\) refused the password`));
      expect(fingerprint()).toBe(before);
    });

    it('dropbear with root\'s key, then with root\'s password', async () => {
      const byKey = await deploy(inventory({ ansible_port: DROPBEAR_PORT }, nextWeights()));
      expect(byKey.code, byKey.stdout + byKey.stderr).toBe(0);
      expect(outcome(byKey).outcome).toBe('changed');
      const byPassword = await deploy(inventory({ ansible_port: DROPBEAR_PORT, ansible_ssh_private_key_file: join(dir, 'no-such-key'), ansible_password: servers.rootPassword }, nextWeights()));
      expect(byPassword.code, byPassword.stdout + byPassword.stderr).toBe(0);
      expect(outcome(byPassword).outcome).toBe('changed');
    });

    it('--ask-pass and --ask-become-pass, with --diff and --verbose: asked once, used, never shown', async () => {
      const inv = inventory({ ansible_port: SSHD_PASSWORD_PORT, ansible_user: 'mlu', ansible_become: true }, nextWeights());
      const asked: string[] = [];
      let stdout = '';
      let stderr = '';
      const code = await run(
        ['node', 'multilink', 'deploy', inv, '--diff', '-v', '-k', '-K'],
        { out: (t) => (stdout += `${t}\n`), err: (t) => (stderr += `${t}\n`) },
        undefined,
        async (prompt) => {
          asked.push(prompt);
          return asked.length === 1 ? servers.userPassword : '';
        },
        hermeticWorld(),
      );
      outputs.push({ code, stdout, stderr });
      expect(code, stdout + stderr).toBe(0);
      expect(asked).toEqual(['SSH password: ', 'BECOME password[defaults to SSH password]: ']);
      expect(stdout).toMatch(/r1: changed/);
      expect(stdout).toMatch(/^\s+[-+].*ML_/m);
    });

    it('no password in any process\'s arguments or environment (ps -eo args and /proc/*/environ sampled over and over on both sides), the output or the state folder', async () => {
      const counts = samplers.map((s) => s.samples);
      const periods = samplers.map((s) => s.periodMs);
      console.log(`leak samplers (controller, router): ${counts.join(', ')} rounds of ps, one every ${periods.join(', ')} ms`);
      for (const s of samplers) await s.stop();
      expect(Math.min(...counts)).toBeGreaterThan(100);
      expect(Math.max(...periods)).toBeLessThan(200);
      for (const s of samplers) expect(s.hits).toBe('');
      const printed = outputs.map((o) => o.stdout + o.stderr).join('\n');
      expect(printed.length).toBeGreaterThan(1000);
      for (const p of patterns) expect(printed).not.toContain(p);
      const render = await cli('render', inventory({ ansible_password: servers.rootPassword, ansible_become: true, ansible_become_password: servers.userPassword }), '--host', 'r1');
      expect(render.code).toBe(0);
      for (const p of patterns) expect(render.stdout + render.stderr).not.toContain(p);
      // The search finds a password where it is, then none in the router's state folder.
      const planted = mkdtempSync(join(dir, 'planted-'));
      writeFileSync(join(planted, 'gen'), `x ${servers.userPassword} y`);
      expect(filesHolding(planted, patterns)).toHaveLength(2);
      expect(readdirSync(r1().stateDir).length).toBeGreaterThan(0);
      expect(filesHolding(r1().stateDir, patterns)).toEqual([]);
    });
  });
});
