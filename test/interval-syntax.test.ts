// The health `interval` syntax (issue 20 §1): milliseconds and fractional seconds, at least
// 100 ms, errors at file:line:col like every other value.
import { describe, expect, it } from 'vitest';
import { Diagnostics } from '../src/diagnostics.js';
import { Reporter } from '../src/load/report.js';
import { readDuration } from '../src/load/values.js';
import { parseYaml, type YMap } from '../src/load/yaml-source.js';
import { formatPos } from '../src/model/source.js';

function read(text: string): { ms: number | undefined; errors: string[] } {
  const diags = new Diagnostics();
  const doc = parseYaml(`interval: ${text}\n`, 'playbook.yaml', diags) as YMap;
  const ms = readDuration(doc.entries[0]?.value, 'interval', new Reporter(diags));
  return { ms, errors: diags.items.map((d) => `${d.pos ? `${formatPos(d.pos)} ` : ''}${d.summary}`) };
}

describe('health interval', () => {
  it.each([
    ['250ms', 250],
    ['0.25s', 250],
    ['.5s', 500],
    ['100ms', 100],
    ['0.1s', 100],
    ['1s', 1000],
    ['1.5s', 1500],
    ['0.3s', 300],
    ['2m', 120_000],
    ['0.5m', 30_000],
  ])('%s is %d ms', (text, ms) => {
    expect(read(text)).toEqual({ ms, errors: [] });
  });

  it.each(['99ms', '0.09s', '0.0001s', '250.5ms', '1', '0.25', '1.s', '61m', '-1s', '1e3ms', 'fast'])('%s is refused at its position', (text) => {
    const r = read(text);
    expect(r.ms).toBeUndefined();
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(/^playbook\.yaml:1:11 interval: expected a duration from 100ms to 60m, like 1s, 250ms or 0\.25s, got /);
  });
});
