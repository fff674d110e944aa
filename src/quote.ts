// Every value that reaches a remote shell goes through quote(); validators make sure
// the value is what it claims to be before that (an interface name, an address...).

/** POSIX sh single-quoting: safe for any byte string without NUL. */
export function quote(value: string | number): string {
  const s = String(value);
  if (s.includes('\0')) throw new Error('refusing to quote a value containing NUL');
  if (s !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Linux IFNAMSIZ is 16 including NUL; the kernel refuses '/', ':', whitespace, '.' and '..'.
 * '+' is refused too: iptables reads a trailing '+' as a wildcard (-i wan+ matches every wan);
 * and a leading '-', which commands would read as an option.
 */
export function isInterfaceName(s: string): boolean {
  return s.length >= 1 && s.length <= 15 && s !== '.' && s !== '..' && /^[A-Za-z0-9_.@][A-Za-z0-9_.@-]*$/.test(s);
}

export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  if (parts.length !== 4) return false;
  return parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

/** a.b.c.d/len, or a bare address (treated as /32). Host bits must be zero, as iptables would print it. */
export function parseCidr(s: string): { address: string; prefix: number } | undefined {
  const m = /^([^/]+)(?:\/(\d{1,2}))?$/.exec(s);
  if (!m || !isIPv4(m[1])) return undefined;
  const prefix = m[2] === undefined ? 32 : Number(m[2]);
  if (prefix > 32) return undefined;
  return { address: m[1], prefix };
}

export function ipv4ToInt(s: string): number {
  return s.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/**
 * A state folder or other remote path: absolute, plain characters only, no `..` part. It is
 * quoted anyway; the narrow set keeps it safe in unit files and messages too.
 */
export function isRemotePath(s: string): boolean {
  return /^\/[A-Za-z0-9_.@+/-]*$/.test(s) && !s.split('/').includes('..') && s.length <= 200;
}
