// {{ var }} substitution from one host's merged vars. Only plain names, no Jinja filters or
// expressions: every templated value still goes through the same validation as a literal,
// and a tiny language that is fully checked beats a partial Jinja that fails remotely.
import type { SourcePos } from '../model/source.js';
import type { Reporter } from './report.js';
import type { ValueOrigin, YValue } from './yaml-source.js';

/** One variable as defined in the inventory, a group_vars or a host_vars file. */
export interface VarDef {
  name: string;
  value: YValue;
  /** Where the key was written; pos.file is the defining file (relative paths use it). */
  keyPos: SourcePos;
}

export type VarTable = Map<string, VarDef>;

export type TemplatePart = string | { var: string };

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
 * template syntax is still checked, but templated values come back undefined: unknown.
 */
export class TemplateRenderer {
  private readonly cache = new Map<string, YValue | undefined | 'pending'>();

  constructor(
    private readonly scope: { host: string; vars: ReadonlyMap<string, VarDef> } | undefined,
    private readonly r: Reporter,
  ) {}

  /** The value with every template substituted, or undefined (already reported, or unknown). */
  render(node: YValue): YValue | undefined {
    if (node.kind === 'scalar') return this.renderScalar(node);
    if (node.kind === 'seq') {
      const items = node.items.map((item) => this.render(item));
      return items.every((i) => i !== undefined) ? { ...node, items: items as YValue[] } : undefined;
    }
    const values = node.entries.map((e) => this.render(e.value));
    if (!values.every((v) => v !== undefined)) return undefined;
    return { ...node, entries: node.entries.map((e, i) => ({ ...e, value: values[i] as YValue })) };
  }

  private renderScalar(node: YValue & { kind: 'scalar' }): YValue | undefined {
    const text = node.value;
    if (typeof text !== 'string' || !hasTemplate(text)) return node;
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
    for (const v of values) {
      if (typeof v === 'string') out += v;
      else if (v.kind === 'scalar') out += v.value === null ? '' : String(v.value);
      else {
        this.r.error(`template '${origin.template}': a ${v.kind === 'seq' ? 'list' : 'mapping'} cannot be part of a string`, node);
        return undefined;
      }
    }
    return { kind: 'scalar', value: out, pos: node.pos, origin };
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
    const value = this.render(def.value);
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
  if (node.kind === 'scalar') return { ...node, pos, origin };
  if (node.kind === 'seq') return { ...node, pos, origin, items: node.items.map((i) => relocate(i, pos, origin)) };
  return { ...node, pos, origin, entries: node.entries.map((e) => ({ ...e, keyPos: pos, value: relocate(e.value, pos, origin) })) };
}
