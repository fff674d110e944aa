// Runs the multilink command line in-process with captured output.
import { run } from '../../src/cli.js';
import type { AnsibleWorld } from '../../src/load/ansible-cfg.js';
import { hermeticWorld } from './ansible-world.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(...args: string[]): Promise<CliResult> {
  return cliIn(hermeticWorld(), ...args);
}

/** The command line with its Ansible configuration search in `world` (tests' temp folders). */
export async function cliIn(world: AnsibleWorld, ...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(['node', 'multilink', ...args], {
    out: (t) => (stdout += t.endsWith('\n') ? t : `${t}\n`),
    err: (t) => (stderr += t.endsWith('\n') ? t : `${t}\n`),
  }, undefined, undefined, world);
  return { code, stdout, stderr };
}

export interface JsonHost {
  host: string;
  outcome: string;
  message?: string;
  changes: { kind: string; op: string; object: string }[];
}

export function jsonHosts(r: CliResult): Record<string, JsonHost> {
  const doc = JSON.parse(r.stdout) as { hosts: JsonHost[] };
  return Object.fromEntries(doc.hosts.map((h) => [h.host, h]));
}
