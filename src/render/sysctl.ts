// Sysctl writes: straight to /proc/sys (no dependency on the sysctl binary), through
// ml_sysctl KEY VALUE of lib.sh. Keys are /proc/sys paths with '/' (see SysctlSpec.key), the
// only form that can name an interface with a dot (eth0.2).
import { isSysctlKey } from '../facts/sysctl.js';
import { sh, type Sh } from '../shell/sh.js';

export function sysctlWriteCommand(key: string, value: string): Sh {
  if (!isSysctlKey(key)) throw new Error(`invalid sysctl key ${JSON.stringify(key)}`);
  if (!/^[0-9]{1,10}$/.test(value)) throw new Error(`invalid sysctl value ${JSON.stringify(value)}`);
  return sh`ml_sysctl ${key} ${value}`;
}
