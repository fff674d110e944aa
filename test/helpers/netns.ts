// Scratch network namespaces for tests that run scripts against real netfilter and
// iproute2 without SSH. Every namespace is deleted by name in cleanup, even on failure.
import { execFileSync, spawnSync } from 'node:child_process';

export function netnsSupport(): { ok: boolean; reason?: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root: network namespaces need root' };
  const probe = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (probe.status !== 0) return { ok: false, reason: `ip netns does not work here: ${probe.stderr || probe.error}` };
  for (const bin of ['iptables-legacy-save', 'iptables-nft-save']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) return { ok: false, reason: `${bin} is not installed` };
  }
  return { ok: true };
}

let counter = 0;

export class ScratchNetns {
  readonly name = `mlx${process.pid % 100000}n${counter++}`;

  constructor() {
    execFileSync('ip', ['netns', 'add', this.name]);
    this.ip('link', 'set', 'lo', 'up');
  }

  ip(...args: string[]): string {
    return execFileSync('ip', ['-n', this.name, ...args], { encoding: 'utf8' });
  }

  /** A veth pair inside the namespace, up, with an address on the first end. */
  veth(name: string, cidr?: string): void {
    this.ip('link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`);
    this.ip('link', 'set', name, 'up');
    this.ip('link', 'set', `${name}p`, 'up');
    if (cidr) this.ip('addr', 'add', cidr, 'dev', name);
  }

  sh(script: string): { stdout: string; stderr: string; code: number | null } {
    const r = spawnSync('ip', ['netns', 'exec', this.name, 'sh', '-s'], { input: script, encoding: 'utf8', timeout: 30_000 });
    return { stdout: r.stdout, stderr: r.stderr, code: r.status };
  }

  exec(...cmd: string[]): string {
    return execFileSync('ip', ['netns', 'exec', this.name, ...cmd], { encoding: 'utf8' });
  }

  delete(): void {
    spawnSync('ip', ['netns', 'del', this.name]);
  }
}
