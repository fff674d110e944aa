// Every value that reaches a remote shell goes through quote(); validators make sure
// the value is what it claims to be before that (an interface name, an address...).

/** POSIX sh single-quoting: safe for any byte string without NUL. */
export function quote(value: string | number): string {
  const s = String(value);
  if (s.includes('\0')) throw new Error('refusing to quote a value containing NUL');
  if (s !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
