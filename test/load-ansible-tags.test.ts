// Ansible's YAML tags: `!vault` values kept encrypted until a template uses them, `!unsafe`
// values (and JSON's __ansible_vault / __ansible_unsafe objects) as Ansible reads them, never
// templated; decrypted text never quoted in a message.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Diagnostics, formatDiagnostic } from '../src/diagnostics.js';
import { Reporter } from '../src/load/report.js';
import { TemplateRenderer, type VarTable, type VaultAccess } from '../src/load/template.js';
import { readIPv4 } from '../src/load/values.js';
import { VaultKeyring } from '../src/load/vault.js';
import { parseYaml, toJS, type YMap, type YValue } from '../src/load/yaml-source.js';

const DIR = fileURLToPath(new URL('./fixtures/vault/', import.meta.url));
const TEXT_11 = readFileSync(`${DIR}text-1.1.vault`, 'utf8');
const DEFAULT_PASSWORD = Buffer.from(readFileSync(`${DIR}default.pass`, 'utf8').trim());
const keyring = (): VaultKeyring => new VaultKeyring([{ id: 'default', password: DEFAULT_PASSWORD }]);
/** The 1.1 fixture as an inline value: `key: !vault |` and the text indented under it. */
const inline = (key: string): string => `${key}: !vault |\n${TEXT_11.replace(/^/gm, '  ').trimEnd()}\n`;

function parse(text: string, file = 'vars.yaml'): { node: YValue | undefined; diags: string[] } {
  const diags = new Diagnostics();
  const node = parseYaml(text, file, diags);
  return { node, diags: diags.items.map(formatDiagnostic) };
}

function vars(yaml: string): VarTable {
  const map = parse(yaml).node as YMap;
  return new Map(map.entries.map((e) => [e.key, { name: e.key, value: e.value, keyPos: e.keyPos }]));
}

function render(yaml: string, text: string, vault?: VaultAccess, host = true): { node: YValue | undefined; errors: string[] } {
  const diags = new Diagnostics();
  const r = new Reporter(diags, 'r1');
  const t = new TemplateRenderer(host ? { host: 'r1', vars: vars(yaml) } : undefined, r, vault);
  const node = t.render({ kind: 'scalar', value: text, pos: { file: 'pb.yaml', line: 3, col: 7 } });
  return { node, errors: diags.items.map(formatDiagnostic) };
}

describe('!vault in YAML', () => {
  it('is kept encrypted, as written, with no warning', () => {
    const { node, diags } = parse(inline('secret'));
    expect(diags).toEqual([]);
    const value = (node as YMap).entries[0].value;
    expect(value).toEqual({ kind: 'vault', ciphertext: TEXT_11, pos: { file: 'vars.yaml', line: 1, col: 9 } });
    expect(toJS(node as YValue)).toEqual({ secret: { __ansible_vault: TEXT_11 } });
  });

  it('takes !vault-encrypted too, and refuses a tag on something else than a string', () => {
    expect((parse('a: !vault-encrypted "x"').node as YMap).entries[0].value).toMatchObject({ kind: 'vault', ciphertext: 'x' });
    expect(parse('a: !vault {b: 1}').diags).toContain('vars.yaml:1:11: error: !vault: expected the vault text ($ANSIBLE_VAULT;…) as a string, like ansible-vault encrypt_string writes it');
  });

  it('reads JSON\'s {"__ansible_vault": …} as a vaulted value, as Ansible\'s JSON decoder does', () => {
    const { node } = parse(JSON.stringify({ v: { __ansible_vault: TEXT_11 }, w: { other: 1, __ansible_unsafe: ['a', 2] } }), 'x.json');
    const [v, w] = (node as YMap).entries;
    expect(v.value).toMatchObject({ kind: 'vault', ciphertext: TEXT_11 });
    expect(toJS(w.value)).toEqual([{ __ansible_unsafe: 'a' }, 2]);
  });
});

describe('decrypting where a template uses the value', () => {
  it('gives the plaintext as a string, marked secret', () => {
    const { node, errors } = render(inline('v'), '{{ v }}', keyring());
    expect(errors).toEqual([]);
    expect(node).toMatchObject({ kind: 'scalar', value: 'the plaintext\nwith two lines, ünïcode and a trailing newline\n', secret: true });
  });

  it('keeps a string built from a vaulted value secret', () => {
    expect(render(inline('v'), 'x-{{ v }}', keyring()).node).toMatchObject({ kind: 'scalar', secret: true });
  });

  it('without the password: an error at the value, naming the vault id and the template that needs it', () => {
    expect(render(`a: 1\n${inline('v')}`, '{{ v }}').errors).toEqual([
      "vars.yaml:2:4: error: cannot decrypt this vaulted value (vault id 'default'): no vault password was given; use --vault-password-file FILE, --vault-id FILE or --ask-vault-pass\n  needed by '{{ v }}' at pb.yaml:3:7",
    ]);
  });

  it('leaves a vaulted value unknown, and quiet, where it is not used (sealed) or no host is known', () => {
    expect(render(inline('v'), '{{ v }}', 'sealed')).toEqual({ node: undefined, errors: [] });
    expect(render(inline('v'), '{{ v }}', new VaultKeyring(), false)).toEqual({ node: undefined, errors: [] });
  });

  it('never quotes the decrypted text in a message', () => {
    const diags = new Diagnostics();
    const r = new Reporter(diags, 'r1');
    const t = new TemplateRenderer({ host: 'r1', vars: vars(inline('gw')) }, r, keyring());
    const node = t.render({ kind: 'scalar', value: '{{ gw }}', pos: { file: 'pb.yaml', line: 5, col: 9 } });
    expect(readIPv4(node, 'gateway', r)).toBeUndefined();
    const text = diags.items.map(formatDiagnostic).join('\n');
    expect(text).toContain("gateway: expected an IPv4 address (a.b.c.d), got '{{ gw }}' = a value from the vault (not shown) (gw set at vars.yaml:1:1)");
    expect(text).not.toContain('plaintext');
  });
});

describe('!unsafe', () => {
  it('keeps the string as written (a scalar is always its text) and prints as Ansible prints it', () => {
    const { node, diags } = parse('t: !unsafe "{{ x }}"\nn: !unsafe 5\ne: !unsafe\nm: !unsafe {a: "{{ b }}", c: 3, d: null}\nl: [1, !unsafe "{% raw %}"]\n');
    expect(diags).toEqual([]);
    expect(toJS(node as YValue)).toEqual({
      t: { __ansible_unsafe: '{{ x }}' },
      n: { __ansible_unsafe: '5' },
      e: { __ansible_unsafe: '' },
      m: { a: { __ansible_unsafe: '{{ b }}' }, c: 3, d: null },
      l: [1, { __ansible_unsafe: '{% raw %}' }],
    });
  });

  it('is never templated, neither where it is written nor through a var that uses it', () => {
    expect(render('u: !unsafe "{{ nope }}"', '{{ u }}')).toMatchObject({ node: { value: '{{ nope }}', unsafe: true }, errors: [] });
    expect(render('u: !unsafe "{{ nope }}"\nw: "<{{ u }}>"', '{{ w }}')).toMatchObject({ node: { value: '<{{ nope }}>' }, errors: [] });
    const diags = new Diagnostics();
    const t = new TemplateRenderer({ host: 'r1', vars: new Map() }, new Reporter(diags, 'r1'));
    const direct = t.render({ kind: 'scalar', value: '{% if %}{{ x | y }}', unsafe: true, pos: { file: 'pb.yaml', line: 1, col: 1 } });
    expect(direct).toMatchObject({ value: '{% if %}{{ x | y }}' });
    expect(diags.items).toEqual([]);
  });

  it('reads JSON\'s {"__ansible_unsafe": …}', () => {
    expect(toJS(parse('{"u": {"__ansible_unsafe": "{{ x }}"}}', 'x.json').node as YValue)).toEqual({ u: { __ansible_unsafe: '{{ x }}' } });
  });
});
