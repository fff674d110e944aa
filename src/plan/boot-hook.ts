// Plans the boot hook (src/render/boot.ts): a file of it missing or different, or its systemd
// link gone, is a change (and drift), repaired by installing the hook as a step of the apply.
import type { DesiredState } from '../model/desired.js';
import type { HostFacts } from '../model/facts.js';
import type { Change } from '../model/plan.js';
import { bootHookFiles } from '../render/boot.js';

export function planBootHook(desired: DesiredState, facts: HostFacts): { changes: Change[]; install: boolean } {
  const live = facts.bootHook;
  if (desired.settings.boot === 'none' || !live) return { changes: [], install: false };
  const want = bootHookFiles(desired.settings.boot, desired.settings.stateDir, live);
  const changes: Change[] = [];
  for (const [path, expected] of Object.entries(want.files)) {
    const actual = live.files[path] ?? null;
    if (actual === expected) continue;
    changes.push({ kind: 'file', op: actual === null ? 'create' : 'update', object: path, expected, ...(actual === null ? {} : { actual }) });
  }
  for (const [path, target] of Object.entries(want.links)) {
    const actual = live.links[path] ?? null;
    if (actual === target) continue;
    changes.push({ kind: 'file', op: actual === null ? 'create' : 'update', object: path, expected: `-> ${target}`, ...(actual === null ? {} : { actual: `-> ${actual}` }) });
  }
  return { changes, install: changes.length > 0 };
}
