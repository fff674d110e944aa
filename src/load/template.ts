// {{ … }} templates in inventory and playbook values, evaluated for one host with nunjucks
// (a maintained Jinja2 engine for JavaScript) plus the Ansible filters it lacks. Every value
// a template yields still goes through the same validation as a literal.
//
// Ansible semantics kept where nunjucks differs:
// - an undefined variable (or a missing key of a mapping) is an error wherever it is used,
//   except under `default(…)` and the `defined`/`undefined` tests (Jinja2's StrictUndefined);
// - `default`, `int`, `string`, `bool`, `ternary`, `lower`, `upper`, `replace`, `join` follow
//   Jinja2/Ansible: Python truthiness ('' 0 [] {} None are false), Python string forms
//   (True, False; None prints as nothing, as Ansible's finalize does) inside a string;
// - a value that is exactly one `{{ expr }}` keeps the expression's type ("{{ ports }}" stays
//   a list, "{{ n | int }}" a number), as Ansible's native mode does; anything else is a string.
// `{% if %}`, `{% for %}`, `{% set %}` and `{# #}` work (the value is then a string); there is no
// loader, so `include`/`import`/`extends` are errors. Known gap: `if`/`and`/`or`/`not` inside an
// expression use JavaScript truthiness, where an empty list or mapping is true (use `ternary`).
import nunjucks from 'nunjucks';
import { formatPos, type SourcePos } from '../model/source.js';
import type { Reporter } from './report.js';
import { VaultKeyring } from './vault.js';
import type { ValueOrigin, YScalar, YValue, YVault } from './yaml-source.js';

/** One variable as defined in the inventory, a group_vars or a host_vars file. */
export interface VarDef {
  name: string;
  value: YValue;
  /** Where the key was written; pos.file is the defining file (relative paths use it). */
  keyPos: SourcePos;
}

export type VarTable = Map<string, VarDef>;

/**
 * How a renderer treats vaulted values it meets: decrypts them with the keyring (a failure is
 * an error at the value), or 'sealed': leaves them unknown without a word, for values that
 * are read but not used (connection vars when the command connects nowhere).
 */
export type VaultAccess = VaultKeyring | 'sealed';

export function hasTemplate(text: string): boolean {
  return /\{\{|\{%|\{#/.test(text);
}

/** Jinja2's Undefined: any use but `default` and `is defined` is an error naming what was missing. */
class Undef {
  constructor(readonly what: string) {}
  fail(): never {
    throw new TemplateProblem(`${this.what} is undefined`);
  }
  toString(): string {
    return this.fail();
  }
  [Symbol.toPrimitive](): never {
    return this.fail();
  }
}

/** A problem our own code found while evaluating (kept apart from nunjucks' wording). */
class TemplateProblem extends Error {}

/** A failed lookup of a var whose own value already had errors (reported where it is written). */
class AlreadyReported extends Error {
  constructor() {
    super('multilink: already reported');
  }
}

type JValue = string | number | boolean | null | JValue[] | { [k: string]: JValue } | Undef | undefined;

const NATIVE = '__multilink_native';
/** The value of the last NATIVE expression evaluated. */
let captured: JValue;
/** The index of the last `{{ }}` evaluated: a runtime error is in the one after it. */
let progress = -1;
const PY = '__multilink_py';

function truthy(v: JValue): boolean {
  if (v instanceof Undef) return v.fail();
  if (Array.isArray(v)) return v.length > 0;
  if (v !== null && typeof v === 'object') return Object.keys(v).length > 0;
  return Boolean(v);
}

type Defined = Exclude<JValue, Undef | undefined>;

function defined(v: JValue): Defined {
  if (v instanceof Undef) v.fail();
  if (v === undefined) throw new TemplateProblem('an attribute or index that does not exist is undefined');
  return v as Defined;
}

/** Python's str(): True, False, None, [1, 'a'], {'k': 1}. */
function pyStr(v: JValue, nested = false): string {
  v = defined(v);
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return nested ? `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : v;
  if (Array.isArray(v)) return `[${v.map((i) => pyStr(i, true)).join(', ')}]`;
  return `{${Object.entries(v).map(([k, i]) => `'${k}': ${pyStr(i, true)}`).join(', ')}}`;
}

/** Jinja2's int filter: int(x), else int(float(x)), else the default. */
function pyInt(v: JValue, fallback: JValue = 0, base: JValue = 10): JValue {
  v = defined(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return Math.trunc(v);
  if (typeof v === 'string') {
    const s = v.trim().replace(/_/g, '');
    const b = typeof base === 'number' ? base : 10;
    const digits = b === 16 ? /^[+-]?(0x)?[0-9a-f]+$/i : b === 8 ? /^[+-]?(0o)?[0-7]+$/i : b === 2 ? /^[+-]?(0b)?[01]+$/i : /^[+-]?\d+$/;
    if (digits.test(s)) return parseInt(s.replace(/^([+-]?)0[xob]/i, '$1'), b);
    if (b === 10 && /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return Math.trunc(Number(s));
  }
  return fallback;
}

function filters(env: nunjucks.Environment): void {
  const add = (name: string, f: (...args: JValue[]) => JValue): void => {
    env.addFilter(name, f as (...args: unknown[]) => unknown);
  };
  add('default', (v, fallback = '', boolean = false) => (v instanceof Undef || v === undefined || (boolean === true && !truthy(v)) ? fallback : v));
  env.addFilter('d', env.getFilter('default'));
  add('lower', (v) => pyStr(v).toLowerCase());
  add('upper', (v) => pyStr(v).toUpperCase());
  add('int', pyInt);
  add('string', (v) => pyStr(v));
  add('bool', (v) => {
    v = defined(v);
    if (typeof v === 'boolean') return v;
    if (v === null) return false;
    return ['yes', 'on', '1', 'true', 't', 'y'].includes(pyStr(v).toLowerCase());
  });
  add('replace', (v, old, repl, count) => {
    const s = pyStr(v);
    const from = pyStr(old);
    const to = pyStr(repl);
    const parts = s.split(from);
    const n = typeof count === 'number' && count >= 0 ? count : parts.length;
    return parts.slice(0, n + 1).join(to) + (n + 1 < parts.length ? from + parts.slice(n + 1).join(from) : '');
  });
  add('join', (v, sep = '') => {
    v = defined(v);
    const items = Array.isArray(v) ? v : typeof v === 'string' ? [...v] : v !== null && typeof v === 'object' ? Object.keys(v) : [v];
    return items.map((i) => pyStr(i)).join(pyStr(sep));
  });
  add('ternary', (v, yes, no, none) => (v === null && none !== undefined && none !== null ? none : truthy(v) ? yes : no));
  // Renders nothing and keeps the value: nested renders finish before the outer filter runs.
  add(NATIVE, (v) => {
    progress = 0;
    captured = v;
    return '';
  });
  add(PY, (v, index) => {
    progress = typeof index === 'number' ? index : progress;
    if (Array.isArray(v) || (v !== null && typeof v === 'object' && !(v instanceof Undef))) {
      throw new TemplateProblem(`a ${Array.isArray(v) ? 'list' : 'mapping'} cannot be part of a string`);
    }
    // Ansible's finalize: None prints as nothing (the `string` filter still gives 'None').
    return v === null ? '' : pyStr(v);
  });
  // addTest is in nunjucks' API but missing from @types/nunjucks.
  const tests = env as nunjucks.Environment & { addTest(name: string, test: (v: JValue) => boolean): void };
  tests.addTest('defined', (v: JValue) => !(v instanceof Undef) && v !== undefined);
  tests.addTest('undefined', (v: JValue) => v instanceof Undef || v === undefined);
  tests.addTest('none', (v: JValue) => v === null);
}

/**
 * An environment whose globals are `vars`, looked up lazily: nunjucks copies a render's context
 * eagerly, which would evaluate (and decrypt) every var; globals are read only when named.
 */
function environment(vars: (name: string) => unknown): nunjucks.Environment {
  const env = new nunjucks.Environment([], { autoescape: false, throwOnUndefined: false });
  filters(env);
  const builtins = (env as unknown as { globals: Record<string, unknown> }).globals;
  (env as unknown as { globals: Record<string, unknown> }).globals = new Proxy(builtins, {
    has: (_t, name) => typeof name === 'string',
    get: (t, name) => (typeof name !== 'string' ? undefined : name in t && vars(name) instanceof Undef ? t[name] : vars(name)),
  });
  return env;
}

/** Whose vars the shared environment's globals are, while a template renders (rendering is synchronous). */
let currentVars: ((name: string) => unknown) | undefined;
const sharedEnv = environment((name) => (currentVars ? currentVars(name) : new Undef(`'${name}'`)));
/** Compiled templates by source, shared by every host: compiling costs ~0.3 ms, rendering far less. */
const compiledCache = new Map<string, nunjucks.Template | { problem: string }>();
const CACHE_LIMIT = 10000;

/**
 * The template with every `{{ expr }}` made `{{(expr) | PY }}` (or NATIVE when the whole value
 * is one expression), columns kept: the space after `{{` becomes the parenthesis when there
 * is one. Returns the inserted offsets so error columns map back to the user's text.
 */
interface Instrumented {
  source: string;
  native: boolean;
  shifts: number[];
  /** Where each `{{` is in the user's text, 1-based. */
  exprs: { line: number; col: number }[];
}

function instrument(text: string): Instrumented {
  const native = /^\{\{-?[^]*-?\}\}$/.test(text) && text.indexOf('{{', 2) < 0 && text.indexOf('}}') === text.length - 2 && !/\{%|\{#/.test(text);
  const shifts: number[] = [];
  const exprs: { line: number; col: number }[] = [];
  let out = '';
  let i = 0;
  for (let open = text.indexOf('{{'); open >= 0; open = text.indexOf('{{', i)) {
    const before = text.slice(0, open).split('\n');
    exprs.push({ line: before.length, col: (before.at(-1) ?? '').length + 1 });
    let start = open + 2;
    if (text[start] === '-') start++;
    const close = text.indexOf('}}', start);
    if (close < 0) break;
    let end = close;
    if (text[end - 1] === '-' && end - 1 >= start) end--;
    out += text.slice(i, start);
    if (/\s/.test(text[start] ?? '')) out += '(' + text.slice(start + 1, end);
    else {
      shifts.push(start);
      out += '(' + text.slice(start, end);
    }
    out += `) | ${native ? NATIVE : `${PY}(${exprs.length - 1})`} `;
    i = end;
  }
  return { source: out + text.slice(i), native, shifts, exprs };
}

interface NjNode {
  typename?: string;
  lineno: number;
  colno: number;
  fields?: string[];
  children?: NjNode[];
  name?: { value?: unknown };
  [field: string]: unknown;
}

/** The first filter nunjucks does not know, with its place (nunjucks only finds it at render time). */
function unknownFilter(source: string, env: nunjucks.Environment, shifts: number[]): string | undefined {
  const parser = (nunjucks as unknown as { parser: { parse(src: string): NjNode } }).parser;
  const stack: NjNode[] = [parser.parse(source)];
  for (let n = stack.pop(), budget = 100000; n && budget > 0; n = stack.pop(), budget--) {
    if (n.typename === 'Filter' && typeof n.name?.value === 'string') {
      try {
        env.getFilter(n.name.value);
      } catch {
        const col = n.colno + 1;
        return `line ${n.lineno + 1}, column ${col - shifts.filter((s) => s < col).length}: no filter named '${n.name.value}'`;
      }
    }
    for (const f of n.fields ?? []) {
      const child = n[f];
      if (child && typeof child === 'object') stack.push(child as NjNode);
    }
    for (const c of n.children ?? []) stack.push(c);
  }
  return undefined;
}

/** Where a nunjucks message points ("[Line 1, Column 9]"), mapped back to the user's template. */
function problemOf(e: unknown, shifts: number[], at?: { line: number; col: number }): string {
  const raw = e instanceof Error ? e.message : String(e);
  const m = /^\(unknown path\)(?: \[Line (\d+), Column (\d+)\])?\n\s*(?:(?:Template render error|Error|TemplateProblem): )?([^]*)$/.exec(raw);
  if (!m) return at ? `line ${at.line}, column ${at.col}: ${raw}` : raw;
  const message = m[3].replace(/^\(unknown path\)\s*/, '').replace(/^Error: /, '').trim();
  if (!m[1]) return at ? `line ${at.line}, column ${at.col}: ${message}` : message;
  const col = Number(m[2]);
  const back = shifts.filter((s) => s < col).length;
  return `line ${m[1]}, column ${col - back}: ${message}`;
}

/**
 * Renders located values for one host. Without a host (validating a play nobody targets)
 * template syntax is still checked, but templated and vaulted values come back undefined:
 * unknown. Rendering is where a value is used, so it is where a vaulted value is decrypted.
 */
export class TemplateRenderer {
  private readonly cache = new Map<string, YValue | undefined | 'pending'>();
  /** The templates being expanded, innermost last: why a vaulted value is needed. */
  private readonly using: { template: string; pos: SourcePos }[] = [];
  /** Names looked up by the templates being evaluated, and whether one was secret. */
  private used: { names: Set<string>; secret: boolean; unsafe: boolean } = { names: new Set(), secret: false, unsafe: false };

  constructor(
    private readonly scope: { host: string; vars: ReadonlyMap<string, VarDef> } | undefined,
    private readonly r: Reporter,
    private readonly vault: VaultAccess = new VaultKeyring(),
  ) {}

  /** The value with every template substituted, or undefined (already reported, or unknown). */
  render(node: YValue): YValue | undefined {
    if (node.kind === 'vault') return this.decrypt(node);
    if (node.kind === 'scalar') return this.renderScalar(node);
    if (node.kind === 'seq') {
      const items = node.items.map((item) => this.render(item));
      return items.every((i) => i !== undefined) ? { ...node, items: items as YValue[] } : undefined;
    }
    const values = node.entries.map((e) => this.render(e.value));
    if (!values.every((v) => v !== undefined)) return undefined;
    return { ...node, entries: node.entries.map((e, i) => ({ ...e, value: values[i] as YValue })) };
  }

  /** A vaulted value is a string, never templated (Ansible marks it unsafe too). */
  private decrypt(node: YVault): YScalar | undefined {
    if (!this.scope || this.vault === 'sealed') return undefined;
    const opened = this.vault.open(node.ciphertext, 'this vaulted value');
    if (!opened.ok) {
      const use = this.using[0];
      this.r.error(opened.problem, node, use ? { detail: `needed by '${use.template}' at ${formatPos(use.pos)}` } : {});
      return undefined;
    }
    return { kind: 'scalar', value: opened.plaintext.toString('utf8'), pos: node.pos, secret: true, ...(node.origin ? { origin: node.origin } : {}) };
  }

  private renderScalar(node: YScalar): YValue | undefined {
    const text = node.value;
    if (node.unsafe || typeof text !== 'string' || !hasTemplate(text)) return node;
    const { source, native, shifts, exprs } = instrument(text);
    let compiled = compiledCache.get(source);
    if (!compiled) {
      try {
        const template = new nunjucks.Template(source, sharedEnv, undefined, true);
        const bad = unknownFilter(source, sharedEnv, shifts);
        compiled = bad ? { problem: bad } : template;
      } catch (e) {
        compiled = { problem: problemOf(e, shifts) };
      }
      if (compiledCache.size >= CACHE_LIMIT) compiledCache.clear();
      compiledCache.set(source, compiled);
    }
    if ('problem' in compiled) {
      this.r.error(`template '${text}': ${compiled.problem}`, node);
      return undefined;
    }
    if (!this.scope) return undefined;
    const outer = this.used;
    this.used = { names: new Set(), secret: false, unsafe: false };
    this.using.push({ template: text, pos: node.pos });
    let result: JValue;
    const previous = currentVars;
    currentVars = this.vars;
    try {
      progress = -1;
      if (native) {
        captured = undefined;
        compiled.render({});
        // Ansible's finalize: an expression that yields None gives ''.
        result = defined(captured) ?? '';
      } else result = compiled.render({});
    } catch (e) {
      if (!(e instanceof AlreadyReported) && !String(e).includes('multilink: already reported')) {
        this.r.error(`template '${text}': ${problemOf(e, shifts, exprs[progress + 1] ?? exprs[0])}`, node, { perHost: true });
      }
      this.used = outer;
      this.using.pop();
      return undefined;
    } finally {
      currentVars = previous;
    }
    this.using.pop();
    const used = this.used;
    this.used = outer;
    for (const name of used.names) outer.names.add(name);
    outer.secret ||= used.secret;
    outer.unsafe ||= used.unsafe;
    const origin: ValueOrigin = {
      template: text,
      host: this.scope.host,
      vars: [...used.names].map((name) => ({ name, pos: (this.scope?.vars.get(name) as VarDef).keyPos })),
    };
    try {
      return fromJS(result, node.pos, origin, { ...(used.secret ? { secret: true as const } : {}), ...(used.unsafe ? { unsafe: true as const } : {}) });
    } catch (e) {
      this.r.error(`template '${text}': ${problemOf(e, shifts, exprs[0])}`, node, { perHost: true });
      return undefined;
    }
  }

  /** The host's vars as nunjucks sees them: rendered on first use, Undef when missing. */
  private readonly vars = (name: string): unknown => (this.scope?.vars.has(name) ? this.lookup(name) : new Undef(`'${name}'`));

  private lookup(name: string): JValue {
    const def = this.scope?.vars.get(name) as VarDef;
    this.used.names.add(name);
    const cached = this.cache.get(name);
    if (cached === 'pending') {
      this.r.error(`variable '${name}' refers to itself through templates`, { pos: def.keyPos }, { perHost: true });
      throw new AlreadyReported();
    }
    let value = cached;
    if (!this.cache.has(name)) {
      this.cache.set(name, 'pending');
      value = this.render(def.value);
      this.cache.set(name, value);
    }
    if (value === undefined || typeof value === 'string') throw new AlreadyReported();
    if (containsFlag(value, 'secret')) this.used.secret = true;
    if (containsFlag(value, 'unsafe')) this.used.unsafe = true;
    return toJValue(value, name);
  }
}

function containsFlag(v: YValue, flag: 'secret' | 'unsafe'): boolean {
  if (v.kind === 'scalar') return v[flag] === true;
  if (v.kind === 'seq') return v.items.some((i) => containsFlag(i, flag));
  if (v.kind === 'map') return v.entries.some((e) => containsFlag(e.value, flag));
  return false;
}

/** A rendered value for expressions; a mapping answers a missing key with Undef. */
function toJValue(v: YValue, path: string): JValue {
  if (v.kind === 'scalar') return v.value;
  if (v.kind === 'vault') return new Undef(path);
  if (v.kind === 'seq') return v.items.map((item, i) => toJValue(item, `${path}[${i}]`));
  const obj: Record<string, JValue> = {};
  for (const e of v.entries) obj[e.key] = toJValue(e.value, `${path}.${e.key}`);
  return new Proxy(obj, {
    get: (t, key) => {
      if (typeof key !== 'string' || Object.hasOwn(t, key)) return Reflect.get(t, key);
      // Methods nunjucks itself asks for on objects (iteration, toString) stay JavaScript's.
      if (key in Object.prototype || key === 'length') return Reflect.get(t, key);
      return new Undef(`'${path}' has no key '${key}', which`);
    },
  });
}

/**
 * An expression's value as a located value: errors about it point at the template. A value
 * made from a secret is secret; one made from an `!unsafe` value is never templated again.
 */
function fromJS(v: JValue, pos: SourcePos, origin: ValueOrigin, mark: { secret?: true; unsafe?: true }): YValue {
  if (v instanceof Undef) v.fail();
  if (v === undefined || v === null || typeof v !== 'object') return { kind: 'scalar', value: v ?? null, pos, origin, ...mark };
  if (Array.isArray(v)) return { kind: 'seq', items: v.map((i) => fromJS(i, pos, origin, mark)), pos, origin };
  return {
    kind: 'map',
    entries: Object.entries(v).map(([key, value]) => ({ key, keyPos: pos, value: fromJS(value, pos, origin, mark) })),
    pos,
    origin,
  };
}
