// Shell text that is safe by construction. A `Sh` is a trusted fragment: only this module
// creates one, from the literal parts of an `sh` template (source code), from another Sh,
// or from a value it quoted itself. Every string or number interpolated into `sh` is quoted,
// so forgetting to quote is a type error (a string is not a Sh), not a review finding.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { quote } from './quote.js';

let make: (text: string) => Sh;

export class Sh {
  private constructor(readonly text: string) {}
  static {
    make = (text) => new Sh(text);
  }
  toString(): string {
    return this.text;
  }
}

/** What may be interpolated: a fragment, or a value that is quoted; arrays become quoted words. */
export type ShArg = Sh | string | number | readonly (Sh | string | number)[];

function word(v: Sh | string | number): string {
  if (v instanceof Sh) return v.text;
  if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`refusing to put ${v} into a shell command`);
  return quote(v);
}

function arg(v: ShArg): string {
  if (Array.isArray(v)) return (v as readonly (Sh | string | number)[]).map(word).join(' ');
  return word(v as Sh | string | number);
}

/** The tagged template: `sh\`mkdir -p ${dir}\`` quotes dir; a Sh goes in as it is. */
export function sh(strings: TemplateStringsArray, ...values: ShArg[]): Sh {
  let out = strings[0];
  values.forEach((v, i) => {
    out += arg(v) + strings[i + 1];
  });
  return make(out);
}

/** Fragments joined by a separator (a newline by default); false/undefined entries are left out. */
export function joinSh(parts: readonly (Sh | false | undefined | null)[], separator: '\n' | ' ' | '; ' | ' && ' | ' || ' | '|' = '\n'): Sh {
  return make(parts.filter((p): p is Sh => p instanceof Sh).map((p) => p.text).join(separator));
}

/** A shell variable reference, "$name" (double-quoted); the name is checked. */
export function shVar(name: string): Sh {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid shell variable name ${JSON.stringify(name)}`);
  return make(`"$${name}"`);
}

/** `NAME=value` with the value quoted: how parameters reach a script. */
export function assign(name: string, value: string | number | Sh): Sh {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid shell variable name ${JSON.stringify(name)}`);
  return make(`${name}=${word(value)}`);
}

/**
 * A here-document whose delimiter cannot occur in the body. The delimiter comes from a hash
 * of the body, so the same content always renders the same script. The delimiter is quoted:
 * the body is data, never expanded.
 */
export function heredoc(body: string): { open: Sh; close: Sh } {
  let salt = 0;
  let tag: string;
  do tag = `ML_EOF_${createHash('sha256').update(`${salt++}\0${body}`).digest('hex').slice(0, 12)}`;
  while (body.split('\n').includes(tag));
  return { open: make(`<<'${tag}'`), close: make(tag) };
}

/** `COMMAND <<'EOF'` + body + `EOF`: the body reaches the command's stdin byte for byte (plus a newline). */
export function withHeredoc(command: Sh, body: string): Sh {
  const doc = heredoc(body);
  return make(`${command.text} ${doc.open.text}\n${body}\n${doc.close.text}`);
}

const fileCache = new Map<string, string>();

/**
 * A shell program shipped beside the code (src/**\/NAME.sh, copied to dist/ by the build),
 * with its parameters set as quoted variables before it. The file is trusted: it is part of
 * the package, checked by shellcheck and by `sh -n` under dash and BusyBox ash in the tests.
 */
export function scriptFile(url: URL, params: Record<string, string | number | Sh> = {}): Sh {
  let text = fileCache.get(url.href);
  if (text === undefined) {
    text = readFileSync(url, 'utf8');
    fileCache.set(url.href, text);
  }
  // A shebang stays the first line; the parameters come right after it.
  const body = text.replace(/\n+$/, '');
  const shebang = /^#![^\n]*\n/.exec(body)?.[0] ?? '';
  const head = Object.entries(params).map(([k, v]) => assign(k, v).text);
  return make(shebang + [...head, body.slice(shebang.length)].join('\n'));
}
