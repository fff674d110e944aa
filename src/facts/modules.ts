// Fact: whether a kernel module is loaded, built in, missing, or the kernel has no module support.
// A built-in module has no line in /proc/modules but may have /sys/module/NAME (when it has
// parameters) or a line in modules.builtin; a kernel without /proc/modules loads nothing.
import type { ModuleState } from '../model/facts.js';
import { quote } from '../quote.js';

const STATES: readonly ModuleState[] = ['loaded', 'builtin', 'missing', 'no-module-support'];

export function moduleCommand(name: string): string {
  const m = quote(name);
  return [
    `if [ ! -e /proc/modules ]; then echo no-module-support`,
    `elif grep -q "^${name} " /proc/modules; then echo loaded`,
    `elif [ -d /sys/module/${m} ]; then echo builtin`,
    `elif grep -qE "/${name.replace(/_/g, '[_-]')}\\.ko" "/lib/modules/$(uname -r)/modules.builtin" 2>/dev/null; then echo builtin`,
    `else echo missing; fi`,
  ].join('\n');
}

export function parseModule(text: string): ModuleState {
  const value = text.trim() as ModuleState;
  if (!STATES.includes(value)) throw new Error(`unexpected module state: ${JSON.stringify(text.trim())}`);
  return value;
}

/** Module names reach the shell unquoted inside grep patterns: only allow kernel-style names. */
export function isModuleName(name: string): boolean {
  return /^[a-z0-9_]{1,56}$/.test(name);
}
