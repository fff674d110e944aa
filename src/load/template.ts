// {{ var }} substitution from one host's merged vars. Only plain names, no Jinja filters or
// expressions: every templated value still goes through the same validation as a literal,
// and a tiny language that is fully checked beats a partial Jinja that fails remotely.
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

export type TemplatePart = string | { var: string };

/**
 * How a renderer treats vaulted values it meets: decrypts them with the keyring (a failure is
 * an error at the value), or 'sealed': leaves them unknown without a word, for values that
 * are read but not used (connection vars when the command connects nowhere).
 */
export type VaultAccess = VaultKeyring | 'sealed';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Splits "a{{ b }}c" into parts, or says why the text is not a template we support. */
export function parseTemplate(text: string): { parts: TemplatePart[] } | { error: string } {
  if (/\{%|\{#/.test(text)) return { error: 'Jinja statements and comments ({% %}, {# #}) are not supported' };
  const parts: TemplatePart[] = [];
  let rest = text;
  for (let open = rest.indexOf('{{'); open >= 0; open = rest.indexOf('{{')) {
    const close = rest.indexOf('}}', open + 2);
    if (close < 0) return { error: "'{{' is never closed by '}}'" };
    const inner = rest.slice(open + 2, close).trim();
    if (!NAME.test(inner)) {
      return { error: `only plain {{ name }} is supported, not '${inner}' (no filters or expressions)` };
    }
    if (open > 0) parts.push(rest.slice(0, open));
    parts.push({ var: inner });
    rest = rest.slice(close + 2);
  }
  if (rest) parts.push(rest);
  return { parts };
}

export function hasTemplate(text: string): boolean {
  return /\{\{|\{%|\{#/.test(text);
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
    const parsed = parseTemplate(text);
    if ('error' in parsed) {
      this.r.error(`template '${text}': ${parsed.error}`, node);
      return undefined;
    }
    if (!this.scope) return undefined;
    const values = parsed.parts.map((p) => (typeof p === 'string' ? p : this.lookup(p.var, node.pos, text)));
    if (values.some((v) => v === undefined)) return undefined;
    const origin = this.origin(text, parsed.parts);
    // A template that is the whole value keeps the var's type ("{{ ports }}" stays a list).
    if (values.length === 1 && typeof values[0] !== 'string') return relocate(values[0] as YValue, node.pos, origin);
    return this.join(values as (string | YValue)[], node, origin);
  }

  private join(values: (string | YValue)[], node: YValue, origin: ValueOrigin): YValue | undefined {
    let out = '';
    let secret = false;
    for (const v of values) {
      if (typeof v === 'string') out += v;
      else if (v.kind === 'scalar') {
        out += v.value === null ? '' : String(v.value);
        secret ||= v.secret === true;
      } else {
        this.r.error(`template '${origin.template}': a ${v.kind === 'seq' ? 'list' : 'mapping'} cannot be part of a string`, node);
        return undefined;
      }
    }
    return { kind: 'scalar', value: out, pos: node.pos, origin, ...(secret ? { secret: true as const } : {}) };
  }

  private lookup(name: string, pos: SourcePos, template: string): YValue | undefined {
    const def = this.scope?.vars.get(name);
    if (!def) {
      this.r.error(`host ${this.scope?.host} has no variable '${name}' (used in '${template}')`, { pos }, { perHost: true });
      return undefined;
    }
    const cached = this.cache.get(name);
    if (cached === 'pending') {
      this.r.error(`variable '${name}' refers to itself through templates`, { pos: def.keyPos }, { perHost: true });
      return undefined;
    }
    if (this.cache.has(name)) return cached;
    this.cache.set(name, 'pending');
    this.using.push({ template, pos });
    const value = this.render(def.value);
    this.using.pop();
    this.cache.set(name, value);
    return value;
  }

  private origin(template: string, parts: TemplatePart[]): ValueOrigin {
    const names = [...new Set(parts.flatMap((p) => (typeof p === 'string' ? [] : [p.var])))];
    return {
      template,
      host: this.scope?.host ?? '',
      vars: names.map((name) => ({ name, pos: (this.scope?.vars.get(name) as VarDef).keyPos })),
    };
  }
}

/** A var's value used at a template: errors about it point at the template, naming the var. */
function relocate(node: YValue, pos: SourcePos, origin: ValueOrigin): YValue {
  if (node.kind === 'scalar' || node.kind === 'vault') return { ...node, pos, origin };
  if (node.kind === 'seq') return { ...node, pos, origin, items: node.items.map((i) => relocate(i, pos, origin)) };
  return { ...node, pos, origin, entries: node.entries.map((e) => ({ ...e, keyPos: pos, value: relocate(e.value, pos, origin) })) };
}
