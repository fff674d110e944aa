// Plain YAML scalars resolved exactly as Ansible reads them: PyYAML's YAML 1.1 resolver and
// SafeConstructor. The yaml package's own 1.1 schema differs where it matters for routers:
// it takes `e1`, `e10`, `E5` for (NaN) floats and `1e3` for 1000, where PyYAML needs a dot
// and a signed exponent (`1.0e+3`); it takes `y`/`n` for booleans and `08` for 8.
import { pyNumberJson, yamlTimestamp } from './py-number.js';
import type { ScalarValue } from './yaml-source.js';

const BOOL = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
const TRUE = /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
const NULL = /^(?:~|null|Null|NULL|)$/;
const INT = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const FLOAT =
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;

/** Base-60 digits `a:b:c` as PyYAML adds them up. */
function sexagesimal(text: string, parse: (digit: string) => number): number {
  let value = 0;
  for (const part of text.split(':')) value = value * 60 + parse(part);
  return value;
}

function yamlInt(source: string): number | undefined {
  let text = source.replace(/_/g, '');
  let sign = 1;
  if (text[0] === '-' || text[0] === '+') {
    if (text[0] === '-') sign = -1;
    text = text.slice(1);
  }
  let value: number;
  if (text === '0') value = 0;
  else if (text.startsWith('0b')) value = parseInt(text.slice(2), 2);
  else if (text.startsWith('0x')) value = parseInt(text.slice(2), 16);
  else if (text.startsWith('0')) value = parseInt(text, 8);
  else if (text.includes(':')) value = sexagesimal(text, (d) => parseInt(d, 10));
  else value = parseInt(text, 10);
  // `0b_` and `0x_` match the resolver but have no digits: PyYAML fails on them; keep the text.
  if (Number.isNaN(value)) return undefined;
  return value === 0 ? 0 : sign * value;
}

function yamlFloat(source: string): number {
  let text = source.replace(/_/g, '').toLowerCase();
  let sign = 1;
  if (text[0] === '-' || text[0] === '+') {
    if (text[0] === '-') sign = -1;
    text = text.slice(1);
  }
  if (text === '.inf') return sign * Infinity;
  if (text === '.nan') return NaN;
  if (text.includes(':')) return sign * sexagesimal(text, (d) => parseFloat(d));
  return sign * parseFloat(text);
}

/**
 * The value of a plain (unquoted, untagged) scalar as Ansible sees it. Anything else,
 * timestamps included, is the text as written.
 */
export function resolvePlainScalar(source: string): ScalarValue {
  const first = source[0] ?? '';
  if (NULL.test(source)) return null;
  if ('yYnNtTfFoO'.includes(first) && BOOL.test(source)) return TRUE.test(source);
  if ('-+0123456789'.includes(first) && INT.test(source)) return yamlInt(source) ?? source;
  if ('-+0123456789.'.includes(first) && FLOAT.test(source)) return yamlFloat(source);
  return source;
}

/**
 * A plain scalar's value, and the JSON Ansible prints for it where JavaScript's would differ
 * (py-number.ts): a whole or exponent float (`6.0`, `1e+20`), inf and nan, an int beyond
 * 2^53; a timestamp's value is its text as Jinja2 prints a datetime, its JSON isoformat's.
 */
export function resolvePlainScalarForm(source: string): { value: ScalarValue; py?: string } {
  const value = resolvePlainScalar(source);
  if (typeof value === 'number') {
    const py = pyNumberJson(value, !INT.test(source), source);
    return py === undefined ? { value } : { value, py };
  }
  if (typeof value === 'string' && value === source && source[0] >= '0' && source[0] <= '9') {
    const ts = yamlTimestamp(source);
    if (ts) return { value: ts.text, py: ts.json };
  }
  return { value };
}
