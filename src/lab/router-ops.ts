// What tests do on a lab router besides SSH: run a shell script as its own userland runs it
// (an OpenWrt-like router: inside its sshd's mount namespace), list the SSH sessions its sshd
// serves, and simulate a reboot: every process but the lab's own stopped, the kernel state
// of its namespace back to a fresh one's, /var (RAM) emptied, then its boot hooks run as
// OpenWrt's procd runs them.
import { readdirSync, readFileSync } from 'node:fs';
import { LabError } from './errors.js';
import { isRunning, pidsInNamespacesSync } from './host-net.js';
import type { LabInfo, LabRouter } from './manifest.js';
import { restorePortForwards } from './lab-services.js';
import { run } from './run.js';
import { stopPidsSync } from './sshd.js';

export interface RouterCommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function routerOf(lab: LabInfo, name: string): LabRouter {
  const r = lab.routers.find((x) => x.name === name);
  if (!r) throw new LabError(`no router ${name} in lab ${lab.prefix} (routers ${lab.routers.map((x) => x.name).join(', ')})`);
  return r;
}

/**
 * A shell script on the router, without SSH: on an OpenWrt-like router inside its sshd's mount
 * namespace (BusyBox ash, its own /etc and RAM /var), on the others with the host's /bin/sh in
 * the router's network namespace.
 */
export async function runOnRouter(lab: LabInfo, name: string, script: string, timeoutMs = 30_000): Promise<RouterCommandResult> {
  const r = routerOf(lab, name);
  const res = r.openwrt
    ? await run('nsenter', ['-t', String(sshdPidOf(r)), '-m', '-n', '--', '/bin/sh', '-c', script], { allowFailure: true, timeoutMs })
    : await run('ip', ['netns', 'exec', r.namespace, '/bin/sh', '-c', script], { allowFailure: true, timeoutMs });
  return { code: res.code, stdout: res.stdout, stderr: res.stderr };
}

function sshdPidOf(r: LabRouter): number {
  if (!r.sshdPid || !isRunning(r.sshdPid)) throw new LabError(`the sshd of router ${r.name} is not running`);
  return r.sshdPid;
}

/** Pids of the sessions the router's sshd serves now (its child processes). */
export function sshSessions(lab: LabInfo, name: string): number[] {
  const listener = sshdPidOf(routerOf(lab, name));
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid …: comm may hold spaces, so read after its closing parenthesis.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === listener && isRunning(Number(entry))) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Sysctls a reboot resets, at a fresh namespace's values (read from a scratch namespace). */
async function freshSysctls(lab: LabInfo, interfaces: readonly string[]): Promise<string[]> {
  const scratch = `${lab.prefix}-boot`;
  await run('ip', ['netns', 'add', scratch]);
  try {
    const read = async (key: string): Promise<string> => (await run('ip', ['netns', 'exec', scratch, 'sysctl', '-n', key])).stdout.trim();
    const forward = await read('net.ipv4.ip_forward');
    const rp = await read('net.ipv4.conf.default.rp_filter');
    const allRp = await read('net.ipv4.conf.all.rp_filter');
    return [`net.ipv4.ip_forward=${forward}`, `net.ipv4.conf.all.rp_filter=${allRp}`, ...['default', ...interfaces].map((i) => `net.ipv4.conf.${i}.rp_filter=${rp}`)];
  } finally {
    await run('ip', ['netns', 'del', scratch], { allowFailure: true });
  }
}

/**
 * The kernel state a reboot loses: the router's iptables (its flavour only: touching the
 * other would create that flavour's tables), policy rules, route tables other than main,
 * conntrack. $1 is the flavour.
 */
const RESET_SCRIPT = `
for t in filter nat mangle raw; do
  "iptables-$1" -w 5 -t "$t" -F 2>/dev/null
  "iptables-$1" -w 5 -t "$t" -X 2>/dev/null
done
if command -v nft >/dev/null 2>&1; then nft delete table inet multilink 2>/dev/null; fi
ip -4 rule flush
ip -4 rule add priority 32766 lookup main
ip -4 rule add priority 32767 lookup default
for t in $(ip -4 route show table all | sed -n 's/.* table \\([^ ]*\\).*/\\1/p' | sort -u); do
  case "$t" in main|local|default) ;; *) ip -4 route flush table "$t" ;; esac
done
conntrack -F >/dev/null 2>&1
true
`;

const BOOT_SCRIPT = `
umount -l /var && mount -t tmpfs -o mode=0755 tmpfs /var && mkdir -p /var/run /var/lock /var/log /var/tmp || exit 1
for f in /etc/rc.d/S*; do
  [ -x "$f" ] || continue
  echo "boot-hook $f"
  "$f" boot
  echo "boot-hook-exit $?"
done
`;

export interface RebootResult {
  /** Processes the reboot stopped (SSH sessions, the link monitor, …). */
  stopped: number[];
  /** Each /etc/rc.d/S* hook run, with its exit code. */
  hooks: Array<{ hook: string; code: number }>;
  output: string;
}

/**
 * A simulated reboot of an OpenWrt-like router: every process in its namespace except the
 * lab's own (its sshd listener, the lab's services) stops; its namespace's iptables, policy
 * rules, route tables other than main, conntrack and sysctls go back to a fresh namespace's;
 * what the router's own configuration sets at boot comes back (a data plane's r1 forwards,
 * its operator's port forwards); /var is a
 * new empty RAM disk; then each /etc/rc.d/S* runs with `boot`, as procd does.
 */
export async function simulateReboot(lab: LabInfo, name: string): Promise<RebootResult> {
  const r = routerOf(lab, name);
  if (!r.openwrt) throw new LabError(`router ${name} is not OpenWrt-like (lab up --openwrt ${name})`);
  const keep = new Set(lab.processes.map((p) => p.pid));
  const stopped = (pidsInNamespacesSync([r.namespace]).get(r.namespace) ?? []).filter((p) => !keep.has(p));
  stopPidsSync(stopped, 2000);
  const links = (await run('ip', ['-n', r.namespace, '-o', 'link', 'show'])).stdout;
  const interfaces = [...links.matchAll(/^\d+:\s+([^:@\s]+)/gm)].map((m) => m[1]);
  const reset = await run('ip', ['netns', 'exec', r.namespace, '/bin/sh', '-c', RESET_SCRIPT, 'reset', r.iptables], { allowFailure: true });
  if (reset.code !== 0) throw new LabError(`resetting ${name}'s namespace failed: ${reset.stderr}`);
  await run('ip', ['netns', 'exec', r.namespace, 'sysctl', '-qw', ...(await freshSysctls(lab, interfaces))]);
  // What the router's own configuration sets at boot: r1 of a data plane forwards, and its
  // operator's port forwards come back.
  if (lab.dataplane && name === lab.routers[0].name) {
    await run('ip', ['netns', 'exec', r.namespace, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    await restorePortForwards(lab);
  }
  const boot = await runOnRouter(lab, name, BOOT_SCRIPT, 60_000);
  if (boot.code !== 0 && !/boot-hook/.test(boot.stdout)) throw new LabError(`booting ${name} failed: ${boot.stderr}`);
  const hooks: RebootResult['hooks'] = [];
  let current = '';
  for (const line of boot.stdout.split('\n')) {
    const start = /^boot-hook (\S+)$/.exec(line);
    const end = /^boot-hook-exit (\d+)$/.exec(line);
    if (start) current = start[1];
    else if (end && current) hooks.push({ hook: current, code: Number(end[1]) });
  }
  return { stopped, hooks, output: boot.stdout + boot.stderr };
}

/** A file on the router as its userland sees it (an OpenWrt-like router's /var is its own); undefined when absent. */
export async function readOnRouter(lab: LabInfo, name: string, path: string): Promise<string | undefined> {
  const r = routerOf(lab, name);
  if (!r.openwrt) {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  }
  const res = await run('nsenter', ['-t', String(sshdPidOf(r)), '-m', '--', 'cat', path], { allowFailure: true });
  return res.code === 0 ? res.stdout : undefined;
}

