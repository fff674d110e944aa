// ansible-playbook on the same fleet: each run with a control-socket folder of its own whose
// masters are closed afterwards, so no run starts on the connections of the one before.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { timed, type Timed } from './proc.js';

export interface AnsibleRun extends Timed {
  recap: Map<string, { ok: number; changed: number; unreachable: number; failed: number }>;
}

export function ansibleAvailable(): boolean {
  return existsSync('/usr/bin/ansible-playbook');
}

export async function ansibleVersion(): Promise<string> {
  const r = await timed('ansible-playbook', ['--version'], { timeoutMs: 30_000, gnuTime: false });
  return r.stdout.split('\n')[0]?.trim() ?? 'unknown';
}

function parseRecap(stdout: string): AnsibleRun['recap'] {
  const recap: AnsibleRun['recap'] = new Map();
  const re = /^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm;
  for (const m of stdout.matchAll(re)) {
    recap.set(m[1], { ok: Number(m[2]), changed: Number(m[3]), unreachable: Number(m[4]), failed: Number(m[5]) });
  }
  return recap;
}

async function closeMasters(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  await Promise.all(
    readdirSync(dir).map((sock) =>
      timed('ssh', ['-o', `ControlPath=${join(dir, sock)}`, '-O', 'exit', 'bench-master'], { timeoutMs: 10_000, gnuTime: false }).catch(() => undefined),
    ),
  );
}

export async function ansiblePlaybook(benchDir: string, inventory: string, workDir: string, timeoutMs: number): Promise<AnsibleRun> {
  const cp = mkdtempSync(join(workDir, 'cp-'));
  try {
    const r = await timed('ansible-playbook', ['-i', inventory, join(benchDir, 'ansible', 'fleet.yml')], {
      timeoutMs,
      env: {
        ...process.env,
        ANSIBLE_CONFIG: join(benchDir, 'ansible', 'ansible.cfg'),
        ANSIBLE_SSH_CONTROL_PATH_DIR: cp,
        ANSIBLE_NOCOLOR: '1',
        ANSIBLE_FORCE_COLOR: '0',
      },
    });
    return { ...r, recap: parseRecap(r.stdout) };
  } finally {
    await closeMasters(cp);
    rmSync(cp, { recursive: true, force: true });
  }
}

/** Throws unless every host was reached, nothing failed, and changes are as wanted. */
export function expectRecap(what: string, run: AnsibleRun, hosts: readonly string[], changed: 'some' | 'none'): void {
  const problems: string[] = [];
  if (run.timedOut) problems.push('timed out');
  for (const h of hosts) {
    const r = run.recap.get(h);
    if (!r) problems.push(`${h}: no recap`);
    else if (r.unreachable > 0 || r.failed > 0) problems.push(`${h}: unreachable=${r.unreachable} failed=${r.failed}`);
    else if (changed === 'some' && r.changed === 0) problems.push(`${h}: nothing changed on a fresh router`);
    else if (changed === 'none' && r.changed > 0) problems.push(`${h}: changed=${r.changed} on a no-op run`);
  }
  if (problems.length > 0) {
    const tail = run.stdout.split('\n').filter((l) => /^(fatal|failed|changed):|UNREACHABLE/.test(l)).slice(0, 10).map((l) => l.slice(0, 400)).join('\n  ');
    throw new Error(`${what}: ${problems.slice(0, 5).join('; ')} (exit ${run.code})\n  ${tail}\n  ${run.stderr.trim().slice(0, 1000)}`);
  }
}
