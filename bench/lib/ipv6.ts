// The IPv6 side of bench/dataplane (`--ipv6`, issue 18): r1's ip6tables balance counters,
// the link of each IPv6 connection (conntrack -f ipv6), the monitor's per-family state,
// probes to the server's IPv6 address from a second client address, and the payload
// ceiling a shaped Ethernet wire leaves to TCP in each family.
import { readFileSync } from 'node:fs';
import { parseMonitorState } from '../../src/facts/monitor.js';
import { RunLayout } from '../../src/shell/layout.js';
import { labRunDir } from '../../src/lab/lab-files.js';
import { CLIENT_INTERFACE, SERVER_ADDRESS6 } from '../../src/lab/dataplane-plan.js';
import { balanceCounters, connectionLinksFromList, linkMarks, type ProbeAttempt } from '../../src/lab/dataplane-traffic.js';
import { backgroundProgram, inNamespace, type Background } from '../../src/lab/lab-process.js';
import type { LabInfo } from '../../src/lab/lab.js';
import { ipBatchOrThrow, run } from '../../src/lab/run.js';

export type Family = 4 | 6;

/** New connections each link has received in one family, from r1's ML_BALANCE rule counters. */
export async function balanceCountersOf(lab: LabInfo, family: Family): Promise<Map<string, number>> {
  return balanceCounters(lab, family);
}

/** The marks r1's ML_BALANCE of one family can set now (the links in its balance). */
export async function balanceMarks(lab: LabInfo, family: Family): Promise<Set<number>> {
  const r = lab.routers[0];
  const save = await inNamespace(r.namespace, `ip${family === 6 ? '6' : ''}tables-${r.iptables}-save`, ['-t', 'mangle'], { timeoutMs: 15_000 });
  const marks = new Set<number>();
  for (const line of save.stdout.split('\n')) {
    const m = /^-A ML_BALANCE\b.*-j MARK --set-xmark (0x[0-9a-fA-F]+)\//.exec(line);
    if (m) marks.add(Number.parseInt(m[1], 16));
  }
  return marks;
}

/** Client port → link of r1's IPv6 conntrack entries from SOURCE to the server's DPORT (by mark). */
export async function connectionLinks6(lab: LabInfo, opts: { dport: number; source: string }): Promise<Map<number, string>> {
  const args = ['-L', '-f', 'ipv6', '-p', 'tcp', '--dport', String(opts.dport), '-s', opts.source];
  const res = await inNamespace(lab.routers[0].namespace, 'conntrack', args, { timeoutMs: 15_000, allowFailure: true });
  return connectionLinksFromList(res.stdout, linkMarks(lab));
}

/** An extra IPv6 address on the client's interface (nodad: usable at once). */
export async function addClientAddress6(lab: LabInfo, address: string): Promise<void> {
  const ns = lab.dataplane!.clientNamespace;
  const have = await run('ip', ['-n', ns, '-o', '-6', 'addr', 'show', 'dev', CLIENT_INTERFACE], { timeoutMs: 10_000 });
  if (!have.stdout.includes(` ${address}/`)) await ipBatchOrThrow([`addr add ${address}/64 dev ${CLIENT_INTERFACE} nodad`], ns, { family: 6 });
}

/** Probes the bench started and has not collected: stopped by their pid on exit or a signal. */
const probes = new Set<Background<{ attempts: ProbeAttempt[] }>>();

export function stopProbes(): void {
  for (const p of probes) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // finished meanwhile
    }
  }
  probes.clear();
}

export interface Probe {
  stop(): Promise<{ attempts: ProbeAttempt[] }>;
}

/**
 * Paced new connections from the client (SOURCE) to HOST's "ok" port, in the background:
 * the lab's failover client, which takes IPv6 addresses as they are.
 */
export function startProbeTo(lab: LabInfo, opts: { host: string; source: string; intervalMs: number; perMs: number; count: number; totalMs: number }): Probe {
  const dp = lab.dataplane!;
  const args = ['probe', opts.host, String(dp.tcpPort), opts.source, String(opts.intervalMs), String(opts.perMs), String(opts.count), String(opts.totalMs)];
  const bg = backgroundProgram<{ attempts: ProbeAttempt[] }>(dp.clientNamespace, 'failover-client', args, opts.totalMs + opts.perMs + 10_000);
  probes.add(bg);
  return {
    stop: async () => {
      try {
        return await bg.stop();
      } finally {
        probes.delete(bg);
      }
    },
  };
}

export interface FamilyState {
  /** IPv4 health per link (`link NAME up|down`). */
  links: Record<string, 'up' | 'down'>;
  /** IPv6 health per link with a gateway6 (`link6 NAME up|down`). */
  links6: Record<string, 'up' | 'down'>;
}

/** r1's monitor state file, both families; undefined while it has no mask line. */
export function monitorStates(lab: LabInfo): FamilyState | undefined {
  let text: string;
  try {
    text = readFileSync(new RunLayout(labRunDir(lab.routers[0])).monitorState, 'utf8');
  } catch {
    return undefined;
  }
  const s = parseMonitorState(text);
  if (s.mask === undefined) return undefined;
  const links: FamilyState['links'] = {};
  const links6: FamilyState['links6'] = {};
  for (const l of s.links) {
    links[l.link] = l.state;
    if (l.state6) links6[l.link] = l.state6;
  }
  return { links, links6 };
}

export interface Ceiling {
  /** TCP payload bytes per full-size segment. */
  payload: number;
  /** Bytes of the Ethernet frame that carries it, as tbf counts it (no preamble or FCS). */
  frame: number;
  /** payload / frame. */
  ratio: number;
}

/**
 * What a full-size TCP segment leaves to payload on a shaped Ethernet wire: MTU − IP header
 * (20 or 40) − TCP header (20) − timestamps option (12, Linux's default), in MTU + 14 bytes.
 * IPv4 at 1500: 1448 / 1514 = 95.6%; IPv6: 1428 / 1514 = 94.3%.
 */
export function payloadCeiling(family: Family, mtu = 1500, timestamps = true): Ceiling {
  const payload = mtu - (family === 6 ? 40 : 20) - 20 - (timestamps ? 12 : 0);
  const frame = mtu + 14;
  return { payload, frame, ratio: payload / frame };
}

/** `ss -tin` in the client: the send MSS of each connection to HOST (`mss:N`), for the payload per segment. */
export async function clientMss(lab: LabInfo, host: string): Promise<number[]> {
  const res = await inNamespace(lab.dataplane!.clientNamespace, 'ss', ['-tin', 'dst', host.includes(':') ? `[${host}]` : host], { timeoutMs: 10_000, allowFailure: true });
  return [...res.stdout.matchAll(/\bmss:(\d+)/g)].map((m) => Number(m[1]));
}

/** MTU of r1's interface DEV. */
export async function routerMtu(lab: LabInfo, dev: string): Promise<number> {
  const res = await run('ip', ['-n', lab.routers[0].namespace, '-j', 'link', 'show', 'dev', dev], { timeoutMs: 10_000 });
  const parsed = JSON.parse(res.stdout) as Array<{ mtu?: number }>;
  return parsed[0]?.mtu ?? 1500;
}

/** Linux's TCP timestamps setting in a namespace (the server sends the data with -R). */
export async function tcpTimestamps(ns: string): Promise<boolean> {
  const res = await inNamespace(ns, 'cat', ['/proc/sys/net/ipv4/tcp_timestamps'], { timeoutMs: 10_000, allowFailure: true });
  return res.stdout.trim() !== '0';
}

export { SERVER_ADDRESS6 };
