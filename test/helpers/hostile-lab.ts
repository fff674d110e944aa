// The lab of issue 9 for acceptance tests: routers shaped like operators' real ones. On top
// of the data-plane lab (client → r1 → ISPs → server) it has
// - ISPs that drop packets whose source is not theirs (BCP38: rp_filter=1 their side),
//   spoofedDrops() counts them;
// - a service on r1 (every address, port 80: its LAN UI/DNS stand-in and WAN-side logins)
//   and on the LAN host (192.0.2.10:8080); ISP 1 routes the LAN prefix to r1 and r1
//   forwards before any deploy, as a router does;
// - optional uplinks: `dhcp` (wan4, link wifi, BusyBox udhcpc on r1 keeping a default route
//   via wan4 in main; renewDhcp moves ISP 4 to a new subnet and gateway) and `ptp` (wan5,
//   link ptp, a point-to-point device without gateway);
// - optionally r1 built like OpenWrt (BusyBox userland, /var in RAM, /etc its own with
//   rc.common and rc.d; runOnRouter, simulateReboot).
// Every probe returns { ok, failed, notStarted } for `count` connections (default 10).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabInfo } from '../../src/lab/lab.js';
import type { ExtraUplink } from '../../src/lab/dataplane-plan.js';
import { dataplaneInventoryText } from '../../src/lab/dataplane-setup.js';
import { labRunDir } from '../../src/lab/lab-files.js';
import { DEFAULT_RUN_DIR, RunLayout } from '../../src/shell/layout.js';
import { monitorStateFromText, type MonitorState } from '../../src/lab/dataplane-health.js';
import { renderDataplanePlaybook, type BalanceMethod, type HealthSettings, type PlaybookLink } from '../../src/lab/lab-playbooks.js';
import { readOnRouter, simulateReboot } from '../../src/lab/router-ops.js';
import { waitFor } from '../../src/lab/lab-process.js';
import { expect } from 'vitest';
import { cli, type CliResult } from './cli.js';
import { labSupport, startTestLab } from './lab.js';
import { findCommand } from '../../src/lab/packages.js';

export { addPortForward, connectToRouterService, inboundToWanAddress, openLanConnections, removePortForward, throughPortForward, wanAddress } from '../../src/lab/lab-services.js';
export type { PortForwardInput, ProbeCount } from '../../src/lab/lab-services.js';
export type { PortForward } from '../../src/lab/manifest.js';
export { dhcpLease, dhcpSubnet, renewDhcp, type Renewal } from '../../src/lab/dhcp-uplink.js';
export { breakIsp, repairIsp } from '../../src/lab/dataplane-faults.js';
export { spoofedDrops } from '../../src/lab/isp-filter.js';
export { readOnRouter, runOnRouter, simulateReboot, sshSessions, type RebootResult, type RouterCommandResult } from '../../src/lab/router-ops.js';
export type { ConnectResult } from '../../src/lab/dataplane-traffic.js';

export interface HostileLabOptions {
  /** r1's extra uplinks; default none. */
  uplinks?: readonly ExtraUplink[];
  /** r1 built like OpenWrt; default false. */
  openwrt?: boolean;
  /** r1 built like a stock OpenWrt image (BusyBox ip, only nft and sshd in /usr/sbin); default false. */
  openwrtStock?: boolean;
  /** Default true: ISPs drop spoofed sources. */
  bcp38?: boolean;
  /** multilink_firewall in the lab's inventory; default iptables (auto on a stock OpenWrt router). */
  firewall?: 'iptables' | 'nft' | 'auto';
}

/** A fresh data-plane lab of issue 9's shape (removed by the lab helper's afterAll). */
export function startHostileLab(opts: HostileLabOptions = {}): Promise<LabInfo> {
  return startTestLab(1, { dataplane: true, uplinks: opts.uplinks ?? [], bcp38: opts.bcp38 ?? true, ...(opts.openwrt ? { openwrt: ['r1'] } : {}), ...(opts.openwrtStock ? { openwrtStock: ['r1'] } : {}), ...(opts.firewall ? { firewall: opts.firewall } : {}) });
}

/** Playbook lines for r1's extra uplinks: wifi `gateway: auto`, ptp `gateway: none`. */
export function extraLinks(lab: LabInfo, weights: Partial<Record<'wifi' | 'ptp', number>> = {}): PlaybookLink[] {
  return (lab.dataplane?.isps ?? [])
    .filter((i) => i.kind !== 'static')
    .map((i) => ({ name: i.link, interface: i.routerInterface, gateway: i.kind === 'dhcp' ? 'auto' : 'none', weight: weights[i.link as 'wifi' | 'ptp'] ?? 1 }));
}

export interface Issue9PlaybookInput {
  method?: BalanceMethod;
  /** dsl, cable, lte; default 1:1:1. */
  weights?: readonly number[];
  tiers?: readonly number[];
  health?: HealthSettings;
  /** Default: r1's extra uplinks (extraLinks). */
  extraLinks?: readonly PlaybookLink[];
}

/** The README's example: `traffic: [forwarded, local]`, no exceptions. */
export function issue9Playbook(lab: LabInfo, input: Issue9PlaybookInput = {}): string {
  return renderDataplanePlaybook({
    method: input.method ?? 'random',
    weights: input.weights ?? [1, 1, 1],
    tiers: input.tiers,
    traffic: ['forwarded', 'local'],
    health: input.health,
    extraLinks: input.extraLinks ?? extraLinks(lab),
  });
}

export interface Deployed {
  inventory: string;
  result: CliResult;
  /** r1's outcome in the JSON report, or undefined when there was none (load refused it). */
  outcome?: string;
}

/** Writes the playbook and an inventory of r1 for it into the lab folder; runs `multilink deploy --json`. */
export async function deployToR1(lab: LabInfo, name: string, playbookText: string, ...args: string[]): Promise<Deployed> {
  const playbook = join(lab.dir, `playbook-${name}.yaml`);
  const inventory = join(lab.dir, `inventory-${name}.yaml`);
  writeFileSync(playbook, playbookText);
  writeFileSync(inventory, dataplaneInventoryText(lab, playbook));
  const result = await cli('deploy', inventory, '--json', ...args);
  let outcome: string | undefined;
  try {
    outcome = (JSON.parse(result.stdout) as { hosts: { host: string; outcome: string }[] }).hosts.find((h) => h.host === 'r1')?.outcome;
  } catch {
    outcome = undefined;
  }
  return { inventory, result, outcome };
}

/**
 * The link monitor's state file on a router, read as its userland sees it: in its run folder
 * (an OpenWrt-like router's is /var/run/multilink, in its own RAM /var) unless another is passed.
 */
export async function monitorStateOn(lab: LabInfo, router = 'r1', runDir?: string): Promise<MonitorState | undefined> {
  const r = lab.routers.find((x) => x.name === router);
  const dir = runDir ?? (r ? labRunDir(r) : DEFAULT_RUN_DIR);
  const text = await readOnRouter(lab, router, new RunLayout(dir).monitorState);
  return text === undefined ? undefined : monitorStateFromText(text);
}

/** Can this machine run the hostile lab? (root, netns, sshd, the data plane's and BusyBox's tools) */
export function hostileLabSupport(): { ok: boolean; reason?: string } {
  const base = labSupport();
  if (!base.ok) return base;
  for (const cmd of ['iperf3', 'vsftpd', 'curl', 'busybox', 'nsenter', 'unshare', 'conntrack']) {
    if (!findCommand(cmd)) return { ok: false, reason: `${cmd} is missing (the test setup installs it as root)` };
  }
  return { ok: true };
}

/**
 * A simulated reboot of an nft router with a link monitor: every boot hook succeeds, the
 * balance is back as a numgen map, drift is 0 and every link is up again.
 */
export async function expectRebootRestores(lab: LabInfo, router: string, inventory: string, balance: () => Promise<string>, allUp: () => Promise<boolean>): Promise<void> {
  expect(await waitFor(allUp, 10_000, 100)).toBeDefined();
  const reboot = await simulateReboot(lab, router);
  expect(reboot.hooks.every((h) => h.code === 0), reboot.output).toBe(true);
  expect(await balance()).toMatch(/numgen random/);
  const drift = await cli('drift', inventory, '--json');
  expect(drift.code, drift.stdout + drift.stderr).toBe(0);
  expect(await waitFor(allUp, 10_000, 100)).toBeDefined();
}
