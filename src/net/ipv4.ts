// IPv4 addresses and CIDR networks: parsing and the little arithmetic multilink needs
// (network of a prefix, range, overlap). Pure; the one place such arithmetic lives.

export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  if (parts.length !== 4) return false;
  return parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

export interface Cidr {
  address: string;
  prefix: number;
}

/** a.b.c.d/len, or a bare address (treated as /32). Host bits are not checked here. */
export function parseCidr(s: string): Cidr | undefined {
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

/** First and last address of the network, as integers (host bits of the address ignored). */
export function cidrRange(c: Cidr): [number, number] {
  const size = 2 ** (32 - c.prefix);
  const start = Math.floor(ipv4ToInt(c.address) / size) * size;
  return [start, start + size - 1];
}

/** The network address of the prefix, host bits cleared (203.0.113.5/24 → 203.0.113.0). */
export function networkAddress(c: Cidr): string {
  return intToIpv4(cidrRange(c)[0]);
}

/** Whether the address has host bits set under its prefix. */
export function hasHostBits(c: Cidr): boolean {
  return ipv4ToInt(c.address) !== cidrRange(c)[0];
}

export function cidrsOverlap(a: string, b: string): boolean {
  const ca = parseCidr(a);
  const cb = parseCidr(b);
  if (!ca || !cb) return false;
  const ra = cidrRange(ca);
  const rb = cidrRange(cb);
  return ra[0] <= rb[1] && rb[0] <= ra[1];
}
