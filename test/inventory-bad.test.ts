// Bad inventories in every format are refused before any host is contacted, with every
// problem at once, each at its file:line:column (or naming the inventory script).
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run } from '../src/cli.js';
import { Diagnostics, type Diagnostic } from '../src/diagnostics.js';
import { InputError } from '../src/errors.js';
import { loadInventory, loadInventoryFile } from '../src/load/inventory.js';
import { assertNoErrors, loadProject } from '../src/load/resolve.js';
import { FakeTransport } from '../src/transport/fake-transport.js';
import { hermeticWorld } from './helpers/ansible-world.js';

const BAD = relative(process.cwd(), fileURLToPath(new URL('./fixtures/inventories/bad/', import.meta.url)));

function where(d: Diagnostic): string {
  return d.pos ? `${relative(BAD, d.pos.file)}:${d.pos.line}:${d.pos.col}` : '';
}

/** [file:line:col relative to the bad/ folder, text the summary contains] */
function expectExactly(found: Diagnostic[], expected: [string, string][]): void {
  const errors = found.filter((d) => d.severity === 'error');
  const rest = [...errors];
  for (const [pos, text] of expected) {
    const i = rest.findIndex((d) => where(d) === pos && d.summary.includes(text));
    expect(i, `expected at ${pos}: ${text}\nfound:\n${errors.map((d) => `${where(d)} ${d.summary}`).join('\n')}`).toBeGreaterThanOrEqual(0);
    rest.splice(i, 1);
  }
  expect(rest.map((d) => `${where(d)} ${d.summary}`)).toEqual([]);
}

const INI_ERRORS: [string, string][] = [
  ['ini/hosts:2:1', 'invalid section [edge: expected [group], [group:vars] or [group:children]'],
  ['ini/hosts:4:27', "expected key=value after the host name, got 'oops'"],
  ['ini/hosts:5:2', 'host range [5:1]: begin must not be greater than end'],
  ['ini/hosts:6:4', 'host line: no closing quotation'],
  ['ini/hosts:7:4', "invalid variable name 'bad-name' in host r3"],
  ['ini/hosts:8:3', "host 'gw:' ends in ':' without a port"],
  ['ini/hosts:10:1', "[edge:vars]: expected key=value, got 'novalue'"],
  ['ini/hosts:11:1', "unknown multilink variable 'multilink_wieghts' (did you mean 'multilink_weights'?)"],
  ['ini/hosts:12:7', 'value {1, 2} is a Python set, which Ansible cannot use either'],
  ['ini/hosts:13:24', "ansible_group_priority: expected a whole number, got 'high'"],
  ['ini/hosts:14:7', "section [edge:stuff] has unknown type 'stuff'"],
  ['ini/hosts:16:1', "[core:children] names group 'nosuch', which is never declared"],
  ['ini/hosts:18:1', 'section [ghost:vars] is for a group that is never declared'],
  ['ini/hosts:20:1', 'invalid section [bad section]'],
  ['ini/hosts:22:1', "group 'loop' is its own ancestor (loop → loop)"],
];

describe('bad INI and YAML inventories', () => {
  it('INI: every problem, in line order, none of the hosts resolved', () => {
    const project = loadProject(`${BAD}/ini/hosts`);
    expectExactly(project.diagnostics, INI_ERRORS);
    const lines = project.diagnostics.map((d) => d.pos?.line ?? 0);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
    expect(project.hosts).toEqual([]);
    expect(() => assertNoErrors(project)).toThrow(InputError);
  });

  it('YAML: bad ranges and priorities in the file, bad files in a group_vars folder', () => {
    const project = loadProject(`${BAD}/yaml/inventory.yaml`);
    expectExactly(project.diagnostics, [
      ['yaml/inventory.yaml:5:10', 'host range [01:1]: begin and end must have the same number of digits'],
      ['yaml/inventory.yaml:6:10', 'host range [a:9]: expected numbers or single letters'],
      ['yaml/inventory.yaml:9:33', "ansible_group_priority: expected a whole number, got 'high'"],
      ['yaml/group_vars/edge/10-links.yml:3:1', 'YAML syntax: '],
      ['yaml/group_vars/edge/20-weights.yaml:1:1', "unknown multilink variable 'multilink_wieghts'"],
    ]);
  });

  it('JSON: a syntax error in JSON\'s words at its line, a wrong shape at each place', () => {
    expectExactly(loadProject(`${BAD}/json/inventory.json`).diagnostics, [['json/inventory.json:6:9', "JSON syntax: Expected ',' or '}' after property value"]]);
    expectExactly(loadProject(`${BAD}/json/shape.json`).diagnostics, [
      ['json/shape.json:4:25', "hosts of group 'pop': expected a mapping of host name: vars, got a list"],
      ['json/shape.json:4:55', "unknown multilink variable 'multilink_wieghts'"],
      ['json/shape.json:5:31', 'host range [1:]: the end is missing'],
    ]);
  });

  it('loadInventoryFile throws every problem at once', () => {
    let error: unknown;
    try {
      loadInventoryFile(`${BAD}/ini/hosts`);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expectExactly((error as InputError).diagnostics, INI_ERRORS);
  });

  it('the command line refuses before any host is contacted', async () => {
    const transport = new FakeTransport();
    let stderr = '';
    const code = await run(['node', 'multilink', 'deploy', `${BAD}/ini/hosts`], { out: () => undefined, err: (t) => (stderr += `${t}\n`) }, () => transport, undefined, hermeticWorld());
    expect(code).toBe(1);
    expect(transport.connects).toEqual([]);
    expect(stderr).toContain(`${INI_ERRORS.length} problems in the input; no host was contacted`);
    for (const [pos] of INI_ERRORS) expect(stderr).toContain(`${BAD}/${pos}: error:`);
  });
});

describe('inventory scripts that misbehave', () => {
  const load = (name: string, timeoutMs = 10_000) => {
    const diags = new Diagnostics();
    loadInventory(`${BAD}/scripts/${name}`, diags, { scriptTimeoutMs: timeoutMs });
    return diags.items.filter((d) => d.severity === 'error');
  };

  it('a script that fails: its exit status and stderr', () => {
    const [e, ...more] = load('fails.sh');
    expect(more).toEqual([]);
    expect(where(e)).toBe('scripts/fails.sh:1:1');
    expect(e.summary).toBe(`inventory script \`${BAD}/scripts/fails.sh --list\` failed (exit 3): netbox: 403 Forbidden (check NETBOX_TOKEN)`);
  });

  it('a script that hangs is stopped after the timeout', () => {
    const start = Date.now();
    const [e, ...more] = load('hangs.sh', 500);
    expect(Date.now() - start).toBeLessThan(5_000);
    expect(more).toEqual([]);
    expect(e.summary).toBe(`inventory script \`${BAD}/scripts/hangs.sh --list\` did not finish within 0.5 s`);
  });

  it('a script that prints something else than JSON', () => {
    const [e, ...more] = load('not-json.sh');
    expect(more).toEqual([]);
    expect(e.summary).toMatch(new RegExp(`^inventory script \`${BAD}/scripts/not-json.sh --list\` did not print JSON: `));
  });

  it('JSON of the wrong shape: each problem at its place in the output', () => {
    const output = `${BAD}/scripts/bad-shape.sh --list (output)`;
    expect(load('bad-shape.sh').map((d) => [`${d.pos?.file}:${d.pos?.line}:${d.pos?.col}`, d.summary.split(';')[0]])).toEqual([
      [`${output}:2:22`, "group 'edge': hosts must be a list of host names"],
      [`${output}:3:29`, "group 'core': a host name must be a non-empty string"],
      [`${output}:3:43`, "unknown multilink variable 'multilink_wieghts' (did you mean 'multilink_weights'?)"],
    ]);
  });

  it('a file that starts with #! but is not executable', () => {
    const [e] = load('not-executable.sh');
    expect(e.summary).toContain('starts with #! like an inventory script but is not executable: chmod +x it');
  });
});
