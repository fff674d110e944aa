// ML_HELPERS (raw): explicit conntrack helper assignment. Kernels >= 4.7 no longer attach
// helpers by port on their own, so FTP data connections would not be RELATED (and would
// not inherit the link mark) without this.
import type { Helper } from '../model/config.js';

const HELPER_RULES: Record<Helper, string[]> = {
  ftp: ['-p tcp -m tcp --dport 21 -j CT --helper ftp'],
};

/** Kernel modules each helper needs; iptables autoloads the xt_* matches by itself. */
const HELPER_MODULES: Record<Helper, string[]> = {
  ftp: ['nf_conntrack_ftp', 'nf_nat_ftp'],
};

export function helperRules(helpers: Helper[]): string[] {
  return unique(helpers).flatMap((h) => HELPER_RULES[h]);
}

export function helperModules(helpers: Helper[]): string[] {
  return unique(helpers).flatMap((h) => HELPER_MODULES[h]);
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}
