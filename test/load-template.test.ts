// Templates and YAML positions, in isolation.
import { describe, expect, it } from 'vitest';
import { Diagnostics } from '../src/diagnostics.js';
import { Reporter } from '../src/load/report.js';
import { TemplateRenderer, type VarTable } from '../src/load/template.js';
import { parseYaml, toJS, type YMap, type YValue } from '../src/load/yaml-source.js';

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
    ['a: yes', 'x{{ a }}', 'xTrue'],
    ['a: ~', 'x{{ a }}', 'x'],
    ['a: ~', '{{ a | string }}', 'None'],
    ['a: 1', '{{ nope | default(7) }}', 7],
    ['a: 1', '{{ a | default(7) }}', 1],
    ['a: ""', '{{ a | default(7, true) }}', 7],
    ['a: WAN', '{{ a | lower }}-{{ a|upper }}', 'wan-WAN'],
    ['a: "42"', '{{ a | int + 1 }}', 43],
    ['a: "4.9"', '{{ a | int }}', 4],
    ['a: eth', '{{ a | int(5) }}', 5],
    ['a: 3', '{{ a | string }}', '3'],
    ['a: eth0.1', "{{ a | replace('.', '_') }}", 'eth0_1'],
    ['a: [x, 1]', "{{ a | join(',') }}", 'x,1'],
    ['a: []', "{{ a | ternary('y', 'n') }}", 'n'],
    ['a: ~', "{{ a | ternary('y', 'n', 'z') }}", 'z'],
    ['a: {k: 2}', '{{ a.k * 2 }}', 4],
    ['a: 2', "{% if a > 1 %}big{% else %}small{% endif %}", 'big'],
    ['a: 2', '{{ nope is defined }}', false],
  ])('%j renders %s', (yaml, text, value) => {
    expect(render(yaml, text)).toEqual({ value, errors: [] });
  });

  it('names the undefined var and the host at the template', () => {
    expect(render('a: 1', '{{ nope }}').errors).toEqual(["pb.yaml:3:7 template '{{ nope }}': line 1, column 1: 'nope' is undefined"]);
    expect(render('a: 1', 'x {{ a }} {{a + nope}}').errors).toEqual(["pb.yaml:3:7 template 'x {{ a }} {{a + nope}}': line 1, column 11: 'nope' is undefined"]);
    expect(render('a: {k: 1}', '{{ a.j }}').errors).toEqual(["pb.yaml:3:7 template '{{ a.j }}': line 1, column 1: 'a' has no key 'j', which is undefined"]);
  });

  it('refuses an unknown filter and bad syntax', () => {
    expect(render('a: 1', '{{ a | nope }}').errors).toEqual(["pb.yaml:3:7 template '{{ a | nope }}': line 1, column 8: no filter named 'nope'"]);
    expect(render('a: 1', '{{ a + }}').errors).toEqual(["pb.yaml:3:7 template '{{ a + }}': line 1, column 8: unexpected token: )"]);
  });

  it('reports an undefined var used by a var where that var is written', () => {
    expect(render('a: "{{ nope }}"', '{{ a }}').errors).toEqual(["vars.yaml:1:4 template '{{ nope }}': line 1, column 1: 'nope' is undefined"]);
  });

  it('refuses a var that refers to itself', () => {
    expect(render('a: "{{ b }}"\nb: "{{ a }}"', '{{ a }}').errors).toEqual(["vars.yaml:1:1 variable 'a' refers to itself through templates"]);
  });

  it('refuses a list inside a string', () => {
    expect(render('a: [1]', 'x{{ a }}').errors).toEqual(["pb.yaml:3:7 template 'x{{ a }}': line 1, column 2: a list cannot be part of a string"]);
  });

  it('leaves templates unknown without a host, but still checks their syntax', () => {
    const diags = new Diagnostics();
    const t = new TemplateRenderer(undefined, new Reporter(diags));
    const at = { file: 'pb.yaml', line: 1, col: 1 };
    expect(t.render({ kind: 'scalar', value: '{{ a }}', pos: at })).toBeUndefined();
    expect(t.render({ kind: 'scalar', value: '{{ a|b }}', pos: at })).toBeUndefined();
    expect(diags.items.map((d) => d.summary)).toEqual(["template '{{ a|b }}': line 1, column 6: no filter named 'b'"]);
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
