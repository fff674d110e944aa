// Fact: sysctl values, read straight from /proc/sys (no dependency on the sysctl binary).
import { ABSENT } from '../shell/reply.js';
import { sh, type Sh } from '../shell/sh.js';

/** Keys are paths under /proc/sys ('net/ipv4/conf/eth0.2/rp_filter'). */
export function sysctlPath(key: string): string {
  if (!isSysctlKey(key)) throw new Error(`invalid sysctl key ${JSON.stringify(key)}`);
  return `/proc/sys/${key}`;
}

export function isSysctlKey(key: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9_.@+/-]*$/.test(key) && !key.split('/').some((part) => part === '..' || part === '');
}

/** Prints the value, or the absent marker when the key does not exist (e.g. no such interface). */
export function sysctlCommand(key: string): Sh {
  return sh`ml_read ${sysctlPath(key)}`;
}

export function parseSysctl(text: string): string | null {
  const value = text.trim();
  return value === ABSENT ? null : value;
}
