// Labs of the benchmark: each with a prefix, folder and management subnet of its own (as
// test/helpers/lab.ts does), always removed: by stopLab, and on exit or a signal.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreeSubnet, labDownSync, labUp, readLab, type LabInfo } from '../../src/lab/lab.js';
import { stopChildren } from './proc.js';

const started = new Set<string>();
let counter = 0;
let netInstalled = false;
const cleanups: Array<() => void> = [];

/** Runs before the labs are removed on exit or a signal (close Ansible's ssh masters…). */
export function onCleanup(fn: () => void): void {
  cleanups.push(fn);
}

function removeSync(dir: string): void {
  try {
    if (readLab(dir)) labDownSync({ dir });
  } catch (err) {
    console.error(`could not remove bench lab in ${dir}: ${err instanceof Error ? err.message : String(err)}`);
  }
  rmSync(dir, { recursive: true, force: true });
  started.delete(dir);
}

function cleanupAll(): void {
  stopChildren();
  for (const fn of cleanups.splice(0)) {
    try {
      fn();
    } catch {
      // best effort: the labs must still go
    }
  }
  for (const dir of [...started]) removeSync(dir);
}

function installSafetyNet(): void {
  if (netInstalled) return;
  netInstalled = true;
  process.on('exit', cleanupAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      console.error(`\n${sig}: stopping children and removing bench labs`);
      cleanupAll();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

export async function startLab(routers: number, log: (line: string) => void, extra: { openwrt?: readonly string[] } = {}): Promise<LabInfo> {
  installSafetyNet();
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    counter += 1;
    const prefix = `bf${process.pid % 10000}x${counter}`;
    const dir = mkdtempSync(join(tmpdir(), `multilink-bench-${prefix}-`));
    started.add(dir);
    // Away from the default lab (0) and the test labs (64..223).
    const subnet = await findFreeSubnet(224 + ((process.pid + counter) % 32));
    if (subnet === undefined) throw new Error('no free 198.18.X.0/24 subnet for a bench lab');
    try {
      return await labUp({ routers, dir, prefix, subnet, log, ...extra });
    } catch (err) {
      lastError = err;
      removeSync(dir);
      if (!(err instanceof Error && /taken meanwhile|already uses 198\.18\./.test(err.message))) throw err;
    }
  }
  throw lastError;
}

export function stopLab(lab: LabInfo): void {
  removeSync(lab.dir);
}
