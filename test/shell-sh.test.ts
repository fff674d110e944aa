// The shell module: quote() and the sh tagged template. Values of any shape go in quoted and
// come back out of a real sh byte for byte; only fragments the module built go in as code.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { quote } from '../src/shell/quote.js';
import { assign, joinSh, sh, shVar, withHeredoc, type Sh } from '../src/shell/sh.js';
import { lines, shellLib, writeFile } from '../src/shell/lib.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const SHELLS: string[][] = [['dash'], ['busybox', 'ash']].filter((s) => has(s[0]));
if (SHELLS.length < 2) console.log(`shell round trips run under ${SHELLS.map((s) => s.join(' ')).join(', ') || 'no shell'} only (apt-get install dash busybox)`);

function runIn(shell: string[], script: string): { stdout: Buffer; code: number | null; stderr: string } {
  const r = spawnSync(shell[0], [...shell.slice(1), '-s'], { input: script });
  return { stdout: r.stdout, code: r.status, stderr: r.stderr.toString() };
}

/** A deterministic generator (mulberry32), so a failure names a reproducible seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY = ["'", '"', '`', '$', '$(', ')', '\\', ';', '&', '|', '<', '>', '*', '?', '[', ']', '{', '}', '~', '#', '!', '\n', '\t', ' ', '-', '--', '%', '=', 'é', '€', '\r'];
const nastyCases = ["$(reboot)", '`reboot`', "'; reboot; '", '-rf', '--help', '', ' ', "a'b\"c", 'line1\nline2\n', '\n', '$HOME', '${IFS}', '*', '~root', '#not a comment', 'ML_EOF_x', "'\\''"];

function randomString(next: () => number): string {
  const n = Math.floor(next() * 24);
  let s = '';
  for (let i = 0; i < n; i++) {
    if (next() < 0.4) s += NASTY[Math.floor(next() * NASTY.length)];
    else s += String.fromCharCode(32 + Math.floor(next() * 95));
  }
  return s;
}

describe('quote', () => {
  it('leaves plain words alone and single-quotes the rest', () => {
    expect(quote('wan1')).toBe('wan1');
    expect(quote('/var/lib/multilink')).toBe('/var/lib/multilink');
    expect(quote(1000)).toBe('1000');
    expect(quote('')).toBe("''");
    expect(quote('a b')).toBe("'a b'");
    expect(quote("it's")).toBe("'it'\\''s'");
    expect(quote('$(x)')).toBe("'$(x)'");
    expect(quote('-x')).toBe('-x');
    expect(() => quote('a\0b')).toThrow(/NUL/);
  });
});

describe('sh', () => {
  it('quotes every interpolated string, number and array element; a Sh goes in as written', () => {
    const dir = '/var/lib/multi link';
    expect(sh`mkdir -p ${dir}`.text).toBe("mkdir -p '/var/lib/multi link'");
    expect(sh`ip rule add ${['priority', 1000, 'lookup', 'a b']}`.text).toBe("ip rule add priority 1000 lookup 'a b'");
    const inner: Sh = sh`echo ${'x y'}`;
    expect(sh`if true; then ${inner}; fi`.text).toBe("if true; then echo 'x y'; fi");
    expect(joinSh([sh`a`, false, undefined, sh`b`], ' && ').text).toBe('a && b');
    expect(shVar('ml_gdir').text).toBe('"$ml_gdir"');
    expect(() => shVar('x; reboot')).toThrow();
    expect(assign('ML_X', "it's").text).toBe("ML_X='it'\\''s'");
    expect(() => sh`sleep ${Number.NaN}`).toThrow();
    expect(() => assign('X=1; reboot #', 'v')).toThrow();
  });

  for (const shell of SHELLS) {
    it(`${shell.join(' ')}: 600 random printable strings (quotes, $(), backticks, ;, newlines, leading -) and every nasty case come back byte-identical`, () => {
      const next = prng(20261130);
      const values = [...nastyCases, ...Array.from({ length: 600 }, () => randomString(next))];
      // Each value three ways: as an argument, as a variable, and through a here-document file.
      const script = lines(
        shellLib('none'),
        sh`ml_tmp=$(mktemp -d)`,
        ...values.flatMap((v, i) => [
          sh`printf '%s\\0' ${v}`,
          sh`${assign(`ML_V${i}`, v)}; printf '%s\\0' "$ML_V${sh`${i}`}"`,
          writeFile(sh`"$ml_tmp"/f`, v),
          sh`cat "$ml_tmp"/f; printf '\\0'`,
        ]),
        sh`rm -rf "$ml_tmp"`,
      );
      const r = runIn(shell, `${script.text}\n`);
      expect(r.code, r.stderr).toBe(0);
      const got = r.stdout.toString('utf8').split('\0').slice(0, -1);
      const want = values.flatMap((v) => [v, v, `${v}\n`]);
      expect(got.length).toBe(want.length);
      got.forEach((g, i) => expect(g, `value ${Math.floor(i / 3)} (${JSON.stringify(values[Math.floor(i / 3)])})`).toBe(want[i]));
    });

    it(`${shell.join(' ')}: a here-document body that contains the delimiter-like lines stays data`, () => {
      const body = "ML_EOF_abc\n$(touch /nonexistent/x)\n`id`\n'EOF'\nEOF";
      const r = runIn(shell, `${withHeredoc(sh`cat`, body).text}\n`);
      expect(r.stdout.toString()).toBe(`${body}\n`);
    });
  }
});
