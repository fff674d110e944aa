// Python literals as Ansible's INI inventory reads its values (ast.literal_eval): strings
// with their quotes and escapes, ints (0x, 0o, 0b, 1_000), floats, True/False/None, lists,
// tuples, dicts. Whatever literal_eval refuses stays the text as written, as in Ansible.
import { pyNumberJson } from './py-number.js';

export type PyValue = string | number | boolean | null | PyNum | PyValue[] | { [key: string]: PyValue };

/**
 * A number whose JSON Python prints otherwise than JavaScript (a whole float `3.0`, `1e+16`,
 * `-0.0`, an int beyond 2^53): given only when asked for (`forms`).
 */
export class PyNum {
  constructor(
    readonly value: number,
    readonly py: string,
  ) {}
}

/** Why a literal cannot be used although Python accepts it (sets, complex numbers). */
export class UnusableLiteral extends Error {}

/** Thrown for text that is no literal: not an Error, whose stack would cost more than the parse. */
class NotLiteral {}

type Token =
  | { kind: 'str'; value: string; bytes: boolean }
  | { kind: 'num'; value: number | 'complex'; text: string }
  | { kind: 'name'; value: string }
  | { kind: 'op'; value: string }
  | { kind: 'end' };

/**
 * The value Ansible gets for `text`: { value } when literal_eval accepts it, undefined when
 * it does not (the caller keeps the text). Throws UnusableLiteral for literals Ansible
 * accepts but cannot represent in its variables (it fails later, on output).
 */
export function parsePythonLiteral(text: string, forms = false): { value: PyValue } | undefined {
  let tokens: Token[];
  try {
    tokens = tokenize(text.replace(/^[ \t]+/, ''));
  } catch (e) {
    if (e instanceof NotLiteral) return undefined;
    throw e;
  }
  try {
    const p = new Parser(tokens, forms);
    const value = p.topLevel();
    return { value };
  } catch (e) {
    if (e instanceof NotLiteral) return undefined;
    throw e;
  }
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\n': '',
};

function unescape(body: string, bytes: boolean): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = body[i + 1];
    if (n === undefined) throw new NotLiteral();
    if (n in SIMPLE_ESCAPES) {
      out += SIMPLE_ESCAPES[n];
      i++;
      continue;
    }
    const octal = /^[0-7]{1,3}/.exec(body.slice(i + 1));
    if (octal) {
      out += String.fromCodePoint(parseInt(octal[0], 8));
      i += octal[0].length;
      continue;
    }
    const hexLength = n === 'x' ? 2 : !bytes && n === 'u' ? 4 : !bytes && n === 'U' ? 8 : 0;
    if (hexLength > 0) {
      const hex = body.slice(i + 2, i + 2 + hexLength);
      if (!new RegExp(`^[0-9a-fA-F]{${hexLength}}$`).test(hex)) throw new NotLiteral();
      const cp = parseInt(hex, 16);
      if (cp > 0x10ffff) throw new NotLiteral();
      out += String.fromCodePoint(cp);
      i += 1 + hexLength;
      continue;
    }
    // \N{NAME} needs Unicode's name table: not worth it for inventories.
    if (!bytes && n === 'N') throw new NotLiteral();
    out += c; // an unknown escape keeps its backslash, as in Python
  }
  return out;
}

const NUMBER = [
  /^0[xX](?:_?[0-9a-fA-F])+/,
  /^0[oO](?:_?[0-7])+/,
  /^0[bB](?:_?[01])+/,
  /^(?:(?:[0-9](?:_?[0-9])*)?\.[0-9](?:_?[0-9])*|[0-9](?:_?[0-9])*\.)(?:[eE][+-]?[0-9](?:_?[0-9])*)?[jJ]?/,
  /^[0-9](?:_?[0-9])*(?:[eE][+-]?[0-9](?:_?[0-9])*)[jJ]?/,
  /^[0-9](?:_?[0-9])*[jJ]/,
  /^(?:[1-9](?:_?[0-9])*|0(?:_?0)*)/,
];

function numberValue(text: string): number | 'complex' {
  if (/[jJ]$/.test(text)) return 'complex';
  const t = text.replace(/_/g, '');
  if (/^0[xX]/.test(t)) return parseInt(t.slice(2), 16);
  if (/^0[oO]/.test(t)) return parseInt(t.slice(2), 8);
  if (/^0[bB]/.test(t)) return parseInt(t.slice(2), 2);
  return Number(t);
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\f' || c === '\r' || c === '\n') {
      i++;
      continue;
    }
    if (c === '#') break; // a comment runs to the end of the line
    const str = /^([rRuUbB]|[bB][rR]|[rR][bB])?('''|"""|'|")/.exec(text.slice(i));
    if (str) {
      const prefix = (str[1] ?? '').toLowerCase();
      const quote = str[2];
      const start = i + str[0].length;
      let j = start;
      const raw = prefix.includes('r');
      while (j < text.length && !text.startsWith(quote, j)) {
        if (text[j] === '\\') j++;
        else if (quote.length === 1 && text[j] === '\n') throw new NotLiteral();
        j++;
      }
      if (j >= text.length) throw new NotLiteral();
      const body = text.slice(start, j);
      const bytes = prefix.includes('b');
      if (bytes && /[^\x00-\x7f]/.test(body)) throw new NotLiteral();
      tokens.push({ kind: 'str', value: raw ? body : unescape(body, bytes), bytes });
      i = j + quote.length;
      continue;
    }
    const num = NUMBER.map((re) => re.exec(text.slice(i))).find((m) => m !== null);
    if (num && /[0-9.]/.test(c)) {
      const after = text[i + num[0].length];
      // 010, 1_, 1x: not a Python number
      if (after !== undefined && /[0-9A-Za-z_.]/.test(after)) throw new NotLiteral();
      tokens.push({ kind: 'num', value: numberValue(num[0]), text: num[0] });
      i += num[0].length;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (name) {
      tokens.push({ kind: 'name', value: name[0] });
      i += name[0].length;
      continue;
    }
    if ('[](){},:+-'.includes(c)) {
      tokens.push({ kind: 'op', value: c });
      i++;
      continue;
    }
    if (c === '.' && text.startsWith('...', i)) throw new UnusableLiteral('Ellipsis');
    throw new NotLiteral();
  }
  tokens.push({ kind: 'end' });
  return tokens;
}

class Parser {
  private i = 0;

  constructor(
    private readonly tokens: Token[],
    /** Numbers that print otherwise in Python come as PyNum. */
    private readonly forms = false,
  ) {}

  private peek(): Token {
    return this.tokens[this.i];
  }

  private isOp(value: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.value === value;
  }

  private expectOp(value: string): void {
    if (!this.isOp(value)) throw new NotLiteral();
    this.i++;
  }

  /** `1, 2` at the top is a tuple, as in Python's eval mode. */
  topLevel(): PyValue {
    if (this.peek().kind === 'end') throw new NotLiteral();
    const first = this.expression();
    if (!this.isOp(',')) {
      if (this.peek().kind !== 'end') throw new NotLiteral();
      return first;
    }
    const items = [first];
    while (this.isOp(',')) {
      this.i++;
      if (this.peek().kind === 'end') break;
      items.push(this.expression());
    }
    if (this.peek().kind !== 'end') throw new NotLiteral();
    return items;
  }

  private expression(): PyValue {
    const t = this.peek();
    if (t.kind === 'op' && (t.value === '+' || t.value === '-')) {
      this.i++;
      const operand = this.peek();
      if (operand.kind !== 'num') throw new NotLiteral();
      this.i++;
      return this.number(operand.value, operand.text, t.value === '-');
    }
    return this.atom();
  }

  private number(value: number | 'complex', text: string, negate = false): PyValue {
    if (value === 'complex') throw new UnusableLiteral('complex number');
    // literal_eval takes `1+2j` (a complex number) but no other arithmetic.
    if (this.isOp('+') || this.isOp('-')) {
      const next = this.tokens[this.i + 1];
      if (next.kind === 'num' && next.value === 'complex') throw new UnusableLiteral('complex number');
      throw new NotLiteral();
    }
    const n = negate ? -value : value;
    if (!this.forms) return n;
    // A float has a dot or an exponent (hex digits are no exponent).
    const float = !/^0[xXoObB]/.test(text) && /[.eE]/.test(text);
    const py = pyNumberJson(n, float, `${negate ? '-' : ''}${text}`);
    return py === undefined ? n : new PyNum(n, py);
  }

  private atom(): PyValue {
    const t = this.peek();
    this.i++;
    switch (t.kind) {
      case 'str': {
        let value = t.value;
        // Adjacent literals are one string; str and bytes do not mix.
        for (let n = this.peek(); n.kind === 'str'; n = this.peek()) {
          if (n.bytes !== t.bytes) throw new NotLiteral();
          value += n.value;
          this.i++;
        }
        return value;
      }
      case 'num':
        return this.number(t.value, t.text);
      case 'name':
        if (t.value === 'True') return true;
        if (t.value === 'False') return false;
        if (t.value === 'None') return null;
        throw new NotLiteral();
      case 'op':
        if (t.value === '[') return this.sequence(']');
        if (t.value === '(') return this.parenthesised();
        if (t.value === '{') return this.braces();
        throw new NotLiteral();
      case 'end':
        throw new NotLiteral();
    }
  }

  private sequence(close: string): PyValue[] {
    const items: PyValue[] = [];
    while (!this.isOp(close)) {
      items.push(this.expression());
      if (!this.isOp(',')) break;
      this.i++;
    }
    this.expectOp(close);
    return items;
  }

  /** (x) is x; (x,) and () are tuples, i.e. lists once Ansible has them. */
  private parenthesised(): PyValue {
    if (this.isOp(')')) {
      this.i++;
      return [];
    }
    const first = this.expression();
    if (this.isOp(')')) {
      this.i++;
      return first;
    }
    this.expectOp(',');
    const items = [first];
    while (!this.isOp(')')) {
      items.push(this.expression());
      if (!this.isOp(',')) break;
      this.i++;
    }
    this.expectOp(')');
    return items;
  }

  private braces(): PyValue {
    const out: { [key: string]: PyValue } = {};
    if (this.isOp('}')) {
      this.i++;
      return out;
    }
    const firstKey = this.expression();
    if (!this.isOp(':')) {
      // {1, 2} is a set: Ansible accepts it here and then cannot print or use it.
      if (this.isOp(',')) {
        this.i++;
        this.sequence('}');
      } else this.expectOp('}');
      throw new UnusableLiteral('set');
    }
    let key: PyValue = firstKey;
    for (;;) {
      this.expectOp(':');
      out[dictKey(key)] = this.expression();
      if (!this.isOp(',')) break;
      this.i++;
      if (this.isOp('}')) break;
      key = this.expression();
    }
    this.expectOp('}');
    return out;
  }
}

/** JSON keys, as Ansible's JSON output writes non-string keys. */
function dictKey(key: PyValue): string {
  if (typeof key === 'string') return key;
  if (key instanceof PyNum) return key.py;
  if (typeof key === 'number') return Number.isInteger(key) ? String(key) : String(key);
  if (typeof key === 'boolean') return key ? 'true' : 'false';
  if (key === null) return 'null';
  throw new UnusableLiteral('a list or mapping as a dictionary key');
}
