// Numbers and timestamps as Ansible prints them (Python's json.dumps of what PyYAML or
// ast.literal_eval made): a float keeps its `.0` and Python's exponent form (`1e+20`, `1e-07`),
// inf and nan print as Infinity and NaN, an int keeps every digit beyond 2^53, a YAML
// timestamp becomes a datetime printed by isoformat(). JavaScript's numbers would print
// `6`, `100000000000000000000`, null and a rounded int: these give the text instead.

/** Python's repr() of a float: the shortest digits that read back, `.0` on whole values. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, exp] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const e = Number(exp);
  const decpt = e + 1;
  const sign = x < 0 ? '-' : '';
  // float_repr_style 'short': fixed notation for 1e-4 <= |x| < 1e16, else an exponent of two digits at least.
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
    if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
    return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

/** A float as Python's json.dumps writes it (allow_nan: Infinity, -Infinity, NaN). */
export function pyFloatJson(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  return pyFloatRepr(x);
}

/**
 * The exact value of an integer literal (YAML 1.1's 0b, 0x, 0 octal, base 60 and decimal, or
 * Python's 0o), in decimal; undefined for text that is no such literal.
 */
export function exactInt(source: string): string | undefined {
  let text = source.replace(/_/g, '');
  let negative = false;
  if (text[0] === '-' || text[0] === '+') {
    negative = text[0] === '-';
    text = text.slice(1);
  }
  let value: bigint;
  try {
    if (/^0[bB][01]+$/.test(text) || /^0[xX][0-9a-fA-F]+$/.test(text) || /^0[oO][0-7]+$/.test(text)) value = BigInt(text);
    else if (/^0[0-7]+$/.test(text)) value = BigInt(`0o${text.slice(1)}`);
    else if (/^[0-9]+(?::[0-9]+)+$/.test(text)) value = text.split(':').reduce((acc, d) => acc * 60n + BigInt(d), 0n);
    else if (/^[0-9]+$/.test(text)) value = BigInt(text);
    else return undefined;
  } catch {
    return undefined;
  }
  return (negative ? -value : value).toString();
}

/**
 * The JSON Ansible prints for a number that JavaScript's JSON would print otherwise, else
 * undefined. `float`: the value is a float in Python (written with a dot or an exponent).
 */
export function pyNumberJson(value: number, float: boolean, source?: string): string | undefined {
  const js = JSON.stringify(value);
  if (float) {
    const py = pyFloatJson(value);
    return py === js ? undefined : py;
  }
  if (Number.isSafeInteger(value) || source === undefined) return undefined;
  const exact = exactInt(source);
  return exact === undefined || exact === js ? undefined : exact;
}

// PyYAML's implicit timestamp: a date, or a date and time with optional fraction and zone.
const TIMESTAMP =
  /^(?:([0-9]{4})-([0-9]{2})-([0-9]{2})|([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[Tt]|[ \t]+)([0-9]{1,2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]*))?(?:[ \t]*(Z|([-+])([0-9]{1,2})(?::([0-9]{2}))?))?)$/;

const two = (n: number): string => String(n).padStart(2, '0');

/**
 * A plain YAML scalar that PyYAML reads as a timestamp: `text` as Jinja2 prints it (str(),
 * `2017-03-07 10:20:49+00:00`), `json` as ansible-inventory prints it (isoformat(),
 * `2017-03-07T10:20:49+00:00`). undefined for anything else, and for a date Python refuses
 * (month 13: Ansible fails to read the file; the text is kept here).
 */
export function yamlTimestamp(source: string): { text: string; json: string } | undefined {
  const m = TIMESTAMP.exec(source);
  if (!m) return undefined;
  if (m[1] !== undefined) {
    const date = isoDate(Number(m[1]), Number(m[2]), Number(m[3]));
    return date === undefined ? undefined : { text: date, json: JSON.stringify(date) };
  }
  const date = isoDate(Number(m[4]), Number(m[5]), Number(m[6]));
  const [hour, minute, second] = [Number(m[7]), Number(m[8]), Number(m[9])];
  if (date === undefined || hour > 23 || minute > 59 || second > 59) return undefined;
  const fraction = m[10] ? Number(m[10].slice(0, 6).padEnd(6, '0')) : 0;
  let zone = '';
  if (m[12] !== undefined) {
    const minutes = Number(m[13]) * 60 + Number(m[14] ?? 0);
    if (minutes >= 24 * 60) return undefined;
    zone = `${minutes === 0 ? '+' : m[12]}${two(Math.floor(minutes / 60))}:${two(minutes % 60)}`;
  } else if (m[11] === 'Z') zone = '+00:00';
  const time = `${two(hour)}:${two(minute)}:${two(second)}${fraction ? `.${String(fraction).padStart(6, '0')}` : ''}${zone}`;
  return { text: `${date} ${time}`, json: JSON.stringify(`${date}T${time}`) };
}

function isoDate(year: number, month: number, day: number): string | undefined {
  if (year < 1 || month < 1 || month > 12 || day < 1) return undefined;
  const days = new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !leap(year) ? 1 : 0);
  if (day > days) return undefined;
  return `${String(year).padStart(4, '0')}-${two(month)}-${two(day)}`;
}

function leap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}
