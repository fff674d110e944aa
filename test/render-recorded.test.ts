// Compiled state against output recorded from real tools (iptables 1.8.9 legacy and nft,
// iproute2 6.1) after loading what multilink renders: no root needed.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileHost } from '../src/compile/desired-state.js';
import { routeShowText, ruleShowText } from '../src/render/ip.js';
import { METHODS, threeLinkConfig } from './fixtures/render/host-config.js';

const dir = new URL('./fixtures/render/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, dir), 'utf8');

/** table → chain → rules, from a multi-table iptables-save file. */
function parseSave(text: string): Map<string, Map<string, string[]>> {
  const tables = new Map<string, Map<string, string[]>>();
  let current = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) tables.set(line.slice(1), (current = new Map()));
    const decl = /^:(\S+) /.exec(line);
    if (decl) current.set(decl[1], []);
    const rule = /^-A (\S+) (.*)$/.exec(line);
    if (rule) current.get(rule[1])?.push(rule[2]);
  }
  return tables;
}

describe.each(METHODS)('recorded iptables-save, %s', (method) => {
  const d = compileHost(threeLinkConfig(method));
  it.each(['legacy', 'nft'])('%s prints every ML_ chain and jump exactly as compiled', (flavour) => {
    const live = parseSave(read(`three-links-${method}.${flavour}.save`));
    for (const c of d.chains) expect(live.get(c.table)?.get(c.name), `${c.table} ${c.name}`).toEqual(c.rules);
    for (const [table, chains] of live) {
      const ml = [...chains.keys()].filter((n) => n.startsWith('ML_'));
      expect(ml.sort()).toEqual(d.chains.filter((c) => c.table === table).map((c) => c.name).sort());
    }
    for (const j of d.jumps) expect(live.get(j.table)?.get(j.chain)).toContain(j.rule);
  });
});

describe('recorded ip rule / ip route', () => {
  const d = compileHost(threeLinkConfig('random'));
  it('ip rule show', () => {
    const lines = read('three-links.ip-rule.txt').split('\n');
    for (const r of d.rules) expect(lines).toContain(`${r.priority}:\t${ruleShowText(r)}`);
  });
  it('ip route show table 101 (iproute2 6.1 leaves a trailing space)', () => {
    expect(read('three-links.ip-route-101.txt')).toBe(`${routeShowText(d.routes[0])} \n`);
  });
});
