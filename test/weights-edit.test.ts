import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadInventoryFile } from '../src/load/inventory.js';
import { setWeightsInInventory, setWeightsInVarsFile } from '../src/load/weights-edit.js';
import { setWeightsInIni } from '../src/load/weights-edit-ini.js';
import { setWeightsInJsonInventory, setWeightsInJsonVarsFile } from '../src/load/weights-edit-json.js';
import { parseAssignments } from '../src/commands/weights.js';

const INVENTORY = `# fleet inventory: keep this comment
all:
  vars:
    ansible_user: root   # everybody
    multilink_playbooks: [../playbooks/balance.yaml]
  children:
    edge:
      # the branch offices
      hosts:
        r1: { ansible_host: 203.0.113.10 }
        r2: { ansible_host: 203.0.113.11, ansible_port: 2222 }
        r3:
      vars:
        multilink_weights: { lte: 0 }   # metered
    core:
      hosts:
        c1: { ansible_host: 203.0.113.20 }
`;

/** Lines of b that are not in a (by position after alignment of equal prefixes/suffixes). */
function changedLines(a: string, b: string): string[] {
  const x = a.split('\n');
  const y = b.split('\n');
  let i = 0;
  while (i < x.length && x[i] === y[i]) i++;
  let j = 0;
  while (j < x.length - i && x[x.length - 1 - j] === y[y.length - 1 - j]) j++;
  return y.slice(i, y.length - j);
}

describe('writing multilink_weights into an inventory', () => {
  it('a group with weights: edits the value in place, keeps its trailing comment', () => {
    const out = setWeightsInInventory(INVENTORY, { kind: 'group', name: 'edge' }, { lte: 2, dsl: 3 });
    expect(changedLines(INVENTORY, out)).toEqual(['        multilink_weights: { lte: 2, dsl: 3 }   # metered']);
  });
  it('a group without vars: adds a vars block at its indentation', () => {
    const out = setWeightsInInventory(INVENTORY, { kind: 'group', name: 'core' }, { cable: 0 });
    expect(out).toBe(`${INVENTORY.trimEnd()}\n      vars:\n        multilink_weights: { cable: 0 }\n`);
  });
  it('all: adds a line to its vars', () => {
    const out = setWeightsInInventory(INVENTORY, { kind: 'all' }, { dsl: 1 });
    expect(changedLines(INVENTORY, out)).toEqual(['    multilink_weights: { dsl: 1 }']);
  });
  it('hosts: inline flow map, and a host with no vars', () => {
    const a = setWeightsInInventory(INVENTORY, { kind: 'host', name: 'r2' }, { lte: 5 });
    expect(changedLines(INVENTORY, a)).toEqual(['        r2: { ansible_host: 203.0.113.11, ansible_port: 2222, multilink_weights: { lte: 5 } }']);
    const b = setWeightsInInventory(INVENTORY, { kind: 'host', name: 'r3' }, { lte: 6 });
    expect(changedLines(INVENTORY, b)).toEqual(['        r3: { multilink_weights: { lte: 6 } }']);
  });
  it('a block-style weights map: updates and appends keys', () => {
    const text = 'all:\n  vars:\n    multilink_weights:\n      dsl: 1   # slow\n      cable: 2\n  hosts:\n    r1:\n';
    expect(setWeightsInInventory(text, { kind: 'all' }, { dsl: 4, lte: 0 })).toBe('all:\n  vars:\n    multilink_weights:\n      dsl: 4   # slow\n      cable: 2\n      lte: 0\n  hosts:\n    r1:\n');
  });
  it('after a block scalar (every inline !vault value is one): right after its text', () => {
    const vaulted = 'all:\n  vars:\n    secret: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      6162\n  children:\n    edge:\n      hosts:\n        r1:\n';
    expect(setWeightsInInventory(vaulted, { kind: 'all' }, { dsl: 1 })).toBe(vaulted.replace('6162\n', '6162\n    multilink_weights: { dsl: 1 }\n'));
    const file = 'note: |\n  two\n  lines\n';
    expect(setWeightsInVarsFile(file, { lte: 0 })).toBe(`${file}multilink_weights: { lte: 0 }\n`);
  });
  it('a group_vars file', () => {
    expect(setWeightsInVarsFile('# edge\ndsl_gateway: 100.64.1.1\n', { lte: 0 })).toBe('# edge\ndsl_gateway: 100.64.1.1\nmultilink_weights: { lte: 0 }\n');
    expect(setWeightsInVarsFile('', { lte: 0 })).toBe('multilink_weights: { lte: 0 }\n');
  });
  it('refuses what it cannot find', () => {
    expect(() => setWeightsInInventory(INVENTORY, { kind: 'group', name: 'nope' }, { a: 1 })).toThrow(/group nope is not in the inventory/);
    expect(() => setWeightsInInventory(INVENTORY, { kind: 'host', name: 'zz' }, { a: 1 })).toThrow(/host zz/);
  });
});

describe('LINK=WEIGHT arguments', () => {
  it('parses and refuses', () => {
    expect(parseAssignments(['lte=0', 'dsl=12'])).toEqual({ lte: 0, dsl: 12 });
    expect(() => parseAssignments(['lte=-1'])).toThrow(/not LINK=WEIGHT/);
    expect(() => parseAssignments(['lte=1.5'])).toThrow(/not LINK=WEIGHT/);
    expect(() => parseAssignments(['lte=1', 'lte=2'])).toThrow(/given twice/);
    expect(() => parseAssignments(['$(reboot)=1'])).toThrow(/not LINK=WEIGHT/);
    expect(() => parseAssignments([])).toThrow(/at least one/);
  });
});

const INI = `# branch routers: keep this comment
jump ansible_host=192.0.2.5

[edge]
r1 ansible_host=203.0.113.10   # the old one
r2 ansible_host=203.0.113.11 multilink_weights="{'dsl': 1}"
r[3:4]

[edge:vars]
ansible_user=root
multilink_weights={'lte': 0, 'dsl': 2}  # metered LTE

; the core has no vars yet
[core]
c1
`;

describe('writing multilink_weights into an INI inventory', () => {
  it('[group:vars] with weights: edits the value in place, keeps the other links and the comment', () => {
    const out = setWeightsInIni(INI, { kind: 'group', name: 'edge' }, { lte: 2, cable: 1 });
    expect(changedLines(INI, out)).toEqual(["multilink_weights={'lte': 2, 'dsl': 2, 'cable': 1}  # metered LTE"]);
  });
  it('a group without [group:vars]: adds the section at the end', () => {
    const out = setWeightsInIni(INI, { kind: 'group', name: 'core' }, { cable: 0 });
    expect(out).toBe(`${INI}\n[core:vars]\nmultilink_weights={'cable': 0}\n`);
  });
  it('all: adds [all:vars]', () => {
    const out = setWeightsInIni(INI.trimEnd(), { kind: 'all' }, { dsl: 1 });
    expect(out).toBe(`${INI.trimEnd()}\n\n[all:vars]\nmultilink_weights={'dsl': 1}\n`);
  });
  it('a [group:vars] without the key: a line after its last setting', () => {
    const text = '[edge]\nr1\n[edge:vars]\nansible_user=root\n\n[core]\nc1\n';
    expect(setWeightsInIni(text, { kind: 'group', name: 'edge' }, { dsl: 3 })).toBe(
      "[edge]\nr1\n[edge:vars]\nansible_user=root\nmultilink_weights={'dsl': 3}\n\n[core]\nc1\n",
    );
  });
  it('hosts: on the host line, before its comment; an existing value merged', () => {
    const a = setWeightsInIni(INI, { kind: 'host', name: 'r1' }, { lte: 5 });
    expect(changedLines(INI, a)).toEqual([`r1 ansible_host=203.0.113.10 multilink_weights="{'lte': 5}"   # the old one`]);
    const b = setWeightsInIni(INI, { kind: 'host', name: 'r2' }, { lte: 6 });
    expect(changedLines(INI, b)).toEqual([`r2 ansible_host=203.0.113.11 multilink_weights="{'dsl': 1, 'lte': 6}"`]);
    const c = setWeightsInIni(INI, { kind: 'host', name: 'jump' }, { dsl: 0 });
    expect(changedLines(INI, c)).toEqual([`jump ansible_host=192.0.2.5 multilink_weights="{'dsl': 0}"`]);
  });
  it('what it writes reads back as the weights, through the INI reader', () => {
    let text = setWeightsInIni(INI, { kind: 'host', name: 'r1' }, { lte: 5 });
    text = setWeightsInIni(text, { kind: 'group', name: 'edge' }, { cable: 7 });
    const dir = mkdtempSync(join(tmpdir(), 'ml-weights-ini-'));
    try {
      writeFileSync(join(dir, 'hosts'), text);
      const inv = loadInventoryFile(join(dir, 'hosts'));
      expect(inv.hosts.get('r1')?.vars.multilink_weights).toEqual({ lte: 5 });
      expect(inv.hosts.get('r3')?.vars.multilink_weights).toEqual({ lte: 0, dsl: 2, cable: 7 });
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
  it('refuses a host written as a range, and what it cannot find', () => {
    expect(() => setWeightsInIni(INI, { kind: 'host', name: 'r4' }, { a: 1 })).toThrow('host r4 is written as the range r[3:4] on line 7: put its weights in host_vars/r4.yml');
    expect(() => setWeightsInIni(INI, { kind: 'host', name: 'zz' }, { a: 1 })).toThrow(/host zz is not in the inventory file/);
    expect(() => setWeightsInIni(INI, { kind: 'group', name: 'nope' }, { a: 1 })).toThrow(/group nope is not in the inventory file/);
    expect(() => setWeightsInIni('[g]\nh\n[g:vars]\nmultilink_weights=[1]\n', { kind: 'group', name: 'g' }, { a: 1 })).toThrow(/not a mapping/);
  });
});

describe('writing multilink_weights into JSON', () => {
  const JSON_INV = `{
    "all": {
        "vars": { "ansible_user": "root" },
        "children": { "pop": { "hosts": { "p1": null, "p2": { "x": 1 } } } }
    }
}
`;
  it('a static JSON inventory stays JSON, with its indentation', () => {
    const group = JSON.parse(setWeightsInJsonInventory(JSON_INV, { kind: 'group', name: 'pop' }, { lte: 0 }));
    expect(group.all.children.pop.vars).toEqual({ multilink_weights: { lte: 0 } });
    const host = setWeightsInJsonInventory(JSON_INV, { kind: 'host', name: 'p1' }, { lte: 1 });
    expect(JSON.parse(host).all.children.pop.hosts.p1).toEqual({ multilink_weights: { lte: 1 } });
    expect(host).toMatch(/^{\n {4}"all": {\n {8}"vars": {/);
    const all = JSON.parse(setWeightsInJsonInventory(JSON_INV, { kind: 'all' }, { dsl: 2 }));
    expect(all.all.vars).toEqual({ ansible_user: 'root', multilink_weights: { dsl: 2 } });
  });
  it('a JSON vars file', () => {
    expect(JSON.parse(setWeightsInJsonVarsFile('{"multilink_weights": {"dsl": 1}, "a": 2}', { lte: 0 }))).toEqual({ multilink_weights: { dsl: 1, lte: 0 }, a: 2 });
  });
});
