// Each fleet command's exit code from its hosts' outcomes, in one place: the commands use
// it, and so does `report merge`, which must exit for N shards as the command would have
// for the whole fleet.
import { EXIT_CHANGES, EXIT_ERROR, EXIT_OK } from '../errors.js';
import type { HostOutcome } from '../model/result.js';
import type { StatusOutcome } from '../model/status.js';

/** The commands whose hosts end with a HostOutcome, as their --json documents name them. */
export type HostRunCommand = 'deploy' | 'deploy --check' | 'weights' | 'rollback' | 'remove' | 'remove --check';
export const HOST_RUN_COMMANDS: readonly HostRunCommand[] = ['deploy', 'deploy --check', 'weights', 'rollback', 'remove', 'remove --check'];

const DONE: ReadonlySet<HostOutcome> = new Set(['unchanged', 'changed']);
const CHECKED: ReadonlySet<HostOutcome> = new Set(['unchanged', 'changed', 'would_change']);

/**
 * deploy: 0 when every host ended unchanged or changed, else 1. deploy --check and remove
 * --check: 1 on any error, else 2 when some host needs changes, else 0. weights, rollback,
 * remove: 0 / 1 as deploy.
 */
export function hostRunExitCode(command: HostRunCommand, outcomes: readonly HostOutcome[]): 0 | 1 | 2 {
  // deploy has always let would_change through; it only occurs under --check.
  const ok = command === 'deploy' || command === 'deploy --check' || command === 'remove --check' ? CHECKED : DONE;
  if (!outcomes.every((o) => ok.has(o))) return EXIT_ERROR;
  if ((command === 'deploy --check' || command === 'remove --check') && outcomes.includes('would_change')) return EXIT_CHANGES;
  return EXIT_OK;
}

/** status: 0 when every host answered, else 1. */
export function statusExitCode(statuses: readonly StatusOutcome[]): 0 | 1 {
  return statuses.every((s) => s === 'ok') ? EXIT_OK : EXIT_ERROR;
}
