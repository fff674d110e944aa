// The small languages inside an INI inventory, as Ansible reads them: Python literals for
// values, shell words for host lines, and host entries with ports and ranges. Expected
// values are what ansible-core 2.14 reported for the same text.
import { describe, expect, it } from 'vitest';
import { expandHostRange, HostRangeError, parseHostEntry, splitHostPort } from '../src/load/host-range.js';
import { parsePythonLiteral, UnusableLiteral } from '../src/load/python-literal.js';
import { ShellWordsError, splitShellWords } from '../src/load/shell-words.js';

describe('Python literals (ast.literal_eval)', () => {
  it.each([
    ['23', 23],
    ['23 # a comment', 23],
    ['-5', -5],
    ['+3', 3],
    ['- 5', -5],
    ['1.5e3', 1500],
    ['.5', 0.5],
    ['1.', 1],
    ['00', 0],
    ['1_000', 1000],
    ['0x1F', 31],
    ['-0x10', -16],
    ['0o17', 15],
    ['0b11', 3],
    ['True', true],
    ['False # c', false],
    ['None', null],
    ['"1" "2"', '12'],
    ["u'abc'", 'abc'],
    ["r'a\\nb'", 'a\\nb'],
    ["'a\\nb\\x41\\u00e9'", 'a\nbAé'],
    ["b'xy'", 'xy'],
    ["'''tri'''", 'tri'],
    ['"x" # y', 'x'],
    ["'unknown \\q escape'", 'unknown \\q escape'],
    ['1,2', [1, 2]],
    ['(1)', 1],
    ['()', []],
    ['(1,)', [1]],
    ["[1, [2, {'x': [3]}],]", [1, [2, { x: [3] }]]],
    ["{'a': (1, 2), 3: None, True: 'x'}", { a: [1, 2], '3': null, true: 'x' }],
    ['{}', {}],
  ])('%s', (text, value) => {
    expect(parsePythonLiteral(text)).toEqual({ value });
  });

  it.each(['', 'yes', 'pool.ntp.org # our pool', '010', '1_', '1e', '[1,2', "'unterminated", '1 if 1 else 2', 'a=b', '-True', '1 + 2', "f'x'", '{k:1}', "'a' b'c'"])(
    'not a literal, kept as text: %s',
    (text) => {
      expect(parsePythonLiteral(text)).toBeUndefined();
    },
  );

  it.each(['{1, 2}', '1j', '1+2j', '...', '{(1, 2): 3}'])('Python takes %s, Ansible cannot use it', (text) => {
    expect(() => parsePythonLiteral(text)).toThrow(UnusableLiteral);
  });
});

describe('host line words (shlex, POSIX, # comments)', () => {
  const words = (line: string) => splitShellWords(line).map((w) => [w.text, w.start]);
  it.each([
    ['h1', [['h1', 0]]],
    ['  h1   a=1  ', [['h1', 2], ['a=1', 7]]],
    [`h1 b='x y' c="[1, 2]"`, [['h1', 0], ['b=x y', 3], ['c=[1, 2]', 11]]],
    [`h1 mysecret="'03#pa33w0rd'"`, [['h1', 0], ["mysecret='03#pa33w0rd'", 3]]],
    ['h1 j=a#b c=d', [['h1', 0], ['j=a', 3]]],
    ['h1 # all comment', [['h1', 0]]],
    ['h1 e=""', [['h1', 0], ['e=', 3]]],
    ['h1 x=a\\ b', [['h1', 0], ['x=a b', 3]]],
    ['h1 x="a\\"b\\\\c\\d"', [['h1', 0], ['x=a"b\\c\\d', 3]]],
    ["h1 x='a\\b'", [['h1', 0], ['x=a\\b', 3]]],
  ])('%s', (line, expected) => {
    expect(words(line)).toEqual(expected);
  });

  it('reports an unclosed quote where its word starts', () => {
    expect(() => splitShellWords(`h1 a="open`)).toThrow(ShellWordsError);
    try {
      splitShellWords(`h1 a="open`);
    } catch (e) {
      expect((e as ShellWordsError).index).toBe(3);
    }
  });
});

describe('host entries: ports and ranges', () => {
  it.each([
    ['r1', ['r1'], undefined],
    ['r1:2222', ['r1'], 2222],
    ['192.0.2.1:22', ['192.0.2.1'], 22],
    ['[2001:db8::1]:2022', ['2001:db8::1'], 2022],
    ['2001:db8::1', ['2001:db8::1'], undefined],
    ['www[01:03]', ['www01', 'www02', 'www03'], undefined],
    ['www[01:10:4].example.com:2200', ['www01.example.com', 'www05.example.com', 'www09.example.com'], 2200],
    ['db-[a:c]', ['db-a', 'db-b', 'db-c'], undefined],
    ['x[y:B]', ['xy', 'xz', 'xA', 'xB'], undefined],
    ['r[:2]', ['r0', 'r1', 'r2'], undefined],
    ['r[1:2]-[a:b]', ['r1-a', 'r1-b', 'r2-a', 'r2-b'], undefined],
    ['10.0.[1:2].1', ['10.0.1.1', '10.0.2.1'], undefined],
    ['-odd:22', ['-odd:22'], undefined], // not a host name: taken whole, as Ansible does
  ])('%s', (entry, names, port) => {
    expect(parseHostEntry(entry)).toEqual(port === undefined ? { names } : { names, port });
  });

  it.each([
    ['r[5:1]', 1, 'begin must not be greater than end'],
    ['r[01:5]', 1, 'same number of digits'],
    ['r[1:]', 1, 'the end is missing'],
    ['r[1:5:0]', 1, 'step'],
    ['r[1:2:3:4]', 1, 'expected [begin:end] or [begin:end:step]'],
    ['r[a:5]', 1, 'numbers or single letters'],
    ['r[1:5', 1, 'never closed'],
    ['r[1:2]x[9:1]', 7, 'begin must not be greater than end'],
    ['r[0:9999999]', 1, 'more than'],
  ])('refuses %s at offset %i', (entry, offset, message) => {
    let error: unknown;
    try {
      expandHostRange(entry);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HostRangeError);
    expect((error as HostRangeError).message).toContain(message);
    expect((error as HostRangeError).offset).toBe(offset);
  });

  it('splits a port only off a host name or address', () => {
    expect(splitHostPort('web:80')).toEqual({ host: 'web', port: 80 });
    expect(splitHostPort('a b:80')).toEqual({ host: 'a b:80' });
  });
});
