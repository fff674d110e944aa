// Ansible is the oracle for templates: every case below is rendered by `ansible … -m debug`
// (ansible-core evaluates the same inventory vars with Jinja2) and by multilink's
// TemplateRenderer, and the two must agree. Ansible 2.14 (non-native) gives a templated var
// nested in an expression as a string, so results are compared in their string form
// (Python's: True, None). Needs ansible-core; skipped with a reason without it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Diagnostics } from '../src/diagnostics.js';
import { Reporter } from '../src/load/report.js';
import { TemplateRenderer, type VarTable } from '../src/load/template.js';
import { parseYaml, toJS, type YMap } from '../src/load/yaml-source.js';

const ansible = spawnSync('sh', ['-c', 'command -v ansible'], { encoding: 'utf8' }).status === 0;
if (!ansible) console.warn('template oracle tests skipped: ansible-core is not installed (apt-get install ansible-core; .ci/run does)');

/** The host's plain vars, shared by every case. */
const BASE = `
a: WAN
count: "42"
f: "4.9"
e: eth
hex: "0x1f"
num: 3
l: [x, 1]
emp: []
nul: ~
up: yes
down: false
empty: ""
d: { k: 2, name: lte }
dev: eth0.1
`;

/** [filter or feature, template]; every filter the brief names has cases. */
const CASES: [string, string][] = [
  ['default of undefined', '{{ nope | default(7) }}'],
  ['default of defined', '{{ a | default(7) }}'],
  ['default of None', "{{ nul | default('z') }}"],
  ['default boolean of empty', "{{ empty | default('z', true) }}"],
  ['default boolean of false', "{{ down | default('z', true) }}"],
  ['d alias', "{{ nope | d('x') }}"],
  ['lower', '{{ a | lower }}'],
  ['upper', '{{ dev | upper }}'],
  ['lower of bool', '{{ up | lower }}'],
  ['int of string', '{{ count | int + 1 }}'],
  ['int of float string', '{{ f | int }}'],
  ['int default', '{{ e | int(5) }}'],
  ['int base 16', '{{ hex | int(0, 16) }}'],
  ['int of bool', '{{ up | int }}'],
  ['string of number', '{{ num | string }}'],
  ['string of None', '{{ nul | string }}'],
  ['string of bool', '{{ up | string }}'],
  ['replace', "{{ dev | replace('.', '_') }}"],
  ['replace count', "{{ 'a.b.c' | replace('.', '-', 1) }}"],
  ['join', "{{ l | join(',') }}"],
  ['join no separator', '{{ l | join }}'],
  ['ternary true', "{{ up | ternary('on', 'off') }}"],
  ['ternary empty list', "{{ emp | ternary('y', 'n') }}"],
  ['ternary None with none_val', "{{ nul | ternary('y', 'n', 'z') }}"],
  ['ternary None without none_val', "{{ nul | ternary('y', 'n') }}"],
  ['ternary of comparison', "{{ (num > 2) | ternary('big', 'small') }}"],
  ['bool in a string', 'x{{ up }}'],
  ['None in a string', 'x{{ nul }}y'],
  ['mapping key', '{{ d.k * 2 }}-{{ d["name"] }}'],
  ['arithmetic and concatenation', "{{ num + 1 }}{{ '-' ~ a }}"],
  ['if statement', '{% if num > 1 %}big{% else %}small{% endif %}'],
  ['is defined', '{{ nope is defined }}/{{ a is defined }}'],
  ['inline if', "{{ 'up' if up else 'down' }}"],
  ['chained filters', "{{ nope | default('Eth0.2') | lower | replace('.', '_') }}"],
];

/** Python's str() of a plain value, as Ansible's results arrive. */
function py(v: unknown): string {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  return String(v);
}

function ours(template: string): { value?: string; errors: string[] } {
  const parsed = new Diagnostics();
  const map = parseYaml(`${BASE}\nt: ${JSON.stringify(template)}\n`, 'vars.yaml', parsed) as YMap;
  if (!map) throw new Error(parsed.items.map((d) => d.summary).join('; '));
  const vars: VarTable = new Map(map.entries.map((e) => [e.key, { name: e.key, value: e.value, keyPos: e.keyPos }]));
  const diags = new Diagnostics();
  const out = new TemplateRenderer({ host: 'r1', vars }, new Reporter(diags, 'r1')).render((vars.get('t') as { value: YMap['entries'][number]['value'] }).value);
  return { ...(out ? { value: py(toJS(out)) } : {}), errors: diags.items.map((d) => d.summary) };
}

describe.skipIf(!ansible)('templates agree with Ansible', () => {
  let work = '';
  let answers: string[] = [];

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'multilink-tmpl-oracle-'));
    const vars = CASES.map(([, t], i) => `      t${i}: ${JSON.stringify(t)}`).join('\n');
    const base = BASE.trim().split('\n').map((line) => `      ${line}`).join('\n');
    writeFileSync(join(work, 'inv.yaml'), `all:\n  hosts:\n    r1:\n${base}\n${vars}\n`);
    writeFileSync(join(work, 'ansible.cfg'), '[defaults]\n');
    const names = CASES.map((_, i) => `t${i}`).join(', ');
    const out = execFileSync('ansible', ['-i', 'inv.yaml', 'r1', '-c', 'local', '-m', 'debug', '-a', `msg={{ [${names}] | to_json }}`], {
      cwd: work,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
      env: { ...process.env, ANSIBLE_CONFIG: join(work, 'ansible.cfg'), ANSIBLE_HOME: work, ANSIBLE_LOCAL_TEMP: join(work, 'tmp'), ANSIBLE_NOCOLOR: '1' },
    });
    const json = JSON.parse(out.slice(out.indexOf('{'))) as { msg: string };
    answers = (JSON.parse(json.msg) as unknown[]).map(py);
  }, 90_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it.each(CASES.map(([name, t], i) => [name, t, i] as const))('%s: %s', (_name, template, i) => {
    expect(ours(template)).toEqual({ value: answers[i], errors: [] });
  });
});
