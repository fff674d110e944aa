// Plain YAML scalars resolve as Ansible (PyYAML 6's YAML 1.1 resolver) reads them: the table
// was recorded from `yaml.safe_load`. Names like e1 stay names (they were NaN: issue 22 §1).
import { describe, expect, it } from 'vitest';
import { Diagnostics } from '../src/diagnostics.js';
import { resolvePlainScalar } from '../src/load/yaml11-scalars.js';
import { parseYaml, toJS } from '../src/load/yaml-source.js';

const PYYAML: [string, string | number | boolean | null][] = [
  ['e1', 'e1'], ['e10', 'e10'], ['E5', 'E5'], ['e-1', 'e-1'], ['-e1', '-e1'],
  ['1e3', '1e3'], ['1e+3', '1e+3'], ['1e-3', '1e-3'], ['1.0e3', '1.0e3'], ['12e', '12e'],
  ['1.0e+3', 1000], ['1.e+3', 1000], ['1.5E-3', 0.0015], ['1.5e+3', 1500], ['1_.5e+3', 1500],
  ['1_000', 1000], ['1__0', 10], ['1_', 1], ['0_', 0], ['0__', 0], ['0_7', 7],
  ['010', 8], ['-010', -8], ['07', 7], ['08', '08'], ['09', '09'], ['0o10', '0o10'],
  ['0x1F', 31], ['+0x1f', 31], ['0b11', 3], ['-0b1', -1], ['0b', '0b'], ['0x', '0x'], ['0b2', '0b2'],
  ['0', 0], ['-0', 0], ['+12', 12],
  ['1:30', 90], ['-1:30', -90], ['1:0', 60], ['10:0', 600], ['190:20:30', 685230], ['1:70', '1:70'], ['0:30', '0:30'], ['1:3_0', '1:3_0'],
  ['1:20.5', 80.5], ['1:30.', 90],
  ['.5', 0.5], ['1.', 1], ['0.', 0], ['1.5', 1.5], ['09.5', 9.5], ['0.1_0', 0.1], ['+.5', '+.5'], ['._5', '._5'], ['.', '.'], ['-.', '-.'], ['.e+3', '.e+3'],
  ['.inf', Infinity], ['-.Inf', -Infinity], ['+.inf', Infinity], ['.Inf', Infinity], ['-.inf', -Infinity], ['+.NaN', '+.NaN'],
  ['yes', true], ['Yes', true], ['ON', true], ['on', true], ['True', true], ['TRUE', true], ['Off', false], ['NO', false], ['No', false], ['False', false], ['FALSE', false],
  ['y', 'y'], ['n', 'n'], ['oN', 'oN'], ['tRue', 'tRue'],
  ['~', null], ['null', null], ['Null', null], ['NULL', null], ['nUll', 'nUll'],
  ['2017-03-07', '2017-03-07'], ['2017-3-7', '2017-3-7'], ['_', '_'], ['_1', '_1'], [':30', ':30'],
];

describe('plain YAML scalars as PyYAML resolves them', () => {
  it.each(PYYAML)('%s', (text, want) => {
    expect(resolvePlainScalar(text)).toEqual(want);
  });

  it('.NaN is a float NaN', () => {
    expect(resolvePlainScalar('.NaN')).toBeNaN();
  });

  it('host names, keys and values like e1 stay strings; quoted and tagged scalars are kept as written', () => {
    const diags = new Diagnostics();
    const tree = parseYaml('all:\n  hosts:\n    e1: { wan: e10, n: E5, f: 1.0e+3, q: "010", t: !!str 12, i: !!int "12" }\n    e-1: {}\n', 'inv.yaml', diags);
    expect(diags.items).toEqual([]);
    expect(toJS(tree!)).toEqual({ all: { hosts: { e1: { wan: 'e10', n: 'E5', f: 1000, q: '010', t: '12', i: 12 }, 'e-1': {} } } });
  });

  it('JSON text keeps JSON numbers (1e3 is 1000 there)', () => {
    const diags = new Diagnostics();
    expect(toJS(parseYaml('{"a": 1e3, "b": "e1"}', 'x.json', diags)!)).toEqual({ a: 1000, b: 'e1' });
  });
});
