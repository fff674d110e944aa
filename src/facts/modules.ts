// Fact: whether a kernel module is loaded, built in, missing, or the kernel has no module support.
// A built-in module has no line in /proc/modules but may have /sys/module/NAME (when it has
// parameters) or a line in modules.builtin; a kernel without /proc/modules loads nothing.
import type { ModuleState } from '../model/facts.js';
import { sh, type Sh } from '../shell/sh.js';

const STATES: readonly ModuleState[] = ['loaded', 'builtin', 'missing', 'no-module-support'];

export function moduleCommand(name: string): Sh {
  if (!isModuleName(name)) throw new Error(`invalid module name ${JSON.stringify(name)}`);
  // modules.builtin names the file; '_' and '-' are the same in module names.
  const builtin = `/${name.replace(/_/g, '[_-]')}\\.ko`;
  return sh`if [ ! -e /proc/modules ]; then echo no-module-support
elif grep -q ${`^${name} `} /proc/modules; then echo loaded
elif [ -d ${`/sys/module/${name}`} ]; then echo builtin
elif grep -qE ${builtin} "/lib/modules/$(uname -r)/modules.builtin" 2>/dev/null; then echo builtin
else echo missing; fi`;
}

export function parseModule(text: string): ModuleState {
  const value = text.trim() as ModuleState;
  if (!STATES.includes(value)) throw new Error(`unexpected module state: ${JSON.stringify(text.trim())}`);
  return value;
}

/** Kernel-style module names only: they end up in grep patterns. */
export function isModuleName(name: string): boolean {
  return /^[a-z0-9_]{1,56}$/.test(name);
}
