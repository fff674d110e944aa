// What the host already has: namespaces, link names, IPv4 subnets in use, and which
// processes live in a namespace. Read-only; used to refuse a clash before creating
// anything and to find every process of a lab at teardown.
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { cidrsOverlap } from '../net/ipv4.js';
import { run, runSync } from './run.js';

export const NETNS_DIR = '/run/netns';

export function listNamespacesSync(): Set<string> {
  try {
    return new Set(readdirSync(NETNS_DIR));
  } catch {
    return new Set();
  }
}

/** "name@peer" and "name" both give name. */
export function parseLinkNames(ipOLink: string): Set<string> {
  const names = new Set<string>();
  for (const line of ipOLink.split('\n')) {
    const m = /^\d+:\s+([^:@\s]+)/.exec(line);
    if (m) names.add(m[1]);
  }
  return names;
}

export async function listHostLinks(): Promise<Set<string>> {
  return parseLinkNames((await run('ip', ['-o', 'link', 'show'])).stdout);
}

export function listHostLinksSync(): Set<string> {
  return parseLinkNames(runSync('ip', ['-o', 'link', 'show']).stdout);
}

export interface SubnetUse {
  cidr: string;
  where: string;
}

/** Addresses (`ip -4 -o addr show`) and routes (`ip -4 route show`) of the host, as CIDRs. */
export function parseSubnetUses(addrOutput: string, routeOutput: string): SubnetUse[] {
  const uses: SubnetUse[] = [];
  for (const line of addrOutput.split('\n')) {
    const m = /^\d+:\s+(\S+)\s+inet\s+(\d+\.\d+\.\d+\.\d+\/\d+)/.exec(line);
    if (m) uses.push({ cidr: m[2], where: `address ${m[2]} on ${m[1]}` });
  }
  for (const line of routeOutput.split('\n')) {
    const dst = line.trim().split(/\s+/)[0];
    if (!dst || dst === 'default' || !/^\d/.test(dst)) continue;
    uses.push({ cidr: dst.includes('/') ? dst : `${dst}/32`, where: `route ${line.trim()}` });
  }
  return uses;
}

export async function hostSubnetUses(): Promise<SubnetUse[]> {
  const [addr, route] = await Promise.all([run('ip', ['-4', '-o', 'addr', 'show']), run('ip', ['-4', 'route', 'show'])]);
  return parseSubnetUses(addr.stdout, route.stdout);
}

export function usesOf(cidr: string, uses: readonly SubnetUse[]): SubnetUse[] {
  return uses.filter((u) => cidrsOverlap(u.cidr, cidr));
}

/** The first X from `start` (wrapping) whose 198.18.X.0/24 the host does not use. */
export function pickFreeSubnet(uses: readonly SubnetUse[], start = 0): number | undefined {
  for (let n = 0; n < 256; n++) {
    const x = (start + n) % 256;
    if (usesOf(`198.18.${x}.0/24`, uses).length === 0) return x;
  }
  return undefined;
}

export async function findFreeSubnet(start = 0): Promise<number | undefined> {
  return pickFreeSubnet(await hostSubnetUses(), start);
}

function netnsInode(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

/** Pids of every live process whose network namespace is one of these named ones. */
export function pidsInNamespacesSync(names: readonly string[]): Map<string, number[]> {
  const byInode = new Map<number, string>();
  for (const name of names) {
    const ino = netnsInode(`${NETNS_DIR}/${name}`);
    if (ino !== undefined) byInode.set(ino, name);
  }
  const result = new Map<string, number[]>();
  if (byInode.size === 0) return result;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let link: string;
    try {
      link = readlinkSync(`/proc/${entry}/ns/net`);
    } catch {
      continue;
    }
    const m = /^net:\[(\d+)\]$/.exec(link);
    const name = m ? byInode.get(Number(m[1])) : undefined;
    if (name === undefined) continue;
    const pid = Number(entry);
    if (!isRunning(pid)) continue;
    result.set(name, [...(result.get(name) ?? []), pid]);
  }
  return result;
}

/** Alive and not a zombie waiting for its parent to reap it. */
export function isRunning(pid: number): boolean {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return !/^State:\s+[ZX]/m.test(status);
  } catch {
    return false;
  }
}

export function commandLineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/PID/stat (clock ticks after boot): with the pid, one process instance, never a recycled pid. */
export function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces or ')': split after the last one.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
