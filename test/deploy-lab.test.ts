// Issue 2 acceptance on a lab of real routers (namespaces + OpenSSH), one on
// iptables-legacy and two on iptables-nft: converge, idempotence, --check, drift repair,
// foreign objects untouched, clashes refused.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inRouter, labSupport, startTestLab, stopTestLab } from './helpers/lab.js';
import { cli, jsonHosts } from './helpers/cli.js';
import type { LabInfo } from '../src/lab/lab.js';
import { loadProject } from '../src/load/resolve.js';
import { compileHost } from '../src/compile/desired-state.js';
import { parseIptablesSave } from '../src/facts/iptables-save.js';
import { ruleShowText, routeShowText } from '../src/render/ip.js';
import type { DesiredState } from '../src/model/desired.js';

const support = labSupport();
if (!support.ok) console.warn(`skipping lab deploy tests: ${support.reason}`);

describe.skipIf(!support.ok)('deploy on a lab of 3 routers (legacy and nft)', () => {
  let lab: LabInfo;
  let desired: Map<string, DesiredState>;
  const foreign = new Map<string, string>();

  const flavour = (r: string): string => lab.routers.find((x) => x.name === r)!.iptables;
  const save = (r: string, table: string): string => {
    const res = inRouter(lab, r, `iptables-${flavour(r)}-save`, ['-t', table]);
    expect(res.code, res.stderr).toBe(0);
    return res.stdout.replace(/^#.*\n/gm, '');
  };
  /** Everything that is not multilink's, as bytes: foreign rules and chains, foreign ip rules. */
  const foreignState = (r: string): string =>
    [
      ...['mangle', 'nat', 'raw'].flatMap((t) => save(r, t).split('\n').filter((l) => !/ML_/.test(l) && !/^:.*\[/.test(l) && l !== '')),
      ...inRouter(lab, r, 'ip', ['rule', 'show']).stdout.split('\n').filter((l) => !/^(999|10\d\d):/.test(l)),
    ].join('\n');

  beforeAll(async () => {
    lab = await startTestLab(3);
    expect(lab.routers.map((r) => r.iptables)).toContain('legacy');
    expect(lab.routers.map((r) => r.iptables)).toContain('nft');
    const project = loadProject(lab.inventory, {});
    expect(project.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    desired = new Map(project.hosts.map((h) => [h.name, compileHost(h)]));
    // Foreign objects that predate multilink: a rule in mangle PREROUTING, a chain, an ip rule.
    for (const r of lab.routers) {
      const f = r.iptables;
      for (const args of [
        ['-t', 'mangle', '-A', 'PREROUTING', '-p', 'tcp', '--dport', '8080', '-j', 'MARK', '--set-mark', '0x5/0xff'],
        ['-t', 'mangle', '-N', 'OPS_AUDIT'],
        ['-t', 'mangle', '-A', 'OPS_AUDIT', '-s', '203.0.113.0/24', '-j', 'RETURN'],
        ['-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan3', '-s', '192.0.2.128/25', '-j', 'RETURN'],
      ]) {
        const res = inRouter(lab, r.name, `iptables-${f}`, args);
        expect(res.code, res.stderr).toBe(0);
      }
      expect(inRouter(lab, r.name, 'ip', ['rule', 'add', 'priority', '1500', 'from', '192.0.2.0/25', 'lookup', '200']).code).toBe(0);
      foreign.set(r.name, foreignState(r.name));
    }
  }, 180_000);

  afterAll(async () => {
    if (lab) await stopTestLab(lab);
  });

  it('first deploy converges every router; live state is exactly the compiled state', async () => {
    const res = await cli('deploy', lab.inventory, '--json');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const hosts = jsonHosts(res);
    expect(Object.values(hosts).map((h) => h.outcome)).toEqual(['changed', 'changed', 'changed']);
    for (const r of lab.routers) {
      const d = desired.get(r.name)!;
      for (const table of ['mangle', 'nat', 'raw'] as const) {
        const live = parseIptablesSave(save(r.name, table));
        const ml = live.chains.filter((c) => c.name.startsWith('ML_')).map((c) => ({ name: c.name, rules: c.rules }));
        const want = d.chains.filter((c) => c.table === table).map((c) => ({ name: c.name, rules: c.rules }));
        expect(ml.sort((a, b) => a.name.localeCompare(b.name))).toEqual(want.sort((a, b) => a.name.localeCompare(b.name)));
        const jumps = live.chains.filter((c) => !c.name.startsWith('ML_')).flatMap((c) => c.rules.filter((x) => / -j ML_|^-j ML_/.test(x)).map((x) => `${c.name} ${x}`));
        expect(jumps.sort()).toEqual(d.jumps.filter((j) => j.table === table).map((j) => `${j.chain} ${j.rule}`).sort());
      }
      const rules = inRouter(lab, r.name, 'ip', ['rule', 'show']).stdout.split('\n').filter((l) => /^(999|10\d\d):/.test(l));
      expect(rules).toEqual(d.rules.map((x) => `${x.priority}:\t${ruleShowText(x)}`));
      for (const route of d.routes) {
        expect(inRouter(lab, r.name, 'ip', ['route', 'show', 'table', String(route.table)]).stdout.trim()).toBe(routeShowText(route));
      }
      expect(foreignState(r.name)).toBe(foreign.get(r.name));
    }
  });

  it('a second deploy changes nothing; --check exits 0', async () => {
    const again = await cli('deploy', lab.inventory, '--json');
    expect(again.code).toBe(0);
    expect(Object.values(jsonHosts(again)).map((h) => h.outcome)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    const check = await cli('deploy', lab.inventory, '--check');
    expect(check.code, check.stdout).toBe(0);
  });

  it('a rule deleted by hand: --check exits 2 naming host and rule; deploy repairs only that host', async () => {
    const r2 = lab.routers[1].name;
    expect(inRouter(lab, r2, `iptables-${flavour(r2)}`, ['-t', 'mangle', '-D', 'ML_BALANCE', '1']).code).toBe(0);
    const check = await cli('deploy', lab.inventory, '--check');
    expect(check.code).toBe(2);
    expect(check.stdout).toMatch(new RegExp(`${r2}: would_change`));
    expect(check.stdout).toMatch(/~ iptables mangle ML_BALANCE/);
    const fix = await cli('deploy', lab.inventory, '--json');
    const hosts = jsonHosts(fix);
    expect(hosts[r2].outcome).toBe('changed');
    expect(hosts[r2].changes.map((c) => c.object)).toEqual(['mangle ML_BALANCE']);
    expect(Object.values(hosts).filter((h) => h.host !== r2).map((h) => h.outcome)).toEqual(['unchanged', 'unchanged']);
  });

  it('a redeploy with other weights keeps foreign objects byte-identical', async () => {
    const inv = join(lab.dir, 'inventory-weights.yaml');
    writeFileSync(inv, readFileSync(lab.inventory, 'utf8').replace('      vars:\n', '      vars:\n        multilink_weights: { dsl: 3, cable: 1 }\n'));
    const res = await cli('deploy', inv, '--json');
    expect(res.code, res.stdout).toBe(0);
    for (const h of Object.values(jsonHosts(res))) {
      expect(h.outcome).toBe('changed');
      expect(h.changes.map((c) => c.object)).toEqual(['mangle ML_BALANCE']);
    }
    for (const r of lab.routers) expect(foreignState(r.name)).toBe(foreign.get(r.name));
    expect((await cli('deploy', inv, '--check')).code).toBe(0);
  });

  it('a foreign ip rule at a priority multilink would take is a clash: refused, nothing changed', async () => {
    const r3 = lab.routers[2].name;
    const inv = join(lab.dir, 'inventory-clash.yaml');
    writeFileSync(inv, readFileSync(lab.inventory, 'utf8').replace('      vars:\n', '      vars:\n        multilink_rule_priority: 1500\n'));
    const before = save(r3, 'mangle');
    const res = await cli('deploy', inv, '--limit', r3, '--json');
    expect(res.code).toBe(1);
    const h = jsonHosts(res)[r3];
    expect(h.outcome).toBe('failed');
    expect(h.message).toMatch(/nothing was changed: .*ip rule at priority 1500 is not multilink's/);
    expect(save(r3, 'mangle')).toBe(before);
  });

  it('an unreachable router fails alone', async () => {
    const inv = join(lab.dir, 'inventory-dead.yaml');
    writeFileSync(inv, readFileSync(lab.inventory, 'utf8').replace(/ansible_host: 198\.18\.(\d+)\.(\d+)/, 'ansible_host: 198.18.$1.250'));
    const res = await cli('deploy', inv, '--json', '--connect-timeout', '3');
    expect(res.code).toBe(1);
    const hosts = Object.values(jsonHosts(res));
    // The others go back from the weights of the previous test to the inventory's.
    expect(hosts.map((h) => h.outcome)).toEqual(['unreachable', 'changed', 'changed']);
    expect(hosts[0].message).toMatch(/198\.18\.\d+\.250/);
  });
});
