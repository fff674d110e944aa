// Issue 8 acceptance on a lab router: what `multilink render --host` prints for a fresh
// router is what a deploy leaves live: the ML_ chains and jumps, the ip rules and the
// routes, for random, nth and sticky.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inRouter, labSupport, startTestLab, stopTestLab } from './helpers/lab.js';
import { cli } from './helpers/cli.js';
import type { LabInfo } from '../src/lab/lab.js';
import { parseIptablesSave } from '../src/facts/iptables-save.js';

const support = labSupport();
if (!support.ok) console.warn(`skipping render lab tests: ${support.reason}`);

/** The sections of `multilink render` output, by title. */
function sections(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const block of text.split(/\n\n(?=# )/)) {
    const [title, ...body] = block.trimEnd().split('\n');
    out.set(title.replace(/^# /, '').replace(/ \(.*$/, ''), body.filter((l) => !l.startsWith('# (none)')));
  }
  return out;
}

/** ML_ chains and the jumps into them, per table, from restore or save text. */
function owned(text: string): { chains: Record<string, string[]>; jumps: string[] } {
  const chains: Record<string, string[]> = {};
  const jumps: string[] = [];
  for (const block of text.split(/(?=^\*)/m)) {
    const table = /^\*(\w+)/.exec(block)?.[1];
    if (!table) continue;
    for (const c of parseIptablesSave(block).chains) {
      if (c.name.startsWith('ML_')) chains[`${table} ${c.name}`] = c.rules;
      else jumps.push(...c.rules.filter((r) => / -j ML_|^-j ML_/.test(r)).map((r) => `${table} ${c.name} ${r}`));
    }
    // Inserted jumps (-I CHAIN 1 rule) as a first deploy sends them.
    for (const m of block.matchAll(/^-I (\S+) \d+ (.*)$/gm)) jumps.push(`${table} ${m[1]} ${m[2]}`);
  }
  return { chains, jumps: jumps.sort() };
}

describe.skipIf(!support.ok)('render equals what a deploy leaves live', () => {
  let lab: LabInfo;
  beforeAll(async () => {
    lab = await startTestLab(1);
  }, 180_000);
  afterAll(async () => {
    if (lab) await stopTestLab(lab);
  });

  for (const method of ['random', 'nth', 'sticky']) {
    it(`${method}: ML_ chains and jumps, ip rules, routes`, async () => {
      const r = lab.routers[0];
      const playbook = join(lab.dir, `playbook-${method}.yaml`);
      writeFileSync(playbook, readFileSync(lab.playbook, 'utf8').replace(/method: \w+/, `method: ${method}`));
      const inventory = join(lab.dir, `inventory-${method}.yaml`);
      writeFileSync(inventory, readFileSync(lab.inventory, 'utf8').split(lab.playbook).join(playbook));
      const deploy = await cli('deploy', inventory);
      expect(deploy.code, deploy.stdout + deploy.stderr).toBe(0);
      const rendered = await cli('render', inventory, '--host', r.name);
      expect(rendered.code, rendered.stderr).toBe(0);
      expect(rendered.stdout).toContain(`method ${method}`);
      const s = sections(rendered.stdout);

      const save = ['mangle', 'nat', 'raw'].map((t) => inRouter(lab, r.name, `iptables-${r.iptables}-save`, ['-t', t]).stdout).join('');
      expect(owned(s.get('iptables-restore --noflush payload')!.join('\n'))).toEqual(owned(save));

      const rules = s.get('ip rules')!.map((l) => /^ip -4 rule add priority (\d+) (.*)$/.exec(l)!).map((m) => `${m[1]}:\tfrom all ${m[2]}`);
      const liveRules = inRouter(lab, r.name, 'ip', ['rule', 'show']).stdout.split('\n').filter((l) => /^(999|10\d\d):/.test(l));
      expect(rules.length).toBeGreaterThan(0);
      expect(liveRules).toEqual(rules);

      for (const l of s.get('ip routes')!) {
        const m = /^ip -4 route replace (.*) table (\d+)$/.exec(l)!;
        expect(inRouter(lab, r.name, 'ip', ['route', 'show', 'table', m[2]]).stdout.trim()).toBe(m[1]);
      }
    });
  }
});
