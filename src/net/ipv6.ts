// IPv6 addresses and prefixes: parsing, and the canonical text ip6tables-save and iproute2
// print (inet_ntop: lower case, the longest run of two or more zero groups as ::, leftmost
// on a tie), so compiled and live rules compare as plain strings. Pure.

/** The eight 16-bit groups of an IPv6 address, or undefined when it does not parse. */
export function ipv6Groups(text: string): number[] | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(text) || text.length > 45) return undefined;
  let s = text;
  let tail: number[] = [];
  // An embedded IPv4 address (::ffff:192.0.2.1) as the last 32 bits.
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const parts = v4[2].split('.').map(Number);
    if (parts.some((p) => p > 255) || v4[2].split('.').some((p) => !/^(0|[1-9]\d{0,2})$/.test(p))) return undefined;
    tail = [(parts[0] << 8) | parts[1], (parts[2] << 8) | parts[3]];
    s = v4[1].endsWith('::') ? v4[1] : v4[1].slice(0, -1);
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parse = (h: string): number[] | undefined => {
    if (h === '') return [];
    const groups = h.split(':');
    if (groups.some((g) => !/^[0-9A-Fa-f]{1,4}$/.test(g))) return undefined;
    return groups.map((g) => parseInt(g, 16));
  };
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  if (!head || !rest) return undefined;
  const given = head.length + rest.length + tail.length;
  if (halves.length === 1) return given === 8 ? [...head, ...tail] : undefined;
  if (given > 7) return undefined;
  return [...head, ...new Array<number>(8 - given).fill(0), ...rest, ...tail];
}

export function isIPv6(text: string): boolean {
  return ipv6Groups(text) !== undefined;
}

/** inet_ntop's text of eight groups. */
export function formatIPv6(groups: readonly number[]): string {
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.len < 2) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}

/** The canonical text of an address (2001:DB8:0:0::1 → 2001:db8::1). */
export function canonicalIPv6(text: string): string | undefined {
  const g = ipv6Groups(text);
  return g ? formatIPv6(g) : undefined;
}

export interface Cidr6 {
  groups: number[];
  prefix: number;
}

/** ADDR/LEN, or a bare address (a /128). */
export function parseCidr6(text: string): Cidr6 | undefined {
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(text);
  if (!m) return undefined;
  const groups = ipv6Groups(m[1]);
  const prefix = m[2] === undefined ? 128 : Number(m[2]);
  if (!groups || prefix > 128) return undefined;
  return { groups, prefix };
}

function masked(c: Cidr6): number[] {
  return c.groups.map((g, i) => {
    const bits = Math.max(0, Math.min(16, c.prefix - i * 16));
    return bits === 0 ? 0 : g & ((0xffff << (16 - bits)) & 0xffff);
  });
}

export function hasHostBits6(c: Cidr6): boolean {
  return masked(c).some((g, i) => g !== c.groups[i]);
}

/** NETWORK/LEN as ip6tables prints it (host bits cleared). */
export function formatCidr6(c: Cidr6): string {
  return `${formatIPv6(masked(c))}/${c.prefix}`;
}

/** fe80::/10: valid only on one link (a gateway learnt from router advertisements). */
export function isLinkLocal6(text: string): boolean {
  const g = ipv6Groups(text);
  return g !== undefined && (g[0] & 0xffc0) === 0xfe80;
}
