// Fact, for `remove`: which of multilink's folders exist on the router (its state folder, its
// run folder) and what a purge killed midway left beside the state folder (STATE.purge-ID).
import type { PathFacts } from '../model/facts.js';
import { RunLayout, StateLayout } from '../shell/layout.js';
import { sh, type Sh } from '../shell/sh.js';

/** What a purge renames the state folder to before deleting it (src/remote/txn-purge.sh). */
export function purgeLeftoverPattern(stateDir: string): RegExp {
  const dir = new StateLayout(stateDir).dir.replace(/[.+]/g, (c) => `\\${c}`);
  return new RegExp(`^${dir}\\.purge-[0-9a-f]{8,64}$`);
}

export function pathsCommand(stateDir: string, runDir: string): Sh {
  const state = new StateLayout(stateDir).dir;
  const run = new RunLayout(runDir).dir;
  return sh`if [ -e ${state} ]; then echo state; fi
if [ -e ${run} ]; then echo run; fi
for ml_p in ${state}.purge-*; do if [ -e "$ml_p" ]; then echo "leftover $ml_p"; fi; done`;
}

export function parsePaths(text: string, stateDir: string): PathFacts {
  const facts: PathFacts = { state: false, run: false, leftovers: [] };
  const leftover = purgeLeftoverPattern(stateDir);
  for (const line of text.split('\n')) {
    if (line === 'state') facts.state = true;
    else if (line === 'run') facts.run = true;
    else if (line.startsWith('leftover ') && leftover.test(line.slice('leftover '.length))) facts.leftovers.push(line.slice('leftover '.length));
  }
  return facts;
}
