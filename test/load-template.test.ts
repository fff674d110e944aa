// Templates and YAML positions, in isolation.
import { describe, expect, it } from 'vitest';
import { Diagnostics } from '../src/diagnostics.js';
import { Reporter } from '../src/load/report.js';
import { parseTemplate, TemplateRenderer, type VarTable } from '../src/load/template.js';
import { parseYaml, toJS, type YMap, type YValue } from '../src/load/yaml-source.js';

describe('parseTemplate', () => {
  it.each([
    ['plain', { parts: ['plain'] }],
    ['{{x}}', { parts: [{ var: 'x' }] }],
    ['{{   dsl_gateway   }}', { parts: [{ var: 'dsl_gateway' }] }],
    ['100.64.{{ a }}.{{b}}', { parts: ['100.64.', { var: 'a' }, '.', { var: 'b' }] }],
    ['{{ a | default(1) }}', { error: "only plain {{ name }} is supported, not 'a | default(1)' (no filters or expressions)" }],
    ['{{ a.b }}', { error: "only plain {{ name }} is supported, not 'a.b' (no filters or expressions)" }],
    ['{{ }}', { error: "only plain {{ name }} is supported, not '' (no filters or expressions)" }],
    ['{{ a', { error: "'{{' is never closed by '}}'" }],
    ['{% if a %}x{% endif %}', { error: 'Jinja statements and comments ({% %}, {# #}) are not supported' }],
  ])('%s', (text, result) => {
    expect(parseTemplate(text)).toEqual(result);
  });
});

function vars(yaml: string): VarTable {
  const map = parseYaml(yaml, 'vars.yaml', new Diagnostics()) as YMap;
  return new Map(map.entries.map((e) => [e.key, { name: e.key, value: e.value, keyPos: e.keyPos }]));
}

function render(yaml: string, text: string): { value: unknown; errors: string[] } {
  const diags = new Diagnostics();
  const t = new TemplateRenderer({ host: 'r1', vars: vars(yaml) }, new Reporter(diags, 'r1'));
  const node: YValue = { kind: 'scalar', value: text, pos: { file: 'pb.yaml', line: 3, col: 7 } };
  const out = t.render(node);
  return { value: out && toJS(out), errors: diags.items.map((d) => `${d.pos?.file}:${d.pos?.line}:${d.pos?.col} ${d.summary}`) };
}

describe('TemplateRenderer', () => {
  it.each([
    ['a: 1', '{{ a }}', 1],
    ['a: [1, 2]', '{{a}}', [1, 2]],
    ['a: 1', 'x{{ a }}y', 'x1y'],
    ['a: "{{ b }}.1"\nb: 100.64.1', '{{ a }}', '100.64.1.1'],
    ['a: yes', '{{ a }}', true],
  ])('%j renders %s', (yaml, text, value) => {
    expect(render(yaml, text)).toEqual({ value, errors: [] });
  });

  it('names the undefined var and the host at the template', () => {
    expect(render('a: 1', '{{ nope }}').errors).toEqual(["pb.yaml:3:7 host r1 has no variable 'nope' (used in '{{ nope }}')"]);
  });

  it('reports an undefined var used by a var where that var is written', () => {
    expect(render('a: "{{ nope }}"', '{{ a }}').errors).toEqual(["vars.yaml:1:4 host r1 has no variable 'nope' (used in '{{ nope }}')"]);
  });

  it('refuses a var that refers to itself', () => {
    expect(render('a: "{{ b }}"\nb: "{{ a }}"', '{{ a }}').errors).toEqual(["vars.yaml:1:1 variable 'a' refers to itself through templates"]);
  });

  it('refuses a list inside a string', () => {
    expect(render('a: [1]', 'x{{ a }}').errors).toEqual(["pb.yaml:3:7 template 'x{{ a }}': a list cannot be part of a string"]);
  });

  it('leaves templates unknown without a host, but still checks their syntax', () => {
    const diags = new Diagnostics();
    const t = new TemplateRenderer(undefined, new Reporter(diags));
    const at = { file: 'pb.yaml', line: 1, col: 1 };
    expect(t.render({ kind: 'scalar', value: '{{ a }}', pos: at })).toBeUndefined();
    expect(t.render({ kind: 'scalar', value: '{{ a|b }}', pos: at })).toBeUndefined();
    expect(diags.items.map((d) => d.summary)).toEqual(["template '{{ a|b }}': only plain {{ name }} is supported, not 'a|b' (no filters or expressions)"]);
  });
});

describe('parseYaml', () => {
  it('keeps 1-based positions of keys and values, through aliases and merge keys', () => {
    const diags = new Diagnostics();
    const root = parseYaml('base: &b { x: 1 }\nhost:\n  <<: *b\n  y: on\n', 'f.yaml', diags) as YMap;
    expect(diags.items).toEqual([]);
    expect(toJS(root)).toEqual({ base: { x: 1 }, host: { x: 1, y: true } });
    const host = root.entries[1];
    expect(host.keyPos).toEqual({ file: 'f.yaml', line: 2, col: 1 });
    expect((host.value as YMap).entries.map((e) => [e.key, e.keyPos.line, e.keyPos.col, e.value.pos.line, e.value.pos.col])).toEqual([
      ['y', 4, 3, 4, 6],
      ['x', 1, 12, 1, 15],
    ]);
  });

  it('reports duplicate keys and syntax errors with their position', () => {
    const diags = new Diagnostics();
    expect(parseYaml('a: 1\na: 2\n', 'f.yaml', diags)).toBeUndefined();
    expect(diags.items.map((d) => [d.pos?.line, d.pos?.col, d.summary])).toEqual([[2, 1, 'YAML syntax: Map keys must be unique']]);
  });
});
