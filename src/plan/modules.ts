// Plans kernel modules: modprobe only what is missing. Loaded, built-in, or a kernel without
// module support (everything it has is built in) all satisfy the need without modprobe.
import type { DesiredState } from '../model/desired.js';
import type { HostFacts } from '../model/facts.js';
import type { Change } from '../model/plan.js';

export function planModules(desired: DesiredState, facts: HostFacts): { changes: Change[]; load: string[] } {
  const load = desired.modules.filter((m) => facts.modules[m] === 'missing');
  return { load, changes: load.map((m) => ({ kind: 'module', op: 'create', object: m, actual: 'not loaded' })) };
}
