// Fact: sysctl values, read straight from /proc/sys (no dependency on the sysctl binary).
import { quote } from '../quote.js';

export const ABSENT = '@@ML-absent';

/** Keys are paths under /proc/sys ('net/ipv4/conf/eth0.2/rp_filter'). */
export function sysctlPath(key: string): string {
  return `/proc/sys/${key}`;
}

export function isSysctlKey(key: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9_.@+/-]*$/.test(key) && !key.split('/').some((part) => part === '..' || part === '');
}

/** Prints the value, or the ABSENT marker when the key does not exist (e.g. no such interface). */
export function sysctlCommand(key: string): string {
  const path = quote(sysctlPath(key));
  return `if [ -r ${path} ]; then cat ${path}; else echo ${ABSENT}; fi`;
}

export function parseSysctl(text: string): string | null {
  const value = text.trim();
  return value === ABSENT ? null : value;
}
