// The Debian packages a lab needs, installed only when one of their commands is missing.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { run } from './run.js';

/** Command the lab runs → Debian package that ships it. */
export const LAB_COMMANDS: Readonly<Record<string, string>> = {
  sshd: 'openssh-server',
  ssh: 'openssh-client',
  'ssh-keygen': 'openssh-client',
  ip: 'iproute2',
  'iptables-legacy': 'iptables',
  'iptables-nft': 'iptables',
  ping: 'iputils-ping',
  conntrack: 'conntrack',
};

const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export function findCommand(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SYSTEM_DIRS];
  for (const dir of dirs) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** extra: more commands → packages (the data plane's), checked only when asked for. */
export function missingLabPackages(extra: Readonly<Record<string, string>> = {}): string[] {
  const missing = new Set<string>();
  for (const [command, pkg] of Object.entries({ ...LAB_COMMANDS, ...extra })) if (!findCommand(command)) missing.add(pkg);
  return [...missing].sort();
}

/** apt-get update once, then install what is missing. Does nothing when all is there. */
export async function ensureLabPackages(log: (line: string) => void = () => undefined, extra: Readonly<Record<string, string>> = {}): Promise<void> {
  const missing = missingLabPackages(extra);
  if (missing.length === 0) return;
  if (!findCommand('apt-get')) {
    throw new Error(`the lab needs Debian packages ${missing.join(', ')} and this system has no apt-get`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log(`installing ${missing.join(' ')} (apt-get)`);
  await run('apt-get', ['update'], { env, timeoutMs: 600_000 });
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, timeoutMs: 600_000 });
  const still = missingLabPackages(extra);
  if (still.length > 0) throw new Error(`installed ${missing.join(', ')} but still missing commands of ${still.join(', ')}`);
}
