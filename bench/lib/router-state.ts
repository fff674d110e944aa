// The state of a lab router that either tool touches, read and reset from the host through
// `ip netns exec` (never over SSH, never timed): so every "first run" starts on a pristine
// router, and the Ansible job can be checked to leave the same state as multilink.
import { rmSync } from 'node:fs';
import type { LabInfo, LabRouter } from '../../src/lab/lab.js';
import { runPool } from '../../src/util/pool.js';
import { must } from './proc.js';
import type { RenderedHost } from './render-parse.js';

const PARALLEL = 8;

function inRouter(r: LabRouter, script: string): Promise<string> {
  return must('ip', ['netns', 'exec', r.namespace, 'sh', '-c', script]);
}

/** A sysctl key as render prints it (a /proc/sys path: net/ipv4/ip_forward) to its file. */
function sysctlPath(key: string): string {
  return `/proc/sys/${key}`;
}

/** iptables-save, ip rules, the job's route tables and sysctls; counters and comments dropped. */
export async function fingerprint(r: LabRouter, job: RenderedHost): Promise<string> {
  const script = [
    `iptables-${r.iptables}-save | sed -e '/^#/d' -e 's/\\[[0-9]*:[0-9]*\\]$/[0:0]/'`,
    'echo @@nft; nft -s list table inet multilink 2>/dev/null || true',
    'echo @@rules; ip -4 rule show',
    ...job.routes.map((x) => `echo @@route ${x.table}; ip -4 route show table ${x.table} 2>/dev/null || true`),
    ...job.sysctls.map((s) => `echo @@sysctl ${s.key}; cat ${sysctlPath(s.key)}`),
  ].join('\n');
  return canonical(await inRouter(r, script));
}

/**
 * Tables sorted by name, chain declarations sorted, rules grouped by chain (in-chain order
 * kept), and a table holding only empty built-in chains with policy ACCEPT left out, as if
 * it were not loaded: iptables lists tables and chains in an order that depends on history,
 * and restoring a table creates it.
 */
function canonical(text: string): string {
  const blocks: Array<{ name: string; lines: string[] }> = [];
  const rest: string[] = [];
  let cur: { name: string; decls: string[]; rules: string[] } | undefined;
  const chain = (l: string): string => l.split(' ')[1];
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) cur = { name: line, decls: [], rules: [] };
    else if (cur && line.startsWith(':')) cur.decls.push(line);
    else if (cur && line.startsWith('-A ')) cur.rules.push(line);
    else if (cur && line === 'COMMIT') {
      const untouched = cur.rules.length === 0 && cur.decls.every((d) => /^:[A-Z]+ ACCEPT \[0:0\]$/.test(d));
      const rules = cur.rules.map((l, i) => ({ l, i })).sort((a, b) => chain(a.l).localeCompare(chain(b.l)) || a.i - b.i).map((x) => x.l);
      if (!untouched) blocks.push({ name: cur.name, lines: [cur.name, ...cur.decls.sort(), ...rules, 'COMMIT'] });
      cur = undefined;
    } else if (!cur) rest.push(line);
  }
  blocks.sort((a, b) => a.name.localeCompare(b.name));
  return [...blocks.flatMap((b) => b.lines), ...rest].join('\n');
}

export async function fingerprints(lab: LabInfo, job: RenderedHost): Promise<string[]> {
  return runPool(lab.routers, PARALLEL, (r) => fingerprint(r, job));
}

/** Removes what either tool made: ML_ chains and jumps, the job's rules and routes, sysctls back to pristine, state folder. */
export async function resetRouters(lab: LabInfo, job: RenderedHost, pristine: readonly string[]): Promise<void> {
  await runPool(lab.routers, PARALLEL, async (r, i) => {
    const before = pristineSysctls(pristine[i]);
    const script = [
      'set -e',
      ...['mangle', 'nat', 'raw'].map((t) => `iptables-${r.iptables}-save -t ${t} | grep -v ML_ | iptables-${r.iptables}-restore`),
      'nft delete table inet multilink 2>/dev/null || true',
      ...job.rules.map((x) => `while ip -4 rule del priority ${x.priority} 2>/dev/null; do :; done`),
      ...job.routes.map((x) => `ip -4 route flush table ${x.table} 2>/dev/null || true`),
      ...job.sysctls.map((s) => `echo ${before.get(s.key) ?? '0'} > ${sysctlPath(s.key)}`),
    ].join('\n');
    await inRouter(r, script);
    rmSync(r.stateDir, { recursive: true, force: true });
  });
  const now = await fingerprints(lab, job);
  const off = lab.routers.filter((_, i) => now[i] !== pristine[i]).map((r) => r.name);
  if (off.length > 0) throw new Error(`reset left router(s) ${off.join(', ')} different from their pristine state`);
}

function pristineSysctls(fp: string): Map<string, string> {
  const m = new Map<string, string>();
  const lines = fp.split('\n');
  for (let i = 0; i < lines.length - 1; i++) {
    const h = /^@@sysctl (\S+)$/.exec(lines[i]);
    if (h) m.set(h[1], lines[i + 1].trim());
  }
  return m;
}
