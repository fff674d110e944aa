// Parsers that check exposition texts against their specifications, for the metrics tests:
// OpenMetrics 1.0 (its ABNF and the rules of the "Text format" section: metadata before
// samples, families not interleaved, sample names per type, UNIT as the name's suffix,
// unique label sets, escapes, `# EOF` last), and the Prometheus text format 0.0.4 as
// node_exporter's textfile collector reads it (prometheus/common expfmt's rules). Each throws
// with the line number at the first violation.

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedFamily {
  name: string;
  type: string;
  unit?: string;
  help?: string;
  /** A TYPE line named it. */
  typed: boolean;
  samples: ParsedSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const OM_TYPES = ['counter', 'gauge', 'histogram', 'gaugehistogram', 'stateset', 'info', 'summary', 'unknown'];
const PROM_TYPES = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

/** Sample names a family of this type may have (OpenMetrics). */
function omSampleNames(family: string, type: string): string[] {
  switch (type) {
    case 'counter':
      return [`${family}_total`, `${family}_created`];
    case 'histogram':
      return [`${family}_bucket`, `${family}_count`, `${family}_sum`, `${family}_created`];
    case 'gaugehistogram':
      return [`${family}_bucket`, `${family}_gcount`, `${family}_gsum`];
    case 'summary':
      return [family, `${family}_count`, `${family}_sum`, `${family}_created`];
    case 'info':
      return [`${family}_info`];
    default:
      return [family];
  }
}

class LineError extends Error {
  constructor(line: number, message: string, text: string) {
    super(`line ${line}: ${message}: ${JSON.stringify(text)}`);
  }
}

/** An escaped string up to an unescaped `"` (label values) or the end (HELP); returns value and the rest. */
function unescape(s: string, until: '"' | 'end', allowQuoteEscape: boolean): { value: string; rest: string } {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') {
      const n = s[i + 1];
      if (n === '\\') out += '\\';
      else if (n === 'n') out += '\n';
      else if (n === '"' && allowQuoteEscape) out += '"';
      else throw new Error(`invalid escape \\${n ?? ''}`);
      i++;
    } else if (c === '"' && until === '"') {
      return { value: out, rest: s.slice(i + 1) };
    } else if (c === '\n') {
      throw new Error('newline in a string');
    } else {
      out += c;
    }
  }
  if (until === '"') throw new Error('unterminated label value');
  return { value: out, rest: '' };
}

/** `{a="x",b="y"}` at the start of s; returns labels and the rest. */
function parseLabels(s: string, trailingComma: boolean): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let rest = s.slice(1);
  if (rest.startsWith('}')) return { labels, rest: rest.slice(1) };
  for (;;) {
    const eq = rest.indexOf('=');
    if (eq < 0) throw new Error('label without =');
    const name = rest.slice(0, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`invalid label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`label ${name} twice`);
    if (rest[eq + 1] !== '"') throw new Error('label value not quoted');
    const v = unescape(rest.slice(eq + 2), '"', true);
    labels[name] = v.value;
    rest = v.rest;
    if (rest.startsWith('}')) return { labels, rest: rest.slice(1) };
    if (!rest.startsWith(',')) throw new Error('expected , or } after a label');
    rest = rest.slice(1);
    if (trailingComma && rest.startsWith('}')) return { labels, rest: rest.slice(1) };
  }
}

const OM_NUMBER = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:Inf|inf)|NaN|nan)$/;

function toNumber(v: string): number {
  if (/^[+-]?(Inf|inf)$/.test(v)) return v.startsWith('-') ? -Infinity : Infinity;
  if (/^(NaN|nan)$/.test(v)) return Number.NaN;
  return Number(v);
}

/** Parses and checks an OpenMetrics 1.0 text exposition. */
export function parseOpenMetrics(text: string): Map<string, ParsedFamily> {
  const families = new Map<string, ParsedFamily>();
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines[lines.length - 1] !== '# EOF') throw new Error('the exposition does not end with "# EOF"');
  let current: ParsedFamily | undefined;
  let currentHasSamples = false;
  const done = new Set<string>();
  const seen = new Map<string, Set<string>>();
  const startFamily = (name: string, lineNo: number, line: string): ParsedFamily => {
    if (families.has(name)) throw new LineError(lineNo, `metric family ${name} appears twice (families must not be interleaved)`, line);
    for (const f of families.values()) {
      if (omSampleNames(f.name, f.type).includes(name)) throw new LineError(lineNo, `family ${name} clashes with the samples of ${f.name}`, line);
    }
    if (current) done.add(current.name);
    const f: ParsedFamily = { name, type: 'unknown', typed: false, samples: [] };
    families.set(name, f);
    current = f;
    currentHasSamples = false;
    return f;
  };
  for (let i = 0; i < lines.length - 1; i++) {
    const n = i + 1;
    const line = lines[i];
    if (line === '') throw new LineError(n, 'empty line', line);
    if (line.startsWith('#')) {
      const m = /^# (TYPE|HELP|UNIT) (\S+) ?(.*)$/.exec(line);
      if (!m) throw new LineError(n, 'a # line that is not TYPE, HELP or UNIT (OpenMetrics has no comments)', line);
      const [, kind, name, rest] = m;
      if (!METRIC_NAME.test(name)) throw new LineError(n, 'invalid metric name', line);
      const f = current && current.name === name && !currentHasSamples ? current : startFamily(name, n, line);
      if (kind === 'TYPE') {
        if (f.typed) throw new LineError(n, 'second TYPE', line);
        if (!OM_TYPES.includes(rest)) throw new LineError(n, 'unknown metric type', line);
        f.type = rest;
        f.typed = true;
      } else if (kind === 'HELP') {
        if (f.help !== undefined) throw new LineError(n, 'second HELP', line);
        try {
          f.help = unescape(rest, 'end', true).value;
        } catch (e) {
          throw new LineError(n, (e as Error).message, line);
        }
      } else {
        if (f.unit !== undefined) throw new LineError(n, 'second UNIT', line);
        if (!/^[a-zA-Z0-9_:]+$/.test(rest)) throw new LineError(n, 'invalid unit', line);
        if (!name.endsWith(`_${rest}`)) throw new LineError(n, `a family with unit ${rest} must be named *_${rest}`, line);
        f.unit = rest;
      }
      continue;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nameMatch) throw new LineError(n, 'not a sample', line);
    const name = nameMatch[0];
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      try {
        ({ labels, rest } = parseLabels(rest, false));
      } catch (e) {
        throw new LineError(n, (e as Error).message, line);
      }
    }
    const parts = rest.split(' ');
    if (parts[0] !== '' || parts.length < 2 || parts.length > 3) throw new LineError(n, 'expected one space, the value and an optional timestamp', line);
    if (!OM_NUMBER.test(parts[1])) throw new LineError(n, 'invalid value', line);
    if (parts[2] !== undefined && !OM_NUMBER.test(parts[2])) throw new LineError(n, 'invalid timestamp', line);
    let f = current;
    if (!f || !omSampleNames(f.name, f.type).includes(name)) {
      if (done.has(name) || families.has(name)) throw new LineError(n, `sample ${name} after its family ended (families must not be interleaved)`, line);
      f = startFamily(name, n, line);
      if (!omSampleNames(f.name, f.type).includes(name)) throw new LineError(n, 'sample name does not fit its family', line);
    }
    const value = toNumber(parts[1]);
    if (f.type === 'counter' && name.endsWith('_total') && (Number.isNaN(value) || value < 0)) throw new LineError(n, 'a counter total must be a number ≥ 0', line);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    const keys = seen.get(f.name) ?? new Set<string>();
    if (keys.has(key)) throw new LineError(n, 'the same label set twice in a family', line);
    keys.add(key);
    seen.set(f.name, keys);
    f.samples.push({ name, labels, value });
    currentHasSamples = true;
  }
  return families;
}

/** Parses and checks the Prometheus text format 0.0.4 (what node_exporter's textfile collector accepts). */
export function parsePrometheusText(text: string): Map<string, ParsedFamily> {
  const families = new Map<string, ParsedFamily>();
  const seen = new Set<string>();
  const family = (name: string): ParsedFamily => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: 'untyped', typed: false, samples: [] };
      families.set(name, f);
    }
    return f;
  };
  text.split('\n').forEach((line, i) => {
    const n = i + 1;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s+(TYPE|HELP)\s+(\S+)\s*(.*)$/.exec(line);
      if (!m) return; // a comment
      const [, kind, name, rest] = m;
      if (!METRIC_NAME.test(name)) throw new LineError(n, 'invalid metric name', line);
      const f = family(name);
      if (kind === 'TYPE') {
        if (f.typed) throw new LineError(n, 'second TYPE line', line);
        if (f.samples.length) throw new LineError(n, 'TYPE after samples', line);
        if (!PROM_TYPES.includes(rest.trim())) throw new LineError(n, 'unknown metric type', line);
        f.type = rest.trim();
        f.typed = true;
      } else {
        if (f.help !== undefined) throw new LineError(n, 'second HELP line', line);
        try {
          f.help = unescape(rest, 'end', false).value;
        } catch (e) {
          throw new LineError(n, (e as Error).message, line);
        }
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (!m) throw new LineError(n, 'not a sample', line);
    let rest = line.slice(m[1].length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      try {
        ({ labels, rest } = parseLabels(rest, true));
      } catch (e) {
        throw new LineError(n, (e as Error).message, line);
      }
    }
    const parts = rest.trim().split(/\s+/);
    if (parts.length < 1 || parts.length > 2 || !OM_NUMBER.test(parts[0])) throw new LineError(n, 'invalid value', line);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new LineError(n, 'invalid timestamp', line);
    // Histogram and summary suffixes belong to their family; any other name is its own family.
    const base = m[1].replace(/_(bucket|count|sum)$/, '');
    const owner = families.get(base) && ['histogram', 'summary'].includes(families.get(base)!.type) ? families.get(base)! : family(m[1]);
    const key = `${m[1]}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new LineError(n, 'the same metric and labels twice', line);
    seen.add(key);
    owner.samples.push({ name: m[1], labels, value: toNumber(parts[0]) });
  });
  // expfmt drops families that got no sample.
  for (const [k, f] of families) if (f.samples.length === 0) families.delete(k);
  return families;
}
