// Host entries as Ansible's inventory plugins read them: `name[:port]`, `[v6addr]:port`, and
// ranges — `www[01:50]` (leading zeros kept), strides `[01:50:2]`, letters `[a:f]` — expanded
// to the host names they stand for (ansible.parsing.utils.addresses and expand_hostname_range).

export interface HostEntry {
  names: string[];
  port?: number;
}

/** A range that cannot be expanded; `offset` is where the bad `[...]` starts in the entry. */
export class HostRangeError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const NUMERIC_RANGE = String.raw`\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const HEX_RANGE = String.raw`\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]`;
const ALNUM_RANGE = String.raw`\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const V6 = String.raw`(?:[0-9a-f]{1,4}|${HEX_RANGE})`;
const V4 = String.raw`(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|${NUMERIC_RANGE})`;
// A DNS-like label (underscores allowed) that may contain ranges, not ending in - or _.
const LABEL = String.raw`(?:[\p{L}\p{N}_]|${ALNUM_RANGE})(?:[\p{L}\p{N}_-]|${ALNUM_RANGE})*(?<![_-])`;

const BRACKETED_HOSTPORT = /^\[(.+)\]:([0-9]+)$/;
const HOSTPORT = /^((?:[^:[\]]|\[[^\]]*\])*):([0-9]+)$/;
const IPV4 = new RegExp(String.raw`^(?:${V4}\.){3}${V4}$`, 'i');
const IPV6 = new RegExp(
  '^(?:' +
    [
      String.raw`(?:${V6}:){7}${V6}`,
      String.raw`(?:${V6}:){1,6}:`,
      String.raw`(?:${V6}:)(?::${V6}){1,6}`,
      String.raw`(?:${V6}:){2}(?::${V6}){1,5}`,
      String.raw`(?:${V6}:){3}(?::${V6}){1,4}`,
      String.raw`(?:${V6}:){4}(?::${V6}){1,3}`,
      String.raw`(?:${V6}:){5}(?::${V6}){1,2}`,
      String.raw`(?:${V6}:){6}(?::${V6})`,
      String.raw`:(?::${V6}){1,6}`,
      String.raw`${V6}?::`,
      String.raw`(?:0:){6}(?:${V6}\.){3}${V6}`,
      String.raw`::(?:ffff:)?(?:${V6}\.){3}${V6}`,
      String.raw`(?:0:){5}ffff:(?:${V6}\.){3}${V6}`,
    ].join('|') +
    ')$',
  'i',
);
const HOSTNAME = new RegExp(String.raw`^${LABEL}(?:\.${LABEL})*$`, 'iu');

/** Ansible's parse_address: `host[:port]` or `[host]:port` when the host is a name or address. */
function parseAddress(entry: string): { host: string; port?: number } | undefined {
  let host = entry;
  let port: number | undefined;
  for (const re of [BRACKETED_HOSTPORT, HOSTPORT]) {
    const m = re.exec(host);
    if (m) {
      host = m[1];
      port = Number(m[2]);
    }
  }
  if (!IPV4.test(host) && !IPV6.test(host) && !HOSTNAME.test(host)) return undefined;
  return port === undefined ? { host } : { host, port };
}

/** Splits off a port as Ansible does; anything that is not a host name or address is taken whole. */
export function splitHostPort(entry: string): { host: string; port?: number } {
  return parseAddress(entry) ?? { host: entry };
}

/** Whether `text` reads as one host (ranges and a port allowed): host patterns keep it whole. */
export function isHostAddress(text: string): boolean {
  return parseAddress(text) !== undefined;
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** A bound on what one entry may expand to: a typo like [1:9999999] must not exhaust memory. */
export const MAX_RANGE_HOSTS = 100_000;

/** Expands every `[begin:end(:step)]` in a name; the first range varies slowest. */
export function expandHostRange(name: string, offset = 0): string[] {
  const open = name.indexOf('[');
  if (open < 0) return [name];
  const close = name.indexOf(']', open);
  if (close < 0) throw new HostRangeError(`host range '${name.slice(open)}' is never closed by ']'`, offset + open);
  const head = name.slice(0, open);
  const tail = name.slice(close + 1);
  const where = name.slice(open, close + 1);
  const bad = (why: string): HostRangeError => new HostRangeError(`host range ${where}: ${why}`, offset + open);
  const bounds = name.slice(open + 1, close).split(':');
  if (bounds.length !== 2 && bounds.length !== 3) throw bad('expected [begin:end] or [begin:end:step]');
  const [begin = '0', end, stepText] = bounds.map((b, i) => (i === 0 && b === '' ? '0' : b));
  if (end === '') throw bad('the end is missing');
  let step = 1;
  if (stepText !== undefined) {
    if (!/^[0-9]+$/.test(stepText) || Number(stepText) === 0) throw bad('the step must be a whole number >= 1');
    step = Number(stepText);
  }
  let items: string[];
  if (/^[A-Za-z]$/.test(begin) && /^[A-Za-z]$/.test(end)) {
    const from = LETTERS.indexOf(begin);
    const to = LETTERS.indexOf(end);
    if (from > to) throw bad('begin must come before end');
    items = [];
    for (let i = from; i <= to; i += step) items.push(LETTERS[i]);
  } else {
    if (!/^[0-9]+$/.test(begin) || !/^[0-9]+$/.test(end)) throw bad('expected numbers or single letters');
    // A leading zero fixes the width (01..50); then both ends must be written at that width.
    const width = begin.length > 1 && begin.startsWith('0') ? begin.length : 0;
    if (width && end.length !== width) throw bad('begin and end must have the same number of digits');
    const from = Number(begin);
    const to = Number(end);
    if (from > to) throw bad('begin must not be greater than end');
    if ((to - from) / step >= MAX_RANGE_HOSTS) throw bad(`more than ${MAX_RANGE_HOSTS} hosts`);
    items = [];
    for (let i = from; i <= to; i += step) items.push(String(i).padStart(width, '0'));
  }
  const out: string[] = [];
  for (const item of items) {
    // Later ranges are in the tail: keep their offsets pointing into the entry as written.
    const tailShift = close + 1 - (head.length + item.length);
    for (const expanded of expandHostRange(`${head}${item}${tail}`, offset + tailShift)) {
      out.push(expanded);
      if (out.length > MAX_RANGE_HOSTS) throw bad(`more than ${MAX_RANGE_HOSTS} hosts`);
    }
  }
  return out;
}

/** An inventory host entry: port split off, ranges expanded. */
export function parseHostEntry(entry: string): HostEntry {
  const { host, port } = splitHostPort(entry);
  const names = expandHostRange(host);
  return port === undefined ? { names } : { names, port };
}

