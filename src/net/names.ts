// Validators for the names that reach a router's commands: interface names and remote paths.
// A value is checked for what it claims to be before it is quoted into any script.

/**
 * Linux IFNAMSIZ is 16 including NUL; the kernel refuses '/', ':', whitespace, '.' and '..'.
 * '+' is refused too: iptables reads a trailing '+' as a wildcard (-i wan+ matches every wan);
 * and a leading '-', which commands would read as an option.
 */
export function isInterfaceName(s: string): boolean {
  return s.length >= 1 && s.length <= 15 && s !== '.' && s !== '..' && /^[A-Za-z0-9_.@][A-Za-z0-9_.@-]*$/.test(s);
}

/**
 * A state folder or other remote path: absolute, plain characters only, no `..` part. It is
 * quoted anyway; the narrow set keeps it safe in unit files and messages too.
 */
export function isRemotePath(s: string): boolean {
  return /^\/[A-Za-z0-9_.@+/-]*$/.test(s) && !s.split('/').includes('..') && s.length <= 200;
}
