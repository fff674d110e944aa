// Runs the multilink command line in-process with captured output.
import { run } from '../../src/cli.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(['node', 'multilink', ...args], {
    out: (t) => (stdout += t.endsWith('\n') ? t : `${t}\n`),
    err: (t) => (stderr += t.endsWith('\n') ? t : `${t}\n`),
  });
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
