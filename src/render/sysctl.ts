// sysctl commands. Keys are /proc/sys paths with '/' (see SysctlSpec.key); sysctl(8)
// accepts that form as is, and it is the only one that can name an interface with a dot.
import type { SysctlSpec } from '../model/desired.js';
import { quote } from '../quote.js';

/** The key for sysctl -w: dotted when no part has a dot (the familiar form), else slashes. */
export function sysctlArgKey(key: string): string {
  const parts = key.split('/');
  return parts.some((p) => p.includes('.')) ? key : parts.join('.');
}

export function renderSysctlCommand(s: SysctlSpec): string {
  return `sysctl -w ${quote(`${sysctlArgKey(s.key)}=${s.value}`)}`;
}
