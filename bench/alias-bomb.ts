// Issue 24: how long the loader takes to refuse a YAML alias bomb ("billion laughs") of 4, 8
// and 12 levels of ten aliases, and the heap it grows by. Run: tsc -p bench/tsconfig.json && node bench/.build/bench/alias-bomb.js
import { Diagnostics } from '../src/diagnostics.js';
import { parseYaml } from '../src/load/yaml-source.js';

function aliasBomb(levels: number): string {
  const lines = ['all:', '  vars:', '    l0: &l0 ["lol"]'];
  for (let i = 1; i <= levels; i++) lines.push(`    l${i}: &l${i} [${Array.from({ length: 10 }, () => `*l${i - 1}`).join(', ')}]`);
  lines.push('  hosts:', '    r1: { ansible_host: 192.0.2.1 }', '');
  return lines.join('\n');
}

for (const levels of [4, 8, 12]) {
  const text = aliasBomb(levels);
  const heap = process.memoryUsage().heapUsed;
  const started = performance.now();
  const diags = new Diagnostics();
  const value = parseYaml(text, 'bomb.yaml', diags);
  const ms = performance.now() - started;
  const grew = (process.memoryUsage().heapUsed - heap) / 1024 / 1024;
  console.log(`${levels} levels (${text.length} bytes): ${value === undefined ? 'refused' : 'LOADED'} in ${ms.toFixed(1)} ms, heap +${grew.toFixed(1)} MB: ${diags.items[0]?.summary ?? ''}`);
}
