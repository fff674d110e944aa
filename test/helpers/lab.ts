// Test labs: real namespaces and sshd servers for integration tests, each with a prefix,
// folder and management subnet of its own, and always removed: by stopTestLab, by the
// afterAll this module registers in every test file that imports it, and on exit/SIGINT.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { labFolderProblem } from '../../src/lab/lab-folder.js';
import { findFreeSubnet, labDown, labDownSync, labUp, readLab, type LabInfo, type LabOptions } from '../../src/lab/lab.js';

export interface LabSupport {
  ok: boolean;
  reason?: string;
}

/** Can this machine run a lab? Root, working `ip netns`, OpenSSH server and client. */
export function labSupport(): LabSupport {
  if (process.env.MULTILINK_SKIP_LAB_TESTS) return { ok: false, reason: 'MULTILINK_SKIP_LAB_TESTS is set' };
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return { ok: false, reason: 'not root' };
  const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (ns.error || ns.status !== 0) return { ok: false, reason: `\`ip netns list\` failed: ${ns.error?.message ?? ns.stderr.trim()}` };
  for (const file of ['/usr/sbin/sshd', '/usr/bin/ssh', '/usr/bin/ssh-keygen']) {
    if (!existsSync(file)) return { ok: false, reason: `${file} is missing (apt-get install openssh-server openssh-client)` };
  }
  return { ok: true };
}

/**
 * Where test labs get their temp folders: the system temp folder (a lab's folder must be
 * root's, 0700, below folders only root can write or root-owned sticky ones such as /tmp:
 * labFolderProblem), not under /run, /var or /etc (an OpenWrt-like router mounts its own there).
 */
export function labTempRoot(): string {
  const problem = labFolderProblem(join(tmpdir(), 'lab'));
  if (problem) throw new Error(`no folder for test labs: ${problem} (set TMPDIR to a folder only root can write)`);
  if (/^\/(run|var|etc|usr)(\/|$)/.test(tmpdir())) throw new Error(`no folder for test labs: TMPDIR ${tmpdir()} is under a folder an OpenWrt-like router mounts its own of`);
  return tmpdir();
}

let counter = 0;
/** Folders of labs this process may have started: the safety net removes them. */
const reserved = new Set<string>();
let netInstalled = false;

export interface TestLabOptions {
  prefix: string;
  dir: string;
  subnet: number;
}

/** A fresh prefix, temp folder and free subnet, registered for cleanup; for tests that call labUp themselves. */
export async function reserveTestLab(): Promise<TestLabOptions> {
  installSafetyNet();
  counter += 1;
  const prefix = `mt${process.pid % 10000}x${counter}`;
  const dir = mkdtempSync(join(labTempRoot(), `multilink-${prefix}-`));
  reserved.add(dir);
  // Start the search away from 0 (the default lab) and apart from other test processes.
  const subnet = await findFreeSubnet(64 + ((process.pid * 7 + counter) % 160));
  if (subnet === undefined) throw new Error('no free 198.18.X.0/24 subnet for a test lab');
  return { prefix, dir, subnet };
}

export async function startTestLab(routers: number, extra: Pick<LabOptions, 'dataplane' | 'rates' | 'bcp38' | 'openwrt' | 'openwrtStock' | 'uplinks' | 'ipv6' | 'firewall'> = {}): Promise<LabInfo> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const opts = await reserveTestLab();
    const lines: string[] = [];
    try {
      return await labUp({ ...opts, ...extra, routers, log: (line) => lines.push(line) });
    } catch (err) {
      lastError = err;
      removeDir(opts.dir);
      // Another lab took the subnet between our look and our use: try another one.
      if (!(err instanceof Error && /taken meanwhile|already uses 198\.18\./.test(err.message))) {
        if (err instanceof Error) err.message += `\nlab log:\n  ${lines.join('\n  ')}`;
        throw err;
      }
    }
  }
  throw lastError;
}

export async function stopTestLab(lab: LabInfo | string): Promise<void> {
  const dir = typeof lab === 'string' ? lab : lab.dir;
  await labDown({ dir });
  removeDir(dir);
}

export async function stopAllTestLabs(): Promise<void> {
  for (const dir of [...reserved]) await stopTestLab(dir);
}

function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  reserved.delete(dir);
}

function stopAllSync(): void {
  for (const dir of [...reserved]) {
    try {
      if (readLab(dir)) labDownSync({ dir });
      removeDir(dir);
    } catch (err) {
      console.error(`could not remove test lab in ${dir}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

function installSafetyNet(): void {
  if (netInstalled) return;
  netInstalled = true;
  process.on('exit', stopAllSync);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      stopAllSync();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

afterAll(stopAllTestLabs);

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function sh(cmd: string, args: readonly string[], timeoutMs = 20_000): CommandResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? r.error?.message ?? '' };
}

/** The system OpenSSH client against a lab router, host key checked strictly. */
export function labSsh(lab: LabInfo, router: string, command: string): CommandResult {
  const r = lab.routers.find((x) => x.name === router);
  if (!r) throw new Error(`no router ${router} in lab ${lab.prefix}`);
  return sh('ssh', [
    '-F', '/dev/null',
    '-i', lab.privateKey,
    '-o', `UserKnownHostsFile=${lab.knownHosts}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes',
    '-o', 'ConnectTimeout=5',
    `root@${r.mgmtAddress}`,
    command,
  ]);
}

/** A command inside a lab router's namespace. */
export function inRouter(lab: LabInfo, router: string, cmd: string, args: readonly string[]): CommandResult {
  const r = lab.routers.find((x) => x.name === router);
  if (!r) throw new Error(`no router ${router} in lab ${lab.prefix}`);
  return sh('ip', ['netns', 'exec', r.namespace, cmd, ...args]);
}

/** The lab's inventory with another playbook (written as NAME.yaml in the lab's folder, the inventory beside it): its path. */
export function labInventoryWith(lab: LabInfo, name: string, playbook: string): string {
  const pb = join(lab.dir, `${name}.yaml`);
  writeFileSync(pb, playbook);
  const inv = join(lab.dir, `${name}-inventory.yaml`);
  writeFileSync(inv, readFileSync(lab.inventory, 'utf8').split(lab.playbook).join(pb));
  return inv;
}
