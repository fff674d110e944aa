// Issue 24: inputs nobody thought hostile, refused at file:line:column before they cost the
// controller time or memory, or reach a command line.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Diagnostics, formatDiagnostic } from '../src/diagnostics.js';
import { loadProject } from '../src/load/resolve.js';
import { aliasNodeCap, parseYaml } from '../src/load/yaml-source.js';

const dir = mkdtempSync(join(tmpdir(), 'multilink-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A "billion laughs": each level a list of ten aliases to the level before. */
export function aliasBomb(levels: number): string {
  const lines = ['all:', '  vars:', '    l0: &l0 ["lol"]'];
  for (let i = 1; i <= levels; i++) lines.push(`    l${i}: &l${i} [${Array.from({ length: 10 }, () => `*l${i - 1}`).join(', ')}]`);
  lines.push('  hosts:', '    r1: { ansible_host: 192.0.2.1 }', '');
  return lines.join('\n');
}

describe('YAML alias bomb', () => {
  it.each([4, 8, 12])('%i levels of ten aliases are refused at the alias, quickly and in bounded memory', (levels) => {
    const text = aliasBomb(levels);
    const heap = process.memoryUsage().heapUsed;
    const started = performance.now();
    const diags = new Diagnostics();
    expect(parseYaml(text, 'bomb.yaml', diags)).toBeUndefined();
    const ms = performance.now() - started;
    const errors = diags.items.filter((d) => d.severity === 'error').map(formatDiagnostic);
    expect(errors).toHaveLength(1);
    // Level 4 is the first whose ten aliases to level 3 (10^3 nodes each) cross the cap: its first alias.
    expect(errors[0]).toMatch(/^bomb\.yaml:7:14: error: YAML alias \*l3 and the aliases in it expand to more than [\d,]+ nodes \(an alias bomb\?\)/);
    // Generous bounds (a loaded CI machine): ~35 ms measured, bench/alias-bomb.ts prints it.
    expect(ms).toBeLessThan(2000);
    expect(process.memoryUsage().heapUsed - heap).toBeLessThan(256 * 1024 * 1024);
  });

  it('an inventory with the bomb is refused by the loader with file:line:column', () => {
    const file = join(dir, 'bomb.yaml');
    writeFileSync(file, aliasBomb(8));
    const project = loadProject(file);
    const errors = project.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
    expect(errors.some((e) => /bomb\.yaml:\d+:\d+: .*alias bomb/.test(e))).toBe(true);
  });

  it('ordinary reuse of anchors is not limited: three levels (1,000 nodes) and a long list of aliases load', () => {
    const diags = new Diagnostics();
    expect(parseYaml(aliasBomb(3), 'ok.yaml', diags)).toBeDefined();
    const many = ['base: &b { a: 1, b: 2 }', 'hosts:', ...Array.from({ length: 5000 }, (_, i) => `  h${i}: *b`), ''].join('\n');
    expect(parseYaml(many, 'many.yaml', diags)).toBeDefined();
    expect(diags.items).toEqual([]);
    expect(aliasNodeCap(0)).toBe(5000);
  });
});
