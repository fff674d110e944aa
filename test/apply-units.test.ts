// Small pieces of the apply side, directly: where a snapshot puts multilink's jump rules,
// the boot hook, the size of --serial batches, and ip steps joined into one process.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { snapshotFromFacts } from '../src/apply/snapshot.js';
import { batchSize } from '../src/deploy/fleet.js';
import { UsageError } from '../src/errors.js';
import { bootInstallFunction } from '../src/render/boot.js';
import { snapshotTableLines } from '../src/render/reset.js';
import { lines, shellLib } from '../src/shell/lib.js';
import { sh } from '../src/shell/sh.js';
import { applyStepsFunction } from '../src/apply/steps.js';
import { planHost } from '../src/plan/plan.js';
import { routeArgs, ruleArgs } from '../src/render/ip.js';
import { convergedFacts, pristineFacts, twoLinkDesired } from './helpers/desired.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('snapshot jump positions', () => {
  it('records each ML_ jump at its position among the other rules, and a reset inserts them back in ascending order', () => {
    const facts = convergedFacts();
    const pre = facts.iptables.mangle.chains.find((c) => c.name === 'PREROUTING')!;
    pre.rules = ['-i eth9 -j RETURN', '-i lan0 -j ML_MARK', '-p udp -m udp --dport 53 -j ACCEPT', '-i lan1 -j ML_MARK', '-i lan2 -j ML_MARK'];
    const s = snapshotFromFacts(facts, { priorities: [], tables: [] }, []);
    expect(s.jumps.filter((j) => j.chain === 'PREROUTING').map((j) => [j.rule, j.position])).toEqual([
      ['-i lan0 -j ML_MARK', 2],
      ['-i lan1 -j ML_MARK', 4],
      ['-i lan2 -j ML_MARK', 5],
    ]);
    expect(snapshotTableLines(s, 'mangle').filter((l) => l.startsWith('-I PREROUTING'))).toEqual([
      '-I PREROUTING 2 -i lan0 -j ML_MARK',
      '-I PREROUTING 4 -i lan1 -j ML_MARK',
      '-I PREROUTING 5 -i lan2 -j ML_MARK',
    ]);
    // Replayed on the chain without its ML_ jumps, they land where they were.
    const chain = pre.rules.filter((r) => !r.includes('ML_'));
    for (const l of snapshotTableLines(s, 'mangle').filter((x) => x.startsWith('-I PREROUTING'))) {
      const m = /^-I PREROUTING (\d+) (.*)$/.exec(l)!;
      chain.splice(Number(m[1]) - 1, 0, m[2]);
    }
    expect(chain).toEqual(pre.rules);
  });
});

describe('boot hook', () => {
  it('a hook at a path runs the last confirmed generation; none installs nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ml-boot-'));
    dirs.push(dir);
    const state = join(dir, 'state');
    mkdirSync(join(state, 'generations', '3'), { recursive: true });
    // A whole generation (boot.sh checks its state.sh's last line and its desired.json).
    writeFileSync(join(state, 'generations', '3', 'state.sh'), `ml_reset() { echo restored 3 > ${join(dir, 'ran')}; }\nml_tried_all() { :; }\nml_reset && ml_tried_all\n`);
    writeFileSync(join(state, 'generations', '3', 'desired.json'), '{}\n');
    writeFileSync(join(state, 'current'), '3\n');
    const hook = join(dir, 'hooks', 'multilink') as `/${string}`;
    const install = spawnSync('sh', ['-s'], { input: `${lines(shellLib('none'), bootInstallFunction(hook, state), sh`ml_install_boot`).text}\n`, encoding: 'utf8' });
    expect(install.status, install.stderr).toBe(0);
    expect(statSync(hook).mode & 0o777).toBe(0o755);
    expect(statSync(join(state, 'boot.sh')).mode & 0o777).toBe(0o700);
    expect(spawnSync('sh', [hook]).status).toBe(0);
    expect(readFileSync(join(dir, 'ran'), 'utf8')).toBe('restored 3\n');
    // A corrupt current and no confirmed generation to fall back to: the hook does nothing and succeeds.
    rmSync(join(dir, 'ran'));
    writeFileSync(join(state, 'current'), '3; reboot\n');
    expect(spawnSync('sh', [hook]).status).toBe(0);
    expect(existsSync(join(dir, 'ran'))).toBe(false);
    expect(bootInstallFunction('none', state).text).toBe('ml_install_boot() { :; }');
  });

  it('systemd and init.d hooks point at the state folder, and auto chooses on the router', () => {
    const systemd = bootInstallFunction('systemd', '/var/lib/multilink').text;
    expect(systemd).toContain('ExecStart=/bin/sh /var/lib/multilink/boot.sh');
    expect(systemd).toContain('multi-user.target.wants/multilink-restore.service');
    const initd = bootInstallFunction('initd', '/var/lib/multilink').text;
    expect(initd).toContain('ML_STATE=/var/lib/multilink');
    expect(initd).toContain('/etc/rc.d/S99multilink');
    const auto = bootInstallFunction('auto', '/var/lib/multilink').text;
    expect(auto).toContain('if [ -d /run/systemd/system ]; then');
    expect(auto).toContain('ExecStart=');
    expect(auto).toContain('/etc/init.d/multilink');
  });
});

describe('batchSize (--serial)', () => {
  it.each([
    [undefined, 10, 10],
    [undefined, 0, 1],
    ['3', 10, 3],
    ['30%', 10, 3],
    ['30%', 2, 1],
    ['100%', 7, 7],
    [' 5 ', 10, 5],
  ] as const)('--serial %j over %i hosts: batches of %i', (serial, total, size) => {
    expect(batchSize(serial, total)).toBe(size);
  });

  it.each(['0', '-1', '1.5', 'ten', '101%', '%', ''])('refuses --serial %j', (serial) => {
    expect(() => batchSize(serial, 10)).toThrow(UsageError);
  });
});

describe('ip steps in one process', () => {
  it("a first deploy's routes and rules are one ml_ip_steps each, in the plan's order; deletes stay single commands", () => {
    const desired = twoLinkDesired();
    const plan = planHost(desired, pristineFacts());
    const text = applyStepsFunction({ ops: plan.ops!, desired, ownedBefore: null }).text;
    const batches = text.split('\n').filter((l) => l.startsWith('ml_ip_steps '));
    expect(batches).toHaveLength(2);
    expect(text).not.toMatch(/^ml_step 'ip (route replace|rule add)/m);
    const routes = desired.routes.map((r) => `route replace ${routeArgs(r).join(' ')}`);
    const rules = desired.rules.map((r) => `rule add ${ruleArgs(r).join(' ')}`);
    expect(text).toContain(`ml_ip_steps '${routes.join('\n')}'`);
    expect(text).toContain(`ml_ip_steps '${rules.join('\n')}'`);
    // Routes before rules, as renderPlan orders them.
    expect(text.indexOf('ml_ip_steps \'route')).toBeLessThan(text.indexOf('ml_ip_steps \'rule'));
  });
});
