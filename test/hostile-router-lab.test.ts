// Issue 24: a router can no longer stall the controller. Beside a lab of three real routers,
// two hostile ones (test/helpers/hostile-router.mjs, in r3's namespace): one sends 64 MB
// without a prompt, one is a real router whose `ip rule` output carries a 1 MB line of blanks
// (the old parser's regex took minutes on it). Each fails alone, with a clear message, while
// the real routers deploy, confirm over a new connection and check in sync as usual.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import type { LabInfo } from '../src/lab/lab.js';
import { cli, jsonHosts } from './helpers/cli.js';
import { labSupport, sh, startTestLab, stopTestLab } from './helpers/lab.js';

const support = labSupport();
if (!support.ok) console.warn(`skipping hostile router tests: ${support.reason}`);

const HOSTILE = fileURLToPath(new URL('./helpers/hostile-router.mjs', import.meta.url));
const PORTS = { flood: 2222, rule: 2223 } as const;

interface InventoryDoc {
  all: { children: { lab: { vars: Record<string, unknown>; hosts: Record<string, Record<string, unknown>> } } };
}

function waitListening(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`hostile router did not start: ${out}`)), 10_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => reject(new Error(`hostile router exited ${code}: ${out}`)));
  });
}

/** The real routers beside the hostile ones: 3 in CI; MULTILINK_HOSTILE_FLEET=20 is the figure. */
const FLEET = Number(process.env.MULTILINK_HOSTILE_FLEET ?? 3);

describe.skipIf(!support.ok)('routers that flood the controller, beside a fleet that confirms', () => {
  let lab: LabInfo;
  let dir: string;
  let inventory: string;
  const hostile: ChildProcess[] = [];

  beforeAll(async () => {
    lab = await startTestLab(FLEET);
    dir = mkdtempSync(join(tmpdir(), 'multilink-flood-'));
    const key = join(dir, 'hostile_key');
    expect(sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]).code).toBe(0);
    const r3 = lab.routers[2];
    for (const [mode, port] of Object.entries(PORTS)) {
      const child = spawn('ip', ['netns', 'exec', r3.namespace, process.execPath, HOSTILE, r3.mgmtAddress, String(port), key, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
      hostile.push(child);
      await waitListening(child);
    }
    const [type, blob] = readFileSync(`${key}.pub`, 'utf8').trim().split(/\s+/);
    const known = join(dir, 'known_hosts');
    writeFileSync(known, readFileSync(lab.knownHosts, 'utf8') + Object.values(PORTS).map((p) => `[${r3.mgmtAddress}]:${p} ${type} ${blob}\n`).join(''));
    const doc = parseYaml(readFileSync(lab.inventory, 'utf8')) as InventoryDoc;
    const group = doc.all.children.lab;
    group.vars.multilink_known_hosts = known;
    for (const [name, port] of Object.entries(PORTS)) {
      const state = join(dir, `${name}-state`);
      group.hosts[name] = { ...group.hosts.r3, ansible_port: port, multilink_state_dir: state, multilink_run_dir: join(state, 'run') };
    }
    inventory = join(dir, 'inventory.yaml');
    writeFileSync(inventory, stringify(doc));
  }, 120_000);

  afterAll(async () => {
    for (const child of hostile) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (lab) await stopTestLab(lab);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('deploy: the flooding and the long-line router fail alone; the others change and confirm', async () => {
    const started = Date.now();
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const res = await cli('deploy', inventory, '--json', '--confirm-timeout', '30');
    loop.disable();
    console.log(`deploy beside hostile routers: ${Date.now() - started} ms, event loop delay max ${(loop.max / 1e6).toFixed(0)} ms`);
    const hosts = jsonHosts(res);
    expect(res.code, res.stderr).toBe(1);
    for (const r of lab.routers.map((x) => x.name)) expect(hosts[r].outcome, `${r}: ${hosts[r].message ?? ''}`).toBe('changed');
    expect(hosts.flood.outcome).toBe('failed');
    expect(hosts.flood.message).toMatch(/nothing was changed: .*router sent more than 32 MB for `.*`: stopped reading it/);
    expect(hosts.rule.outcome).toBe('failed');
    expect(hosts.rule.message).toMatch(/`ip rule show`: line \d+ is 10486\d\d characters long \(at most 4096 are read\)/);
    // Generous bounds: before, the event loop stood still for 4-6 s at a time (the prompt search
    // re-read the whole flood on every chunk) and routers rolled back; the regex took minutes.
    expect(loop.max / 1e6).toBeLessThan(2000);
    expect(Date.now() - started).toBeLessThan(60_000);
  }, 120_000);

  it('drift: the same two cannot be checked, the others are in sync', async () => {
    const res = await cli('drift', inventory, '--json');
    const doc = JSON.parse(res.stdout) as { hosts: { host: string; status: string; message?: string }[] };
    const by = Object.fromEntries(doc.hosts.map((h) => [h.host, h]));
    expect(res.code).toBe(1);
    for (const r of lab.routers.map((x) => x.name)) expect(by[r].status, JSON.stringify(by[r])).toBe('in_sync');
    expect(by.flood.status).toBe('error');
    expect(JSON.stringify(by.flood)).toMatch(/router sent more than 32 MB/);
    expect(by.rule.status).toBe('error');
    expect(JSON.stringify(by.rule)).toMatch(/line \d+ is 10486\d\d characters long/);
  }, 120_000);
});
