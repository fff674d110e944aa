// What the status script prints on a router of the test plays' shape (three links on
// wan1..wan3, marks 0x100..0x300), built from recorded iptables-save -c output; a project of
// that play and the status command run in-process.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli.js';
import type { Transport } from '../../src/transport/transport.js';
import { hermeticWorld } from './ansible-world.js';

export const fixture = (name: string): string => readFileSync(new URL(`../fixtures/status/${name}`, import.meta.url), 'utf8');

/** A reply section: marker, body, exit code. */
export const sec = (name: string, body: string, rc = 0): string => `@@ML ${name}\n${body}${body && !body.endsWith('\n') ? '\n' : ''}@@ML-rc ${rc}`;

/** What the status script prints on a router of this lab's shape, from recorded counters. */
export function statusOutput(opts: { mangle?: string; mangle6?: string; conntrack?: Record<string, string>; operstate?: Record<string, string>; monitor?: string; history?: string; counters?: string; adaptive?: string } = {}): string {
  const ct = opts.conntrack ?? { '0x100': '6', '0x200': '21', '0x300': '33' };
  const state = opts.operstate ?? { wan1: 'up', wan2: 'up', wan3: 'down' };
  return [
    sec('counters', opts.counters ?? COUNTERS),
    sec('flavour', 'legacy'),
    sec('iptables-counters mangle', opts.mangle ?? fixture('three-links-random.legacy.counters.save').replace(/^#.*\n/gm, '')),
    ...(opts.mangle6 !== undefined ? [sec('ip6tables-counters mangle', opts.mangle6)] : []),
    ...Object.entries(ct).map(([m, n]) => sec(`conntrack ${m}`, /^\d+$/.test(n) ? `conntrack v1.4.7 (conntrack-tools): ${n} flow entries have been shown.` : n, /^\d+$/.test(n) || n === '@@ML-absent' ? 0 : 1)),
    ...Object.entries(state).map(([i, s]) => sec(`operstate ${i}`, s)),
    sec('monitor-state', opts.monitor ?? '@@ML-absent'),
    sec('monitor-history', opts.history ?? '@@ML-absent'),
    ...(opts.adaptive !== undefined ? [sec('monitor-adaptive', opts.adaptive)] : []),
  ].join('\n') + '\n';
}

/**
 * ip6tables-save -c's mangle (comments dropped, as ml_save_counters6 prints it) on a router of
 * the dual-stack shape: dsl (wan1) and cable (wan2) with a gateway6, lte without, weights 1:2.
 * Hand-built in the shape ip6tables 1.8.9 prints, with the IPv6 ML_BALANCE and ML_ACCT that
 * compileHost gives that play (the chains status reads; the marking chains left out): 30 new
 * IPv6 connections, 12 to dsl and 18 to cable, each sending one 80-byte packet.
 */
export const MANGLE6 = [
  '*mangle',
  ':PREROUTING ACCEPT [0:0]',
  ':INPUT ACCEPT [0:0]',
  ':FORWARD ACCEPT [0:0]',
  ':OUTPUT ACCEPT [30:2400]',
  ':POSTROUTING ACCEPT [30:2400]',
  ':ML_ACCT - [0:0]',
  ':ML_BALANCE - [0:0]',
  '[30:2400] -A POSTROUTING -j ML_ACCT',
  '[12:960] -A ML_ACCT -o wan1',
  '[18:1440] -A ML_ACCT -o wan2',
  '[12:960] -A ML_BALANCE -m mark --mark 0x0/0xff00 -m statistic --mode random --probability 0.33333333349 -j MARK --set-xmark 0x100/0xff00',
  '[18:1440] -A ML_BALANCE -m mark --mark 0x0/0xff00 -j MARK --set-xmark 0x200/0xff00',
  'COMMIT',
  '',
].join('\n');

/** /proc/uptime and the interfaces' rx/tx bytes and packets, as the counters section prints them. */
export const COUNTERS = '5127.43 10011.62\nwan1 1500000 250000 1100 900 \nwan2 3000000 500000 2200 1800 \nwan3 \n';


/** A project of the three-link play for the given routers, in a temp folder: its inventory, and removal. */
export function statusProject(routers: string[]): { inventory: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'multilink-status-'));
  writeFileSync(
    join(dir, 'playbook.yaml'),
    [
      '- name: three links',
      '  hosts: all',
      '  balance: { method: random, traffic: [local], lan: [] }',
      '  links:',
      '    - { name: dsl, interface: wan1, gateway: 100.64.1.1, weight: 1 }',
      '    - { name: cable, interface: wan2, gateway: 100.64.2.1, weight: 2 }',
      '    - { name: lte, interface: wan3, gateway: 100.64.3.1, weight: 3 }',
      '',
    ].join('\n'),
  );
  const hosts = routers.map((r, i) => `    ${r}: { ansible_host: 203.0.113.${10 + i} }\n`).join('');
  writeFileSync(join(dir, 'inventory.yaml'), `all:\n  vars:\n    multilink_playbooks: [playbook.yaml]\n  hosts:\n${hosts}`);
  return { inventory: join(dir, 'inventory.yaml'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `multilink status INVENTORY ARGS…` in-process over the given transport, output captured. */
export async function runStatus(inventory: string, transport: Transport, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(['node', 'multilink', 'status', inventory, ...args], { out: (t) => (stdout += `${t}\n`), err: (t) => (stderr += `${t}\n`) }, () => transport, undefined, hermeticWorld());
  return { code, stdout, stderr };
}
