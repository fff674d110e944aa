// What a lab.json read from disk may ask `lab down` to remove: paths under the lab's folder,
// links and namespaces named with the lab's prefix, processes marked by one of its files.
// Anything else means the record was not written by `lab up`: nothing is removed at all.
import { join } from 'node:path';
import { isUnder } from './lab-folder.js';
import { SHIPPED_STATE_ROOT } from './lab-files.js';
import type { LabInfo } from './manifest.js';
import { checkPrefix, DEFAULT_PREFIX, DEFAULT_SUBNET } from './topology.js';

/** The default lab keeps its routers' state under SHIPPED_STATE_ROOT/rN (inventory/lab.yaml): those, and only those. */
function shippedStateTree(info: LabInfo, path: string): boolean {
  if (info.prefix !== DEFAULT_PREFIX || info.subnet !== DEFAULT_SUBNET) return false;
  return path === SHIPPED_STATE_ROOT || info.routers.some((r) => /^r\d+$/.test(r.name) && path === join(SHIPPED_STATE_ROOT, r.name));
}

/** Why `lab down` must not act on this record of the lab in dir; empty when every entry is the lab's own. */
export function manifestProblems(info: LabInfo, dir: string): string[] {
  const problems: string[] = [];
  if (info.dir !== dir) problems.push(`it names folder ${info.dir}, not ${dir}`);
  const prefixProblem = checkPrefix(info.prefix);
  if (prefixProblem) problems.push(prefixProblem);
  const named = (what: string, names: readonly unknown[]): void => {
    for (const n of names) {
      const name = typeof n === 'object' && n !== null && 'name' in n ? (n as { name: unknown }).name : undefined;
      if (typeof name !== 'string' || !name.startsWith(`${info.prefix}-`)) problems.push(`${what} ${String(name)} is not named ${info.prefix}-…`);
    }
  };
  named('namespace', info.namespaces);
  named('link', info.hostLinks);
  const under = (what: string, paths: readonly unknown[], orSame: boolean): void => {
    for (const p of paths) {
      if (typeof p !== 'string' || !(isUnder(p, dir, orSame) || shippedStateTree(info, p))) problems.push(`${what} ${String(p)} is outside ${dir}`);
    }
  };
  under('file', info.files, false);
  under('tree', info.trees, false);
  under('folder', info.dirs, true);
  for (const p of info.processes) {
    const marker: unknown = p.marker;
    if (typeof marker !== 'string' || !isUnder(marker, dir)) problems.push(`process ${String(p.pid)}'s marker ${String(marker)} is not a file in ${dir}`);
    if (!Number.isSafeInteger(p.pid) || p.pid <= 1) problems.push(`process ${String(p.pid)} cannot be the lab's`);
  }
  return problems;
}
