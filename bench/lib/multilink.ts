// multilink as a user runs it: `node dist/bin.js …` in a child process, timed from spawn to exit.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { must, timed, type Timed } from './proc.js';

export interface MultilinkCli {
  bin: string;
  drift: boolean;
  weights: boolean;
}

/** Which commands this build has: `drift` and `weights` may land while the benchmark exists. */
export async function detectCli(root: string): Promise<MultilinkCli> {
  const bin = join(root, 'dist', 'bin.js');
  const help = await must(process.execPath, [bin, '--help']);
  return { bin, drift: /^\s+drift\b/m.test(help), weights: /^\s+weights\b/m.test(help) };
}

export interface HostOutcome {
  host: string;
  outcome: string;
  durationMs: number;
  message?: string;
}

export interface MultilinkRun extends Timed {
  hosts: HostOutcome[];
}

export async function multilink(cli: MultilinkCli, args: readonly string[], timeoutMs: number): Promise<MultilinkRun> {
  const r = await timed(process.execPath, [cli.bin, ...args], { timeoutMs });
  let hosts: HostOutcome[] = [];
  if (args.includes('--json')) {
    try {
      const doc = JSON.parse(r.stdout) as { hosts?: HostOutcome[] };
      hosts = doc.hosts ?? [];
    } catch {
      // left empty: the caller reports the exit code and stderr
    }
  }
  return { ...r, hosts };
}

/** What went other than wanted (empty when every host ended with one of the wanted outcomes). */
export function unexpectedOutcomes(run: MultilinkRun, hosts: number, wanted: readonly string[]): string {
  if (run.timedOut) return 'timed out';
  const bad = run.hosts.filter((h) => !wanted.includes(h.outcome));
  if (bad.length > 0) {
    const shown = bad.slice(0, 3).map((h) => `${h.host} ${h.outcome}: ${(h.message ?? '').slice(0, 300)}`).join('; ');
    return `${bad.length} of ${hosts} host(s) not ${wanted.join('/')} (exit ${run.code}): ${shown}`;
  }
  if (run.hosts.length !== hosts) return `${run.hosts.length} of ${hosts} hosts reported (exit ${run.code}): ${run.stderr.trim().slice(0, 500)}`;
  return '';
}

/**
 * The lab's inventory with a weight overlay on the lab group: what `multilink weights` would
 * write. Used to emulate a weight change with a deploy when the CLI has no `weights`.
 */
export function inventoryWithWeights(labInventory: string, out: string, weights: Record<string, number>): void {
  const doc = parseDocument(readFileSync(labInventory, 'utf8'));
  doc.setIn(['all', 'children', 'lab', 'vars', 'multilink_weights'], doc.createNode(weights));
  writeFileSync(out, doc.toString());
}

export function copyInventory(labInventory: string, out: string): void {
  copyFileSync(labInventory, out);
}

/** The lab's inventory with every router on the nft backend. */
export function nftInventory(labInventory: string, out: string): string {
  writeFileSync(out, readFileSync(labInventory, 'utf8').replace(/multilink_firewall: iptables/g, 'multilink_firewall: nft'));
  return out;
}
