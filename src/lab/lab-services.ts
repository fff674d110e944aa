// The services of the data-plane lab and the paths that reach them, as operators' networks
// have them: the router's own service (every address: its LAN UI/DNS stand-in, and logins on
// its WAN addresses), a service on the LAN host, connections from the internet (the server,
// 198.51.100.1) to each WAN address, and port forwards (DNAT) on r1 to the LAN host. Each
// probe opens COUNT short connections and says how many got the service's "ok".
import { dataplaneOf } from './dataplane-setup.js';
import type { DataplaneIsp } from './dataplane-plan.js';
import { openConnections, type ConnectResult } from './dataplane-traffic.js';
import { LabError } from './errors.js';
import { inNamespace } from './lab-process.js';
import { saveManifest, type LabInfo, type PortForward } from './manifest.js';

export interface ProbeCount {
  /** Connections to open, all at once; default 10. */
  count?: number;
  /** Per connection, default 3000 ms. */
  perMs?: number;
}

const probe = (o: ProbeCount) => ({ count: o.count ?? 10, concurrency: o.count ?? 10, perMs: o.perMs ?? 3000, totalMs: 60_000 });

export function ispOfLink(lab: LabInfo, link: string): DataplaneIsp {
  const isp = dataplaneOf(lab).isps.find((i) => i.link === link);
  if (!isp) throw new LabError(`no link ${link} in the data plane (links ${dataplaneOf(lab).isps.map((i) => i.link).join(', ')})`);
  return isp;
}

/** r1's address on a link now (the DHCP link: its current lease). */
export function wanAddress(lab: LabInfo, link: string): string {
  const isp = ispOfLink(lab, link);
  const address = isp.kind === 'dhcp' ? dataplaneOf(lab).dhcp?.address : isp.routerAddress;
  if (!address) throw new LabError(`r1 has no address on ${link} yet`);
  return address;
}

/** LAN → router: the LAN host opens connections to the service on r1's LAN address. */
export function connectToRouterService(lab: LabInfo, o: ProbeCount = {}): Promise<ConnectResult> {
  const dp = dataplaneOf(lab);
  return openConnections(lab, { ...probe(o), from: dp.clientNamespace, host: lab.routers[0].lanAddress, port: dp.routerServicePort });
}

/** Router → LAN: r1 itself (a process in its namespace) opens connections to the LAN host's service. */
export function openLanConnections(lab: LabInfo, o: ProbeCount = {}): Promise<ConnectResult> {
  const dp = dataplaneOf(lab);
  return openConnections(lab, { ...probe(o), from: dp.routerNamespace, host: dp.clientAddress, port: dp.lanServicePort });
}

/**
 * Internet → router: the server (from 198.51.100.1) opens connections to r1's own service on
 * its address on `link`; they arrive over that link's ISP. Replies that leave by another link
 * carry a source that ISP does not own: with BCP38 ISPs they are dropped.
 */
export function inboundToWanAddress(lab: LabInfo, link: string, o: ProbeCount = {}): Promise<ConnectResult> {
  const dp = dataplaneOf(lab);
  return openConnections(lab, { ...probe(o), from: dp.serverNamespace, source: dp.serverAddress, host: wanAddress(lab, link), port: dp.routerServicePort });
}

export interface PortForwardInput {
  /** Default lte (wan3, a secondary link). */
  link?: string;
  /** Default 8443. */
  port?: number;
  /** Default the LAN host and its service port. */
  to?: string;
  toPort?: number;
}

function dnatRule(pf: PortForward): string[] {
  return ['PREROUTING', '-i', pf.interface, '-p', 'tcp', '--dport', String(pf.port), '-m', 'comment', '--comment', 'multilink-lab-port-forward', '-j', 'DNAT', '--to-destination', `${pf.to}:${pf.toPort}`];
}

async function natRule(lab: LabInfo, op: '-A' | '-D' | '-C', pf: PortForward): Promise<boolean> {
  const r = lab.routers[0];
  const res = await inNamespace(r.namespace, `iptables-${r.iptables}`, ['-w', '5', '-t', 'nat', op, ...dnatRule(pf)], { allowFailure: op !== '-A', timeoutMs: 15_000 });
  return res.code === 0;
}

/**
 * A port forward on r1, as the operator's own firewall has it (not multilink's): TCP to
 * r1's address on `link`, port `port`, is DNATed to the LAN host. Loading it starts
 * conntrack in r1's namespace. Kept in the manifest, put back after simulateReboot.
 */
export async function addPortForward(lab: LabInfo, input: PortForwardInput = {}): Promise<PortForward> {
  const dp = dataplaneOf(lab);
  const isp = ispOfLink(lab, input.link ?? 'lte');
  const pf: PortForward = { link: isp.link, interface: isp.routerInterface, port: input.port ?? 8443, to: input.to ?? dp.clientAddress, toPort: input.toPort ?? dp.lanServicePort };
  if (!(await natRule(lab, '-C', pf))) await natRule(lab, '-A', pf);
  if (!dp.portForwards.some((p) => p.interface === pf.interface && p.port === pf.port)) {
    dp.portForwards.push(pf);
    saveManifest(lab);
  }
  return pf;
}

export async function removePortForward(lab: LabInfo, pf: PortForward): Promise<void> {
  const dp = dataplaneOf(lab);
  for (let i = 0; i < 5 && (await natRule(lab, '-C', pf)); i++) await natRule(lab, '-D', pf);
  dp.portForwards = dp.portForwards.filter((p) => !(p.interface === pf.interface && p.port === pf.port));
  saveManifest(lab);
}

/** Puts back every recorded port forward (after a reboot flushed r1's tables). */
export async function restorePortForwards(lab: LabInfo): Promise<void> {
  for (const pf of lab.dataplane?.portForwards ?? []) if (!(await natRule(lab, '-C', pf))) await natRule(lab, '-A', pf);
}

/** Internet → LAN through a port forward: the server connects to r1's address on the forward's link and port. */
export function throughPortForward(lab: LabInfo, pf: PortForward, o: ProbeCount = {}): Promise<ConnectResult> {
  const dp = dataplaneOf(lab);
  return openConnections(lab, { ...probe(o), from: dp.serverNamespace, source: dp.serverAddress, host: wanAddress(lab, pf.link), port: pf.port });
}
