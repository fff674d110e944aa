import { describe, expect, it } from 'vitest';
import { setWeightsInInventory, setWeightsInVarsFile } from '../src/load/weights-edit.js';
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
