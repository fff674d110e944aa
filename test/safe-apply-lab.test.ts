// Issue 3 acceptance: fault injection on a lab of real routers. After every fault, each
// router's owned state is exactly its prior state or exactly the compiled state, and
// foreign rules are byte-identical.
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inRouter, labSsh, labSupport, startTestLab, stopTestLab } from './helpers/lab.js';
import { cli, jsonHosts } from './helpers/cli.js';
import type { LabInfo } from '../src/lab/lab.js';

const support = labSupport();
if (!support.ok) console.warn(`skipping safe-apply lab tests: ${support.reason}`);

describe.skipIf(!support.ok)('safe apply on a lab of 3 routers', () => {
  let lab: LabInfo;
  let n = 0;
  const router = (i: number) => lab.routers[i];

  /** Everything multilink may own plus the foreign rules around it, as text. */
  function state(i: number): string {
    const r = router(i);
    const save = (t: string) => inRouter(lab, r.name, `iptables-${r.iptables}-save`, ['-t', t]).stdout.replace(/^#.*\n/gm, '').replace(/ \[\d+:\d+\]$/gm, '');
    const ns = (k: string) => inRouter(lab, r.name, 'cat', [`/proc/sys/net/ipv4/${k}`]).stdout.trim();
    return [
      ...['mangle', 'nat', 'raw'].map(save),
      inRouter(lab, r.name, 'ip', ['rule', 'show']).stdout,
      ...[101, 102, 103].map((t) => `table ${t}: ${inRouter(lab, r.name, 'ip', ['route', 'show', 'table', String(t)]).stdout}`),
      ...['ip_forward', 'conf/wan1/rp_filter', 'conf/wan2/rp_filter', 'conf/wan3/rp_filter'].map((k) => `${k}=${ns(k)}`),
    ].join('\n');
  }

  /** An inventory (and playbook) derived from the lab's, written into the lab folder. */
  function variant(o: { playbook?: (text: string) => string; vars?: string[]; hosts?: Record<string, string> }): string {
    const id = n++;
    let inv = readFileSync(lab.inventory, 'utf8');
    if (o.playbook) {
      const pb = join(lab.dir, `playbook-${id}.yaml`);
      writeFileSync(pb, o.playbook(readFileSync(lab.playbook, 'utf8')));
      inv = inv.split(lab.playbook).join(pb);
    }
    if (o.vars) inv = inv.replace('      vars:\n', `      vars:\n${o.vars.map((v) => `        ${v}\n`).join('')}`);
    for (const [host, extra] of Object.entries(o.hosts ?? {})) inv = inv.replace(`        ${host}: { `, `        ${host}: { ${extra}, `);
    const file = join(lab.dir, `inventory-${id}.yaml`);
    writeFileSync(file, inv);
    return file;
  }

  const badGateway = (bad: string) =>
    variant({ playbook: (t) => t.replace('gateway: 100.64.2.1', 'gateway: "{{ cable_gw }}"'), vars: ['cable_gw: 100.64.2.1'], hosts: { [bad]: 'cable_gw: 203.0.113.9' } });

  beforeAll(async () => {
    lab = await startTestLab(3);
    for (const r of lab.routers) {
      const res = inRouter(lab, r.name, `iptables-${r.iptables}`, ['-t', 'mangle', '-A', 'PREROUTING', '-s', '192.0.2.99/32', '-j', 'RETURN']);
      expect(res.code, res.stderr).toBe(0);
    }
  }, 180_000);

  afterAll(async () => {
    if (lab) await stopTestLab(lab);
  });

  it('a step failing on one router of three: it is rolled_back with command and stderr, the others changed, exit 1', async () => {
    const prior = state(1);
    const res = await cli('deploy', badGateway(router(1).name), '--json', '--confirm-timeout', '20');
    expect(res.code).toBe(1);
    const hosts = jsonHosts(res);
    const r2 = hosts[router(1).name] as unknown as { outcome: string; command: string; stderr: string; message: string };
    expect(r2.outcome).toBe('rolled_back');
    expect(r2.command).toBe('ip route replace default via 203.0.113.9 dev wan2 table 102');
    expect(r2.stderr).toMatch(/Nexthop has invalid gateway|unreachable/i);
    expect(r2.message).toMatch(/restored and verified/);
    expect([hosts[router(0).name].outcome, hosts[router(2).name].outcome]).toEqual(['changed', 'changed']);
    expect(state(1)).toBe(prior);
  });

  it('a rule set that cuts SSH restores itself within the confirm timeout and ends rolled_back; the router stays reachable', async () => {
    // A router managed over a default-routed path (as over the internet): its management
    // interface holds only a /29, and the controller is reached through the main table's
    // default route. Declaring that interface a link with a wrong gateway marks the new SSH
    // connection of the confirmation for the link, whose table sends the replies nowhere.
    // (On-link management cannot be cut: connected routes always win over the link tables.)
    const r = router(2);
    const prefix = lab.hostAddress.split('.').slice(0, 3).join('.');
    const host = Number(r.mgmtAddress.split('.')[3]);
    const net = host - (host % 8);
    const run = (args: string[]) => expect(inRouter(lab, r.name, 'ip', args).code, args.join(' ')).toBe(0);
    const wan1Gateway = inRouter(lab, r.name, 'ip', ['route', 'show', 'exact', '0/0']).stdout.trim();
    run(['addr', 'del', `${r.mgmtAddress}/24`, 'dev', 'mgmt0']);
    run(['addr', 'add', `${r.mgmtAddress}/29`, 'dev', 'mgmt0']);
    run(['route', 'replace', 'default', 'via', lab.hostAddress, 'dev', 'mgmt0', 'onlink']);
    try {
      expect((await cli('deploy', lab.inventory, '--limit', r.name, '--json')).code).toBe(0);
      const prior = state(2);
      const cut = variant({
        playbook: (t) => t.replace(/(links:\n)/, `$1    - { name: mgmt, interface: mgmt0, gateway: ${prefix}.${net + 6}, weight: 0 }\n`),
      });
      const started = Date.now();
      const res = await cli('deploy', cut, '--limit', r.name, '--json', '--confirm-timeout', '5', '--connect-timeout', '3');
      const h = jsonHosts(res)[r.name];
      expect(h.outcome, h.message).toBe('rolled_back');
      expect(h.message).toMatch(/could not reconnect to confirm .* restored \(no confirmation within 5 s\)/);
      expect(Date.now() - started).toBeLessThan(40_000);
      expect(labSsh(lab, r.name, 'true').code).toBe(0);
      expect(state(2)).toBe(prior);
    } finally {
      inRouter(lab, r.name, 'ip', ['addr', 'del', `${r.mgmtAddress}/29`, 'dev', 'mgmt0']);
      inRouter(lab, r.name, 'ip', ['addr', 'add', `${r.mgmtAddress}/24`, 'dev', 'mgmt0']);
      inRouter(lab, r.name, 'ip', ['route', 'replace', ...wan1Gateway.split(/\s+/)]);
    }
  }, 90_000);

  it('the SSH connection killed in the middle of an apply: fully prior or fully applied, and the next deploy converges', async () => {
    const r = router(0);
    const inv = variant({ vars: ['multilink_weights: { dsl: 2, cable: 5 }'] });
    expect((await cli('deploy', lab.inventory, '--limit', r.name)).code).toBe(0);
    const prior = state(0);
    const txns = join(r.stateDir, 'txn');
    const armed = (): boolean => existsSync(txns) && readdirSync(txns).some((id) => existsSync(join(txns, id, 'armed')));
    let killed = 0;
    const killer = (async () => {
      const until = Date.now() + 20_000;
      while (Date.now() < until && !armed()) await new Promise((ok) => setTimeout(ok, 2));
      for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
          if (ppid === r.sshdPid) {
            process.kill(Number(pid), 'SIGKILL');
            killed++;
          }
        } catch {
          // gone already
        }
      }
    })();
    const res = await cli('deploy', inv, '--limit', r.name, '--json', '--confirm-timeout', '8');
    await killer;
    expect(killed).toBeGreaterThan(0);
    const outcome = jsonHosts(res)[r.name].outcome;
    console.log(`ssh killed mid-apply (${killed} sshd session process(es)): ${outcome} - ${jsonHosts(res)[r.name].message}`);
    expect(['changed', 'rolled_back']).toContain(outcome);
    // Fully one or the other: in sync with the weights inventory, or byte-identical to before.
    await new Promise((ok) => setTimeout(ok, 9000));
    const inSync = (await cli('deploy', inv, '--limit', r.name, '--check')).code === 0;
    expect(inSync || state(0) === prior, `outcome ${outcome}: neither compiled nor prior`).toBe(true);
    const again = await cli('deploy', inv, '--limit', r.name, '--json');
    expect(again.code).toBe(0);
    expect((await cli('deploy', inv, '--limit', r.name, '--check')).code).toBe(0);
  }, 90_000);

  it('two deploys to one router at once: one proceeds, the other fails on the lock and changes nothing', async () => {
    const r = router(0);
    const a = variant({ vars: ['multilink_weights: { dsl: 1, cable: 7 }'] });
    const b = variant({ vars: ['multilink_weights: { dsl: 7, cable: 1 }'] });
    const [ra, rb] = await Promise.all([cli('deploy', a, '--limit', r.name, '--json'), cli('deploy', b, '--limit', r.name, '--json')]);
    const outcomes = [jsonHosts(ra)[r.name], jsonHosts(rb)[r.name]];
    expect(outcomes.map((h) => h.outcome).sort()).toEqual(['changed', 'failed']);
    const loser = outcomes.find((h) => h.outcome === 'failed')!;
    expect(loser.message).toMatch(/nothing was changed: (another deploy holds the lock|the router changed between gather and apply)/);
    const winner = outcomes[0].outcome === 'changed' ? a : b;
    expect((await cli('deploy', winner, '--limit', r.name, '--check')).code).toBe(0);
  });

  it('rollback to the previous generation restores it exactly; --generation picks one', async () => {
    const r = router(0);
    const one = variant({ vars: ['multilink_weights: { dsl: 3, cable: 1 }'] });
    const two = variant({ vars: ['multilink_weights: { dsl: 1, cable: 9 }'] });
    expect((await cli('deploy', one, '--limit', r.name)).code).toBe(0);
    const afterOne = state(0);
    const first = jsonHosts(await cli('deploy', two, '--limit', r.name, '--json'))[r.name] as unknown as { generation: number };
    expect(state(0)).not.toBe(afterOne);
    const back = await cli('rollback', lab.inventory, '--limit', r.name, '--json');
    expect(back.code, back.stdout).toBe(0);
    expect(jsonHosts(back)[r.name].message).toMatch(/^rollback to generation \d+: /);
    expect(state(0)).toBe(afterOne);
    const fwd = await cli('rollback', lab.inventory, '--limit', r.name, '--generation', String(first.generation), '--json');
    expect(fwd.code).toBe(0);
    expect((await cli('deploy', two, '--limit', r.name, '--check')).code).toBe(0);
    const none = await cli('rollback', lab.inventory, '--limit', r.name, '--generation', '999', '--json');
    expect(none.code).toBe(1);
    expect(jsonHosts(none)[r.name].message).toMatch(/no confirmed generation 999/);
    expect((await cli('rollback', lab.inventory)).code).toBe(1);
  });

  it('a simulated reboot restores the last confirmed generation through the boot hook', async () => {
    const r = router(0);
    const hook = join(lab.dir, 'r1-boot-hook');
    const inv = variant({ hosts: { [r.name]: `multilink_boot: ${hook}` }, vars: ['multilink_weights: { dsl: 4, cable: 1 }'] });
    expect((await cli('deploy', inv, '--limit', r.name)).code).toBe(0);
    expect(existsSync(hook)).toBe(true);
    const confirmed = state(0);
    // A reboot: the (guard-only) monitor stops, every ML_ chain, jump, ip rule, route and
    // sysctl of multilink is gone. Its pid leads its process group (setsid).
    const monitorPid = (): number => Number(readFileSync(join(r.stateDir, 'monitor', 'pid'), 'utf8').trim());
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const before = monitorPid();
    process.kill(-before, 'SIGKILL');
    for (let i = 0; i < 50 && alive(before); i++) await new Promise((ok) => setTimeout(ok, 100));
    expect(alive(before)).toBe(false);
    const ipt = `iptables-${r.iptables}`;
    const wipe = [
      ...['mangle', 'nat', 'raw'].map((t) => `${ipt}-save -t ${t} | awk '/^-A / && $2 !~ /^ML_/ && / -j ML_/ {sub(/^-A/, "-D"); print}' | while read -r l; do eval "${ipt} -t ${t} $l"; done; for c in $(${ipt}-save -t ${t} | sed -n 's/^:\\(ML_[^ ]*\\).*/\\1/p'); do ${ipt} -t ${t} -F $c; done; for c in $(${ipt}-save -t ${t} | sed -n 's/^:\\(ML_[^ ]*\\).*/\\1/p'); do ${ipt} -t ${t} -X $c; done`),
      'for p in 1000 1001 1002; do ip rule del priority $p 2>/dev/null; done',
      'for t in 101 102 103; do ip route flush table $t 2>/dev/null; done',
      'echo 0 > /proc/sys/net/ipv4/ip_forward',
      'for i in wan1 wan2 wan3; do echo 0 > /proc/sys/net/ipv4/conf/$i/rp_filter; done',
    ].join('\n');
    expect(inRouter(lab, r.name, 'sh', ['-c', wipe]).code).toBe(0);
    expect(state(0)).not.toBe(confirmed);
    expect(state(0)).not.toMatch(/ML_/);
    const boot = inRouter(lab, r.name, 'sh', [hook]);
    expect(boot.code, boot.stdout + boot.stderr).toBe(0);
    expect(state(0)).toBe(confirmed);
    // The boot hook started the monitor again.
    expect(monitorPid()).not.toBe(before);
    expect(alive(monitorPid())).toBe(true);
  });

  it('a deleted or edited boot hook is drift, and deploy installs it again', async () => {
    const r = router(0);
    const hook = join(lab.dir, 'r1-hook-drift');
    const inv = variant({ hosts: { [r.name]: `multilink_boot: ${hook}` } });
    expect((await cli('deploy', inv, '--limit', r.name)).code).toBe(0);
    const content = readFileSync(hook, 'utf8');
    expect((await cli('deploy', inv, '--limit', r.name, '--check')).code).toBe(0);
    rmSync(hook);
    const check = await cli('deploy', inv, '--limit', r.name, '--check', '--json');
    expect(check.code).toBe(2);
    expect(jsonHosts(check)[r.name].changes.map((c) => `${c.kind} ${c.op} ${c.object}`)).toEqual([`file create ${hook}`]);
    expect((await cli('drift', inv, '--limit', r.name)).code).toBe(2);
    writeFileSync(join(r.stateDir, 'boot.sh'), '#!/bin/sh\necho edited\n');
    const fix = await cli('deploy', inv, '--limit', r.name, '--json');
    expect(fix.code, fix.stdout).toBe(0);
    expect(jsonHosts(fix)[r.name].changes.map((c) => `${c.op} ${c.object}`).sort()).toEqual([`create ${hook}`, `update ${join(r.stateDir, 'boot.sh')}`].sort());
    expect(readFileSync(hook, 'utf8')).toBe(content);
    expect((await cli('drift', inv, '--limit', r.name)).code).toBe(0);
  });

  it('--serial 1 --max-fail-percentage 0 with a failing first router: the rest are skipped', async () => {
    const res = await cli('deploy', badGateway(router(0).name), '--json', '--serial', '1', '--max-fail-percentage', '0', '--confirm-timeout', '20');
    expect(res.code).toBe(1);
    const hosts = jsonHosts(res);
    expect(lab.routers.map((r) => hosts[r.name].outcome)).toEqual(['rolled_back', 'skipped', 'skipped']);
    expect(hosts[router(1).name].message).toMatch(/not started/);
  });

  it('a router whose sshd is stopped is unreachable; the rest proceed', async () => {
    const r = router(2);
    process.kill(r.sshdPid!, 'SIGTERM');
    await new Promise((ok) => setTimeout(ok, 300));
    const inv = variant({ vars: ['multilink_weights: { dsl: 5, cable: 2 }'] });
    const res = await cli('deploy', inv, '--json', '--connect-timeout', '3');
    expect(res.code).toBe(1);
    const hosts = jsonHosts(res);
    expect(lab.routers.map((x) => hosts[x.name].outcome)).toEqual(['changed', 'changed', 'unreachable']);
  });
});
