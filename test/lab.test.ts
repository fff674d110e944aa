// The lab against the real kernel and real sshd: addresses, SSH with strict host keys,
// netfilter per router, uplink gateways, and teardown that leaves nothing behind.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { labDown, labUp, readLab, type LabInfo } from '../src/lab/lab.js';
import { inRouter, labSsh, labSupport, reserveTestLab, sh, startTestLab, stopTestLab } from './helpers/lab.js';

const support = labSupport();
if (!support.ok) console.warn('skipping lab tests: ' + support.reason);

function namespaces(): string[] {
  return sh('ip', ['netns', 'list']).stdout.split('\n').map((l) => l.split(' ')[0]).filter(Boolean);
}

function hostLinks(): string[] {
  return sh('ip', ['-o', 'link', 'show']).stdout.split('\n').map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? '').filter(Boolean);
}

function ofPrefix(prefix: string, names: string[]): string[] {
  return names.filter((n) => n.startsWith(`${prefix}-`));
}

function running(pid: number): boolean {
  try {
    return !/^State:\s+[ZX]/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** `ip -br addr` → interface → its addresses. */
function briefAddresses(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of text.trim().split('\n')) {
    const [name, , ...addrs] = line.trim().split(/\s+/);
    if (name) map.set(name.split('@')[0], addrs);
  }
  return map;
}

function iptablesSave(ns: string | undefined, flavour: 'nft' | 'legacy'): string {
  const cmd = `iptables-${flavour}-save`;
  const r = ns ? sh('ip', ['netns', 'exec', ns, cmd]) : sh(cmd, []);
  return r.stdout;
}

describe.skipIf(!support.ok)('lab of 3 routers', () => {
  let lab: LabInfo;

  beforeAll(async () => {
    lab = await startTestLab(3);
  });

  afterAll(async () => {
    if (lab) await stopTestLab(lab);
  });

  it('records every router, namespace and process in lab.json', () => {
    const read = readLab(lab.dir);
    expect(read?.status).toBe('up');
    expect(read?.routers.map((r) => r.name)).toEqual(['r1', 'r2', 'r3']);
    expect(read?.namespaces.every((n) => n.created)).toBe(true);
    expect(read?.namespaces.map((n) => n.name).sort()).toEqual(
      [`${lab.prefix}-sw`, `${lab.prefix}-up`, `${lab.prefix}-lan`, `${lab.prefix}-r1`, `${lab.prefix}-r2`, `${lab.prefix}-r3`].sort(),
    );
    expect(read?.hostLinks).toEqual([{ name: `${lab.prefix}-mgmt`, created: true }]);
    expect(read?.processes).toHaveLength(3);
    expect(sh('ip', ['-4', '-br', 'addr', 'show', 'dev', lab.hostLink]).stdout).toContain(`${lab.hostAddress}/24`);
  });

  it('every router answers SSH with a verified host key and has its addresses', () => {
    for (const [i, r] of lab.routers.entries()) {
      const res = labSsh(lab, r.name, 'ip -br addr; ip route show default');
      expect(res.stderr).not.toMatch(/Permission denied|Host key verification failed/);
      expect(res.code).toBe(0);
      const addrs = briefAddresses(res.stdout.split('\n').filter((l) => !l.startsWith('default')).join('\n'));
      const host = 11 + i;
      expect(addrs.get('mgmt0')).toContain(`198.18.${lab.subnet}.${host}/24`);
      expect(addrs.get('mgmt0')).toContain(`${r.mgmtAddress}/24`);
      for (const k of [1, 2, 3]) expect(addrs.get(`wan${k}`)).toContain(`100.64.${k}.${host}/24`);
      expect(addrs.get('lan0')).toContain('192.0.2.1/24');
      expect(res.stdout).toMatch(/^default via 100\.64\.1\.1 dev wan1/m);
    }
  });

  it('refuses a router whose host key does not match known_hosts', () => {
    const [r1, r2] = lab.routers;
    // r2's key filed under r1's address: the client must refuse, never accept or replace it.
    const r2Key = readFileSync(lab.knownHosts, 'utf8').split('\n').find((l) => l.startsWith(`${r2.mgmtAddress} `)) ?? '';
    const tmp = mkdtempSync(join(tmpdir(), 'multilink-kh-'));
    try {
      const wrong = join(tmp, 'known_hosts');
      writeFileSync(wrong, r2Key.replace(r2.mgmtAddress, r1.mgmtAddress) + '\n');
      const res = sh('ssh', [
        '-F', '/dev/null', '-i', lab.privateKey,
        '-o', `UserKnownHostsFile=${wrong}`, '-o', 'GlobalKnownHostsFile=/dev/null',
        '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5',
        `root@${r1.mgmtAddress}`, 'true',
      ]);
      expect(res.code).toBe(255);
      expect(res.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('gives each router its own netfilter tables', () => {
    const [r1, r2] = lab.routers;
    const rule = ['-t', 'mangle', 'PREROUTING', '-s', '203.0.113.77/32', '-j', 'RETURN'];
    const [table, , chain, ...rest] = rule;
    const add = inRouter(lab, 'r1', 'iptables-nft', [table, rule[1], '-A', chain, ...rest]);
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    try {
      expect(iptablesSave(r1.namespace, 'nft')).toContain('-A PREROUTING -s 203.0.113.77/32 -j RETURN');
      for (const flavour of ['nft', 'legacy'] as const) {
        expect(iptablesSave(r2.namespace, flavour)).not.toContain('203.0.113.77');
        expect(iptablesSave(undefined, flavour)).not.toContain('203.0.113.77');
      }
    } finally {
      expect(inRouter(lab, 'r1', 'iptables-nft', [table, rule[1], '-D', chain, ...rest]).code).toBe(0);
    }
    expect(iptablesSave(r1.namespace, 'nft')).not.toContain('203.0.113.77');
  });

  it('reaches the three uplink gateways from every router', () => {
    for (const r of lab.routers) {
      for (const gw of lab.gateways) {
        const res = inRouter(lab, r.name, 'ping', ['-c', '1', '-W', '1', gw]);
        expect(res.code, `${r.name} → ${gw}: ${res.stdout}${res.stderr}`).toBe(0);
      }
    }
  });

  it('writes an inventory, known_hosts and playbook that describe the lab', () => {
    const inv = parseYaml(readFileSync(lab.inventory, 'utf8')) as {
      all: { children: { lab: { vars: Record<string, unknown>; hosts: Record<string, Record<string, unknown>> } } };
    };
    const group = inv.all.children.lab;
    expect(group.vars).toMatchObject({
      ansible_user: 'root',
      ansible_ssh_private_key_file: lab.privateKey,
      multilink_known_hosts: lab.knownHosts,
      multilink_playbooks: [lab.playbook],
      multilink_boot: 'none',
    });
    expect(Object.keys(group.hosts)).toEqual(['r1', 'r2', 'r3']);
    expect(group.hosts.r1).toEqual({ ansible_host: lab.routers[0].mgmtAddress, multilink_firewall: 'iptables', multilink_iptables: 'nft', multilink_state_dir: `${lab.dir}/r1/state`, multilink_run_dir: `${lab.dir}/r1/state/run` });
    expect(group.hosts.r2.multilink_iptables).toBe('legacy');
    expect(group.hosts.r3.multilink_iptables).toBe('nft');
    const known = readFileSync(lab.knownHosts, 'utf8').trim().split('\n');
    expect(known.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(lab.routers.map((r) => `${r.mgmtAddress} ssh-ed25519`));
    const play = parseYaml(readFileSync(lab.playbook, 'utf8')) as { links: { name: string }[] }[];
    expect(play[0].links.map((l) => l.name)).toEqual(['dsl', 'cable', 'lte']);
  });

  it('refuses a second lab on the same folder, prefix or subnet, creating nothing', async () => {
    const other = await reserveTestLab();
    const before = namespaces();
    await expect(labUp({ dir: lab.dir, prefix: other.prefix, subnet: other.subnet, routers: 1 })).rejects.toThrow(/a lab already uses .*lab down/);
    await expect(labUp({ dir: other.dir, prefix: lab.prefix, subnet: other.subnet, routers: 1 })).rejects.toThrow(
      new RegExp(`a lab already uses prefix ${lab.prefix}.*lab down`),
    );
    await expect(labUp({ dir: other.dir, prefix: other.prefix, subnet: lab.subnet, routers: 1 })).rejects.toThrow(
      new RegExp(`a lab already uses 198\\.18\\.${lab.subnet}\\.0/24.*lab down`),
    );
    expect(namespaces().sort()).toEqual(before.sort());
    expect(readdirSync(other.dir)).toEqual([]);
    expect(readLab(lab.dir)?.status).toBe('up');
  });

  it('labDown removes every namespace, link and process it created, and only those', async () => {
    const r1 = lab.routers[0];
    // A process started inside a router (as an SSH session or a link monitor would be).
    const stray = spawn('ip', ['netns', 'exec', r1.namespace, 'sleep', '600'], { detached: true, stdio: 'ignore' });
    stray.unref();
    const strayPid = stray.pid ?? 0;
    const recorded = readLab(lab.dir);
    expect(recorded).toBeDefined();
    const pids = recorded?.processes.map((p) => p.pid) ?? [];
    for (const pid of pids) expect(running(pid)).toBe(true);
    for (let i = 0; i < 50 && !running(strayPid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(running(strayPid)).toBe(true);
    // A namespace that is not the lab's although its name is close (other labs on this machine
    // come and go on their own, so they prove nothing here).
    const bystander = `${lab.prefix}keep`;
    expect(sh('ip', ['netns', 'add', bystander]).code).toBe(0);

    await labDown({ dir: lab.dir });

    expect(ofPrefix(lab.prefix, namespaces())).toEqual([]);
    expect(hostLinks()).not.toContain(lab.hostLink);
    for (const pid of [...pids, strayPid]) expect(running(pid), `pid ${pid}`).toBe(false);
    expect(sh('ip', ['-4', '-o', 'addr', 'show']).stdout).not.toContain(`${lab.hostAddress}/24`);
    expect(existsSync(lab.dir) ? readdirSync(lab.dir) : []).toEqual([]);
    // Namespaces of anyone else are untouched.
    expect(namespaces()).toContain(bystander);
    sh('ip', ['netns', 'del', bystander]);
    // Idempotent: a second down finds nothing to do.
    await expect(labDown({ dir: lab.dir })).resolves.toBeUndefined();
  });
});

describe.skipIf(!support.ok)('lab up failing midway', () => {
  it('leaves nothing behind after a namespace name clash, and keeps the other namespace', async () => {
    const opts = await reserveTestLab();
    const clash = `${opts.prefix}-r2`;
    try {
      await expect(
        labUp({
          ...opts,
          routers: 3,
          // Someone takes r2's name after the checks passed and before the lab creates it.
          onStep: (step) => {
            if (step === 'namespaces') sh('ip', ['netns', 'add', clash]);
          },
        }),
      ).rejects.toThrow(new RegExp(`${clash}.*lab down`));
      expect(ofPrefix(opts.prefix, namespaces())).toEqual([clash]);
      expect(hostLinks()).not.toContain(`${opts.prefix}-mgmt`);
      expect(readdirSync(opts.dir)).toEqual([]);
    } finally {
      sh('ip', ['netns', 'del', clash]);
    }
    expect(ofPrefix(opts.prefix, namespaces())).toEqual([]);
  });

  it('leaves nothing behind when it fails after the sshd servers started', async () => {
    const opts = await reserveTestLab();
    let seen: LabInfo | undefined;
    await expect(
      labUp({
        ...opts,
        routers: 3,
        onStep: (step) => {
          if (step !== 'ready') return;
          seen = readLab(opts.dir);
          throw new Error('injected failure');
        },
      }),
    ).rejects.toThrow('injected failure');
    expect(seen?.processes).toHaveLength(3);
    for (const p of seen?.processes ?? []) expect(running(p.pid)).toBe(false);
    expect(ofPrefix(opts.prefix, namespaces())).toEqual([]);
    expect(hostLinks()).not.toContain(`${opts.prefix}-mgmt`);
    expect(readdirSync(opts.dir)).toEqual([]);
  });
});

describe.skipIf(!support.ok)('lab of 100 routers', () => {
  it('comes up with every sshd answering, reaches its gateways, and goes away completely', async () => {
    const started = Date.now();
    const lab = await startTestLab(100);
    const upMs = Date.now() - started;
    try {
      expect(lab.processes).toHaveLength(100);
      for (const p of lab.processes) expect(running(p.pid)).toBe(true);
      const last = lab.routers[99];
      expect(last.mgmtAddress).toBe(`198.18.${lab.subnet}.110`);
      const res = labSsh(lab, 'r100', 'ip -br addr show mgmt0; ip -br addr show wan3');
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toContain(`${last.mgmtAddress}/24`);
      expect(res.stdout).toContain('100.64.3.110/24');
      for (const gw of lab.gateways) expect(inRouter(lab, 'r100', 'ping', ['-c', '1', '-W', '1', gw]).code).toBe(0);
    } finally {
      const down = Date.now();
      await stopTestLab(lab);
      console.info(`lab of 100 routers: up ${upMs} ms, down ${Date.now() - down} ms`);
    }
    expect(ofPrefix(lab.prefix, namespaces())).toEqual([]);
    expect(hostLinks()).not.toContain(lab.hostLink);
    for (const p of lab.processes) expect(running(p.pid)).toBe(false);
  });
});
