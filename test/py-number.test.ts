// Numbers and timestamps in Python's printed form (py-number.ts), checked against Python
// itself where it is installed (ansible-core needs it) and against a table where it is not.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { exactInt, pyFloatJson, pyFloatRepr, pyNumberJson, yamlTimestamp } from '../src/load/py-number.js';

const python = spawnSync('python3', ['-c', 'print(1)'], { encoding: 'utf8' }).status === 0;

describe('Python forms of numbers', () => {
  it.each([
    [6, '6.0'],
    [-2, '-2.0'],
    [0, '0.0'],
    [-0, '-0.0'],
    [1500, '1500.0'],
    [3.25, '3.25'],
    [1e16, '1e+16'],
    [1e15, '1000000000000000.0'],
    [1e20, '1e+20'],
    [1e-7, '1e-07'],
    [1.5e-7, '1.5e-07'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [12345678901234567, '1.2345678901234568e+16'],
    [1e100, '1e+100'],
    [-1.5e300, '-1.5e+300'],
    [5e-324, '5e-324'],
  ])('repr(%d) is %s', (x, repr) => {
    expect(pyFloatRepr(x)).toBe(repr);
  });

  it('json.dumps: Infinity, -Infinity, NaN; a float that JSON already prints alike needs no form', () => {
    expect([Infinity, -Infinity, NaN].map(pyFloatJson)).toEqual(['Infinity', '-Infinity', 'NaN']);
    expect(pyNumberJson(3.25, true)).toBeUndefined();
    expect(pyNumberJson(6, true)).toBe('6.0');
    expect(pyNumberJson(6, false, '6')).toBeUndefined();
    expect(pyNumberJson(9007199254740992, false, '9007199254740993')).toBe('9007199254740993');
  });

  it('exact ints of every YAML 1.1 and Python spelling', () => {
    expect(exactInt('9007199254740993')).toBe('9007199254740993');
    expect(exactInt('-123_456_789_012_345_678_901')).toBe('-123456789012345678901');
    expect(exactInt('0x20000000000001')).toBe('9007199254740993');
    expect(exactInt('0400000000000000001')).toBe('9007199254740993');
    expect(exactInt('0o400000000000000001')).toBe('9007199254740993');
    expect(exactInt('0b1' + '0'.repeat(52) + '1')).toBe('9007199254740993');
    expect(exactInt('1:30')).toBe('90');
    expect(exactInt('1.5')).toBeUndefined();
  });

  it.skipIf(!python)('repr agrees with Python on 3000 floats of every magnitude', () => {
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const values: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const x = (next() - 0.5) * 10 ** Math.floor(next() * 60 - 30);
      values.push(i % 3 === 0 ? Math.round(x) : x);
    }
    const r = spawnSync('python3', ['-c', 'import sys\nfor l in sys.stdin: print(repr(float.fromhex(l.strip())))'], {
      input: values.map((v) => hex(v)).join('\n'),
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(values.map(pyFloatRepr)).toEqual(r.stdout.trim().split('\n'));
  });
});

/** A float as Python's float.hex() reads it back exactly. */
function hex(x: number): string {
  if (x === 0) return Object.is(x, -0) ? '-0x0p+0' : '0x0p+0';
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const sign = bits >> 63n ? '-' : '';
  const exp = Number((bits >> 52n) & 0x7ffn);
  const mant = bits & ((1n << 52n) - 1n);
  if (exp === 0) return `${sign}0x0.${mant.toString(16).padStart(13, '0')}p-1022`;
  return `${sign}0x1.${mant.toString(16).padStart(13, '0')}p${exp - 1023}`;
}

describe('YAML timestamps as PyYAML reads them and Ansible prints them', () => {
  it.each([
    ['2017-03-07T10:20:49Z', '2017-03-07 10:20:49+00:00', '2017-03-07T10:20:49+00:00'],
    ['2017-03-07 10:20:49', '2017-03-07 10:20:49', '2017-03-07T10:20:49'],
    ['2017-03-07', '2017-03-07', '2017-03-07'],
    ['2017-3-7 1:02:03', '2017-03-07 01:02:03', '2017-03-07T01:02:03'],
    ['2001-12-14t21:59:43.10-05:00', '2001-12-14 21:59:43.100000-05:00', '2001-12-14T21:59:43.100000-05:00'],
    ['2001-12-14 21:59:43.10 -5', '2001-12-14 21:59:43.100000-05:00', '2001-12-14T21:59:43.100000-05:00'],
    ['2001-12-14T21:59:43.1234567-00:00', '2001-12-14 21:59:43.123456+00:00', '2001-12-14T21:59:43.123456+00:00'],
  ])('%s', (source, text, json) => {
    expect(yamlTimestamp(source)).toEqual({ text, json: JSON.stringify(json) });
  });

  it('not a timestamp, or a date Python refuses: the text stays', () => {
    for (const s of ['2017-3-7', '2017-02-29', '2016-13-01', '2017-03-07T25:00:00', '17-03-07', '2017-03-07T10:20']) expect(yamlTimestamp(s)).toBeUndefined();
    expect(yamlTimestamp('2016-02-29')?.text).toBe('2016-02-29');
  });
});
