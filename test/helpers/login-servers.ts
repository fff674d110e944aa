// Password-taking SSH servers for a lab router (login-servers.sh): OpenSSH on port 2222 that
// takes only passwords (keyboard-interactive and password, through PAM) and dropbear, OpenWrt's
// server, on port 2022 (root's key and root's password), both in the router's network
// namespace and in a mount namespace whose /etc is an overlay in RAM: a user mlu whose sudo
// asks for a password, su and doas. Everything is written in the test's own folder.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabInfo } from '../../src/lab/manifest.js';
import { isRunning } from '../../src/lab/host-net.js';
import { stopPidsSync, sshBanner } from '../../src/lab/sshd.js';

/** What the login servers need on the host → Debian package (test/global-setup.ts installs them). */
export const LOGIN_COMMANDS: Readonly<Record<string, string>> = { sudo: 'sudo', doas: 'opendoas', dropbear: 'dropbear-bin', dropbearkey: 'dropbear-bin', useradd: 'passwd', chpasswd: 'passwd' };

const SCRIPT = fileURLToPath(new URL('./login-servers.sh', import.meta.url));
export const SSHD_PASSWORD_PORT = 2222;
export const DROPBEAR_PORT = 2022;

/** Where BusyBox su is inside the servers' namespace, when a BusyBox with it was found (busyboxWithSu). */
export const BUSYBOX_SU = '/etc/multilink-busybox/su';

/**
 * A BusyBox that has the su applet: the host's, or else Debian's busybox-static unpacked into
 * `dir` (apt-get download, not installed: it would replace the host's busybox). Undefined,
 * with the reason, when there is none.
 */
export function busyboxWithSu(dir: string): { file: string } | { missing: string } {
  const hasSu = (bb: string): boolean => spawnSync(bb, ['--list'], { encoding: 'utf8' }).stdout?.split('\n').includes('su') ?? false;
  const host = spawnSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).stdout.trim();
  if (host && hasSu(host)) return { file: host };
  mkdirSync(dir, { recursive: true });
  const got = spawnSync('apt-get', ['download', 'busybox-static'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  const deb = existsSync(dir) ? readdirSync(dir).find((f) => f.startsWith('busybox-static') && f.endsWith('.deb')) : undefined;
  if (got.status !== 0 || !deb) return { missing: `the host's busybox has no su and apt-get download busybox-static failed: ${(got.stderr ?? '').trim().split('\n').pop() ?? ''}` };
  spawnSync('dpkg', ['-x', join(dir, deb), join(dir, 'x')], { timeout: 60_000 });
  const file = join(dir, 'x', 'bin', 'busybox');
  return existsSync(file) && hasSu(file) ? { file } : { missing: `busybox-static (${deb}) has no su applet` };
}

export interface LoginServers {
  dir: string;
  address: string;
  namespace: string;
  /** known_hosts with the lab's sshd, this sshd and dropbear. */
  knownHosts: string;
  rootPassword: string;
  userPassword: string;
  /** pids of the mount namespace's script, sshd and dropbear. */
  pids: number[];
  /** Runs a command in the servers' network and mount namespace. */
  inside(args: readonly string[]): { code: number | null; stdout: string; stderr: string };
  stop(): void;
}

/**
 * A password with what breaks naive quoting (quotes, $, backslash, blanks) and a random part
 * no file or process would hold by chance. No ':' (chpasswd's separator).
 */
export function testPassword(tag: string): string {
  return `${tag} '"$(x)\\ ${randomBytes(9).toString('base64url')}`;
}

function keygen(file: string): string {
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', file], { stdio: 'ignore' });
  const [type, key] = readFileSync(`${file}.pub`, 'utf8').trim().split(/\s+/);
  return `${type} ${key}`;
}

export async function startLoginServers(lab: LabInfo, router: string, dir: string, busybox?: string): Promise<LoginServers> {
  const r = lab.routers.find((x) => x.name === router);
  if (!r) throw new Error(`no router ${router}`);
  mkdirSync(join(dir, 'ovl'), { recursive: true });
  mkdirSync(join(dir, 'home'), { recursive: true });
  // mlu's home is in here: the folder must be traversable.
  chmodSync(dir, 0o711);
  const rootPassword = testPassword('root');
  const userPassword = testPassword('mlu');
  writeFileSync(join(dir, 'passwords'), `root:${rootPassword}\nmlu:${userPassword}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${lab.privateKey}.pub`));
  if (busybox) copyFileSync(busybox, join(dir, 'busybox'));
  // sudo asks every time (no cached credentials), tries 3 times as by default. To become
  // nobody or daemon it wants a terminal (requiretty); to become daemon it asks no password.
  writeFileSync(
    join(dir, 'sudoers'),
    ['Defaults:mlu !lecture, timestamp_timeout=0', 'Defaults>nobody requiretty', 'Defaults>daemon requiretty', 'mlu ALL=(ALL:ALL) ALL', 'mlu ALL=(daemon) NOPASSWD: ALL', ''].join('\n'),
  );
  writeFileSync(join(dir, 'doas.conf'), 'permit mlu as root\n');
  writeFileSync(join(dir, 'pam-sshd'), ['auth required pam_unix.so', 'account required pam_unix.so', 'session required pam_unix.so', ''].join('\n'));
  const sshdKey = keygen(join(dir, 'ssh_host_ed25519_key'));
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${SSHD_PASSWORD_PORT}`,
      `ListenAddress ${r.mgmtAddress}`,
      `HostKey ${join(dir, 'ssh_host_ed25519_key')}`,
      `PidFile ${join(dir, 'sshd-own.pid')}`,
      'PubkeyAuthentication no',
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication yes',
      'UsePAM yes',
      'PermitRootLogin yes',
      'StrictModes no',
      'UseDNS no',
      'PrintMotd no',
      'PrintLastLog no',
      'MaxStartups 50:30:100',
      'LogLevel INFO',
      '',
    ].join('\n'),
  );
  const dropbearKey = join(dir, 'dropbear_host_key');
  spawnSync('dropbearkey', ['-t', 'ed25519', '-f', dropbearKey], { stdio: 'ignore' });
  const dropbearPub = spawnSync('dropbearkey', ['-y', '-f', dropbearKey], { encoding: 'utf8' }).stdout;
  const dropbearLine = dropbearPub.split('\n').find((l) => l.startsWith('ssh-ed25519 '));
  if (!dropbearLine) throw new Error(`dropbearkey -y printed no key: ${dropbearPub}`);
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(
    knownHosts,
    [
      readFileSync(lab.knownHosts, 'utf8').trim(),
      `[${r.mgmtAddress}]:${SSHD_PASSWORD_PORT} ${sshdKey}`,
      `[${r.mgmtAddress}]:${DROPBEAR_PORT} ${dropbearLine.split(/\s+/).slice(0, 2).join(' ')}`,
      '',
    ].join('\n'),
  );

  const child = spawn('ip', ['netns', 'exec', r.namespace, 'unshare', '-m', '--propagation', 'private', '/bin/sh', SCRIPT, dir, r.mgmtAddress], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  child.unref();
  if (child.pid === undefined) throw new Error('could not start the login servers');
  const pids = [child.pid];
  const deadline = Date.now() + 15_000;
  const readPid = (name: string): number | undefined => {
    const f = join(dir, `${name}.pid`);
    return existsSync(f) ? Number(readFileSync(f, 'utf8').trim()) : undefined;
  };
  for (;;) {
    if (existsSync(join(dir, 'ready')) && (await sshBanner(r.mgmtAddress, SSHD_PASSWORD_PORT, 500)) && (await bannerOn(r.mgmtAddress, DROPBEAR_PORT))) break;
    if (!isRunning(child.pid) || Date.now() > deadline) {
      const logs = ['sshd.log', 'dropbear.log'].map((f) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : '')).join('\n');
      stopPidsSync([...pids, ...[readPid('sshd'), readPid('dropbear')].filter((p): p is number => p !== undefined)]);
      throw new Error(`login servers did not start: ${err}\n${logs}`);
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  for (const name of ['sshd', 'dropbear']) {
    const pid = readPid(name);
    if (pid !== undefined) pids.push(pid);
  }
  const sshdPid = pids[1];
  return {
    dir,
    address: r.mgmtAddress,
    namespace: r.namespace,
    knownHosts,
    rootPassword,
    userPassword,
    pids,
    inside: (args) => {
      const res = spawnSync('nsenter', ['-t', String(sshdPid), '-m', '-n', ...args], { encoding: 'utf8', timeout: 20_000 });
      return { code: res.status, stdout: res.stdout ?? '', stderr: res.stderr ?? '' };
    },
    // The daemons first (their children, the sessions, end with their connections), then the script.
    stop: () => stopPidsSync([...pids.slice(1), pids[0]]),
  };
}

/** dropbear greets with its banner as OpenSSH does. */
function bannerOn(address: string, port: number): Promise<boolean> {
  return sshBanner(address, port, 500);
}
