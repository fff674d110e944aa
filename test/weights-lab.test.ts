// Issue 4 acceptance for `weights` on a lab of real routers: only the named group's routers
// change, the inventory keeps its comments and unrelated lines, a TCP connection held open
// through a router keeps its conntrack mark and keeps transferring when its own link is
// drained, and a following check agrees with the file.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inRouter, labSupport, sh, startTestLab, stopTestLab } from './helpers/lab.js';
import { cli, jsonHosts } from './helpers/cli.js';
import type { LabInfo } from '../src/lab/lab.js';
import { labRunDir } from '../src/lab/lab-files.js';

const support = labSupport();
if (!support.ok) console.warn(`skipping weights lab tests: ${support.reason}`);

const SERVER = `require('net').createServer((s) => { s.on('error', () => {}); s.pipe(s); }).listen(5001, '0.0.0.0');
setTimeout(() => process.exit(0), 60000);`;
// Sends a line every 50 ms and prints how many echoes came back, until told to stop or 45 s pass.
const CLIENT = `const s = require('net').connect(5001, '100.64.3.1');
let echoed = 0;
s.on('data', (d) => { echoed += d.toString().split('\\n').length - 1; });
s.on('error', (e) => { console.log('ERROR ' + e.message); process.exit(1); });
s.on('connect', () => console.log('CONNECTED'));
setInterval(() => { s.write('ping\\n'); console.log('ECHOED ' + echoed); }, 50);
setTimeout(() => process.exit(0), 45000);`;

describe.skipIf(!support.ok)('weights on a lab (groups east: r1 r2, west: r3)', () => {
  let lab: LabInfo;
  let inv: string;
  const procs: ChildProcess[] = [];

  function inventoryText(): string {
    const host = (i: number) => {
      const r = lab.routers[i];
      return `            ${r.name}: { ansible_host: ${r.mgmtAddress}, multilink_firewall: iptables, multilink_iptables: ${r.iptables}, multilink_state_dir: ${r.stateDir}, multilink_run_dir: ${labRunDir(r)} }`;
    };
    return [
      '# weights test inventory: this comment must survive',
      'all:',
      '  vars:',
      '    ansible_user: root',
      `    ansible_ssh_private_key_file: ${lab.privateKey}`,
      `    multilink_known_hosts: ${lab.knownHosts}   # the lab's own host keys`,
      `    multilink_playbooks: [${lab.playbook}]`,
      '    multilink_boot: none',
      '  children:',
      '    lab:',
      '      children:',
      '        east:',
      '          # two routers in the east',
      '          hosts:',
      host(0),
      host(1),
      '        west:',
      '          hosts:',
      host(2),
      '',
    ].join('\n');
  }

  const balance = (i: number) => {
    const r = lab.routers[i];
    return inRouter(lab, r.name, `iptables-${r.iptables}-save`, ['-t', 'mangle']).stdout.split('\n').filter((l) => l.startsWith('-A ML_BALANCE')).join('\n');
  };

  beforeAll(async () => {
    lab = await startTestLab(3);
    inv = join(lab.dir, 'weights-inventory.yaml');
    writeFileSync(inv, inventoryText());
    const first = await cli('deploy', inv);
    expect(first.code, first.stdout + first.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    for (const p of procs) if (p.pid && p.exitCode === null) p.kill('SIGKILL');
    if (lab) await stopTestLab(lab);
  });

  it('drains the link of an open connection on group east only; the connection keeps its mark and keeps transferring', async () => {
    // A client on r1's LAN, a server upstream: the connection is forwarded and balanced by r1.
    expect(sh('ip', ['-n', lab.lanNamespace, 'addr', 'add', '192.0.2.10/24', 'dev', lab.routers[0].name]).code).toBe(0);
    expect(sh('ip', ['-n', lab.lanNamespace, 'route', 'add', 'default', 'via', '192.0.2.1']).code).toBe(0);
    const server = spawn('ip', ['netns', 'exec', lab.upstreamNamespace, process.execPath, '-e', SERVER], { stdio: 'ignore' });
    procs.push(server);
    await new Promise((ok) => setTimeout(ok, 500));
    const client = spawn('ip', ['netns', 'exec', lab.lanNamespace, process.execPath, '-e', CLIENT], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(client);
    let out = '';
    client.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const echoed = () => Number(/ECHOED (\d+)\n(?![\s\S]*ECHOED)/.exec(out)?.[1] ?? 0);
    await new Promise((ok) => setTimeout(ok, 1500));
    expect(out).toContain('CONNECTED');
    expect(echoed()).toBeGreaterThan(5);

    const ct = () => inRouter(lab, lab.routers[0].name, 'conntrack', ['-L', '-p', 'tcp', '--dport', '5001']).stdout.trim();
    const mark = /mark=(\d+)/.exec(ct())?.[1];
    expect(mark, ct()).toBeDefined();
    const link = { 256: 'dsl', 512: 'cable' }[Number(mark)] as string;
    expect(link).toBeDefined();

    const textBefore = readFileSync(inv, 'utf8');
    const westBefore = balance(2);
    const eastBefore = balance(0);
    const res = await cli('weights', inv, `${link}=0`, '--limit', 'east', '--json');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const hosts = jsonHosts(res);
    expect(Object.keys(hosts).sort()).toEqual([lab.routers[0].name, lab.routers[1].name]);
    for (const h of Object.values(hosts)) {
      expect(h.outcome).toBe('changed');
      expect(h.changes.map((c) => c.object)).toEqual(['mangle ML_BALANCE']);
    }
    expect(balance(0)).not.toBe(eastBefore);
    expect(balance(2)).toBe(westBefore);

    // The file: only a vars block for east was added; every other line, comments included, is as it was.
    const textAfter = readFileSync(inv, 'utf8');
    const r2line = inventoryText().split('\n').find((l) => l.includes(`${lab.routers[1].name}: {`))!;
    expect(textAfter).toBe(textBefore.replace(`${r2line}\n`, `${r2line}\n          vars:\n            multilink_weights: { ${link}: 0 }\n`));

    // The held connection: same mark, still echoing.
    const before = echoed();
    await new Promise((ok) => setTimeout(ok, 1500));
    expect(out).not.toContain('ERROR');
    expect(echoed()).toBeGreaterThan(before + 10);
    expect(/mark=(\d+)/.exec(ct())?.[1]).toBe(mark);

    // The inventory now agrees with the routers.
    const check = await cli('deploy', inv, '--check');
    expect(check.code, check.stdout).toBe(0);
  });

  it('--no-write applies without editing the file, so a check then shows the difference', async () => {
    const text = readFileSync(inv, 'utf8');
    const res = await cli('weights', inv, 'dsl=5', '--limit', 'west', '--no-write', '--json');
    expect(res.code).toBe(0);
    expect(Object.keys(jsonHosts(res))).toEqual([lab.routers[2].name]);
    expect(readFileSync(inv, 'utf8')).toBe(text);
    const check = await cli('deploy', inv, '--check');
    expect(check.code).toBe(2);
    expect(check.stdout).toMatch(new RegExp(`${lab.routers[2].name}: would_change`));
    expect((await cli('deploy', inv)).code).toBe(0);
  });

  it('refuses an unknown link, all-zero weights and a host with other drift, changing nothing', async () => {
    const text = readFileSync(inv, 'utf8');
    expect((await cli('weights', inv, 'nope=1')).code).toBe(1);
    expect((await cli('weights', inv, 'dsl=0', 'cable=0', 'lte=0')).code).toBe(1);
    expect(readFileSync(inv, 'utf8')).toBe(text);
    const r = lab.routers[2];
    expect(inRouter(lab, r.name, 'ip', ['rule', 'del', 'priority', '1001']).code).toBe(0);
    const res = await cli('weights', inv, 'cable=4', '--limit', r.name, '--no-write', '--json');
    expect(res.code).toBe(1);
    expect(jsonHosts(res)[r.name].message).toMatch(/besides its balancing chain this host differs .*rule rule 1001.*run deploy/);
    expect((await cli('deploy', inv)).code).toBe(0);
  });
});
