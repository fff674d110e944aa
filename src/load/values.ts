// Typed readers over located (already templated) values. Each one either returns the
// value or reports "what: expected X, got Y" at the node and returns undefined.
// An absent node (undefined) is not an error here: callers apply defaults.
import { hasHostBits, isIPv4, parseCidr } from '../net/ipv4.js';
import { formatCidr6, hasHostBits6, parseCidr6 } from '../net/ipv6.js';
import { isInterfaceName } from '../net/names.js';
import { show, type Reporter } from './report.js';
import type { YValue } from './yaml-source.js';

export function expected(r: Reporter, what: string, expectation: string, node: YValue): undefined {
  r.error(`${what}: expected ${expectation}, got ${show(node)}`, node);
  return undefined;
}

/** Strings, and numbers written without quotes (an interface called 1 is still a name). */
export function readString(node: YValue | undefined, what: string, r: Reporter): string | undefined {
  if (!node) return undefined;
  if (node.kind === 'scalar' && (typeof node.value === 'string' || typeof node.value === 'number')) {
    return String(node.value);
  }
  return expected(r, what, 'a string', node);
}

/** Whole number from an int or a string ("42", "0xff00"): templates always yield strings. */
export function parseWhole(node: YValue): number | undefined {
  if (node.kind !== 'scalar') return undefined;
  const v = node.value;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (!/^(\d+|0x[0-9a-f]+)$/i.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

export function readWhole(
  node: YValue | undefined,
  what: string,
  r: Reporter,
  range: { min: number; max?: number },
): number | undefined {
  if (!node) return undefined;
  const n = parseWhole(node);
  if (n !== undefined && n >= range.min && (range.max === undefined || n <= range.max)) return n;
  const expectation =
    range.max === undefined ? `a whole number >= ${range.min}` : `a whole number from ${range.min} to ${range.max}`;
  return expected(r, what, expectation, node);
}

/** A share between 0 and 1: a number (0.25) or a percentage string ("25%"). */
export function readShare(node: YValue | undefined, what: string, r: Reporter): number | undefined {
  if (!node) return undefined;
  if (node.kind === 'scalar') {
    const v = node.value;
    const text = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
    const pct = /^(\d+(?:\.\d+)?)%$/.exec(text);
    const n = pct ? Number(pct[1]) / 100 : /^\d+(?:\.\d+)?$/.test(text) ? Number(text) : NaN;
    if (n >= 0 && n <= 1) return n;
  }
  return expected(r, what, 'a share from 0 to 1, like 0.25 or "25%"', node);
}

const TRUE = ['true', 'yes', 'on'];
const FALSE = ['false', 'no', 'off'];

/** Booleans, and the strings Ansible takes for them (templated values are strings). */
export function readBool(node: YValue | undefined, what: string, r: Reporter): boolean | undefined {
  if (!node) return undefined;
  if (node.kind === 'scalar') {
    if (typeof node.value === 'boolean') return node.value;
    const s = typeof node.value === 'string' ? node.value.trim().toLowerCase() : '';
    if (TRUE.includes(s)) return true;
    if (FALSE.includes(s)) return false;
  }
  return expected(r, what, 'true or false', node);
}

export function readEnum<T extends string>(
  node: YValue | undefined,
  what: string,
  allowed: readonly T[],
  r: Reporter,
): T | undefined {
  if (!node) return undefined;
  const found = allowed.find((a) => node.kind === 'scalar' && node.value === a);
  return found ?? expected(r, what, `one of ${allowed.join(', ')}`, node);
}

/** A list; a single scalar stands for a one-item list (`traffic: local`). */
export function readList(node: YValue | undefined, what: string, r: Reporter): YValue[] | undefined {
  if (!node) return undefined;
  if (node.kind === 'seq') return node.items;
  if (node.kind === 'scalar' && node.value !== null) return [node];
  return expected(r, what, 'a list', node);
}

export function readIPv4(node: YValue | undefined, what: string, r: Reporter): string | undefined {
  if (!node) return undefined;
  if (node.kind === 'scalar' && typeof node.value === 'string' && isIPv4(node.value.trim())) return node.value.trim();
  return expected(r, what, 'an IPv4 address (a.b.c.d)', node);
}

/**
 * Network in CIDR form with host bits zero, as iptables prints it; a bare address is a /32.
 * With `ipv6`, an IPv6 prefix is taken too (2001:db8::/32; a bare address is a /128), written
 * as ip6tables prints it.
 */
export function readCidr(node: YValue | undefined, what: string, r: Reporter, opts: { ipv6?: boolean } = {}): string | undefined {
  if (!node) return undefined;
  const text = node.kind === 'scalar' && typeof node.value === 'string' ? node.value.trim() : undefined;
  if (opts.ipv6 && text !== undefined && text.includes(':')) {
    const c6 = parseCidr6(text);
    if (!c6) return expected(r, what, 'an IPv6 prefix like 2001:db8::/32', node);
    if (hasHostBits6(c6)) return expected(r, what, `a prefix with its host bits zero (${formatCidr6(c6)}, not ${text})`, node);
    return formatCidr6(c6);
  }
  const cidr = text === undefined ? undefined : parseCidr(text);
  if (!cidr) return expected(r, what, opts.ipv6 ? 'an IPv4 network like 192.0.2.0/24 or an IPv6 prefix like 2001:db8::/32' : 'an IPv4 network like 192.0.2.0/24', node);
  if (hasHostBits(cidr)) {
    const bits = 32 - cidr.prefix;
    return expected(r, what, `a network with its host bits zero (/${cidr.prefix} leaves the last ${bits} bits for hosts)`, node);
  }
  return `${cidr.address}/${cidr.prefix}`;
}

/** "1s", "500ms", "2m" in milliseconds. */
export function readDuration(node: YValue | undefined, what: string, r: Reporter): number | undefined {
  if (!node) return undefined;
  // Whole or decimal (`0.25s`, `.5s`), read digit by digit: no float rounding decides what is
  // a whole number of milliseconds.
  const m = node.kind === 'scalar' && typeof node.value === 'string' ? /^(\d*)(?:\.(\d+))?(ms|s|m)$/.exec(node.value.trim()) : null;
  let ms = 0;
  if (m && (m[1] !== '' || m[2] !== undefined)) {
    const unit = { ms: 1, s: 1000, m: 60_000 }[m[3] as 'ms' | 's' | 'm'];
    const frac = (m[2] ?? '').replace(/0+$/, '');
    const scale = 10 ** frac.length;
    const whole = Number(m[1] || '0') * unit;
    const part = Number(frac || '0') * unit;
    ms = part % scale === 0 ? whole + part / scale : 0;
  }
  if (ms >= 100 && ms <= 3_600_000) return ms;
  return expected(r, what, 'a duration from 100ms to 60m, like 1s, 250ms or 0.25s', node);
}

/** A name the kernel would accept for an interface (it reaches ip and iptables quoted anyway). */
export function readInterface(node: YValue | undefined, what: string, r: Reporter): string | undefined {
  const name = readString(node, what, r);
  if (name === undefined || isInterfaceName(name)) return name;
  return expected(r, what, 'an interface name the kernel accepts (1-15 of A-Z a-z 0-9 _ . @ + -, not . or ..)', node as YValue);
}
