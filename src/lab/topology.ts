// The lab's names and addresses, derived from its prefix, size and management subnet.
// Pure: the same inputs always give the same lab, so the shipped inventory/lab.yaml can be
// checked against what `lab up` builds by default.

export const MAX_ROUTERS = 200;
export const DEFAULT_ROUTERS = 3;
export const DEFAULT_PREFIX = 'ml';
export const DEFAULT_DIR = '.lab';
/** The shipped inventory/lab.yaml describes the lab on this subnet: 198.18.0.0/24. */
export const DEFAULT_SUBNET = 0;
export const LAN_ADDRESS = '192.0.2.1';
export const LAN_PREFIX_LEN = 24;
/** What the playbook may never balance: every lab's management network. */
export const MANAGEMENT_RANGE = '198.18.0.0/15';

export interface LabUplink {
  name: string;
  interface: string;
  /** K in 100.64.K.0/24, bridge ispK in the upstream namespace. */
  k: number;
  gateway: string;
  weight: number;
  tier: number;
}

export const LAB_UPLINKS: readonly LabUplink[] = [
  { name: 'dsl', interface: 'wan1', k: 1, gateway: '100.64.1.1', weight: 1, tier: 1 },
  { name: 'cable', interface: 'wan2', k: 2, gateway: '100.64.2.1', weight: 2, tier: 1 },
  { name: 'lte', interface: 'wan3', k: 3, gateway: '100.64.3.1', weight: 1, tier: 2 },
];

export type LabIptables = 'nft' | 'legacy';
/** The netfilter backend the lab's inventory asks for (multilink_firewall). */
export type LabFirewall = 'iptables' | 'nft' | 'auto';

export interface RouterPlan {
  index: number;
  /** Inventory name: r1..rN. */
  name: string;
  namespace: string;
  mgmtAddress: string;
  /** wan1..wan3 addresses, in LAB_UPLINKS order, without prefix length. */
  wanAddresses: string[];
  lanAddress: string;
  iptables: LabIptables;
  /** multilink_firewall in the lab's inventory (absent in labs made before: iptables). */
  firewall?: LabFirewall;
  /**
   * Built like OpenWrt: its sshd (and so every login) runs in a mount namespace where
   * /usr/bin is BusyBox, /usr/sbin holds only iptables, ip, conntrack and sshd, /etc is the
   * router's own and /var is RAM (see openwrt.ts).
   */
  openwrt: boolean;
  /**
   * Built like a stock OpenWrt image (with openwrt): BusyBox for every command, `ip` included,
   * only nft and sshd in /usr/sbin: no iptables, no conntrack tool, no `timeout`.
   */
  openwrtStock?: boolean;
  /** Peer ends of the router's links in the lab's own namespaces. */
  switchPort: string;
  lanPeer: string;
  upstreamPorts: string[];
}

export interface TopologyPlan {
  prefix: string;
  subnet: number;
  managementCidr: string;
  hostAddress: string;
  /** The one link in the host namespace: its peer is a port of the management bridge. */
  hostLink: string;
  hostLinkPeer: string;
  switchNamespace: string;
  switchBridge: string;
  upstreamNamespace: string;
  lanNamespace: string;
  gateways: string[];
  /** The ISPs drop packets whose source is not theirs (BCP38): rp_filter=1 on their side. */
  bcp38: boolean;
  routers: RouterPlan[];
  /** `--dataplane`: the client and server namespaces around router r1. */
  dataplane?: { clientNamespace: string; serverNamespace: string };
}

/** Lower-case letter then up to 9 letters/digits: "<prefix>-mgmt" stays within IFNAMSIZ (15). */
export function checkPrefix(prefix: string): string | undefined {
  if (!/^[a-z][a-z0-9]{0,9}$/.test(prefix)) {
    return `lab prefix "${prefix}" must be a lower-case letter followed by at most 9 letters or digits`;
  }
  return undefined;
}

export function checkRouters(routers: number): string | undefined {
  if (!Number.isInteger(routers) || routers < 1 || routers > MAX_ROUTERS) {
    return `lab size must be a whole number of routers from 1 to ${MAX_ROUTERS}, got ${routers}`;
  }
  return undefined;
}

export function checkSubnet(subnet: number): string | undefined {
  if (!Number.isInteger(subnet) || subnet < 0 || subnet > 255) {
    return `lab subnet must be the third octet of 198.18.X.0/24 (0 to 255), got ${subnet}`;
  }
  return undefined;
}

export function mgmtCidr(subnet: number): string {
  return `198.18.${subnet}.0/24`;
}

export interface TopologyOptions {
  /** Default true: the lab's ISPs are as strict as real ones. */
  bcp38?: boolean;
  /** Names of the routers built like OpenWrt (r1…rN). */
  openwrt?: readonly string[];
  /** Of those, the ones built like a stock OpenWrt image (openwrt.ts). */
  openwrtStock?: readonly string[];
  /** multilink_firewall of every router in the lab's inventory; default iptables (auto on a stock OpenWrt router). */
  firewall?: LabFirewall;
}

/** Router names must exist in a lab of this size. */
export function checkOpenwrt(names: readonly string[], routers: number): string | undefined {
  const bad = names.filter((n) => !/^r[1-9][0-9]*$/.test(n) || Number(n.slice(1)) > routers);
  return bad.length ? `--openwrt names routers r1..r${routers} of this lab, not ${bad.join(', ')}` : undefined;
}

export function planTopology(prefix: string, routers: number, subnet: number, opts: TopologyOptions = {}): TopologyPlan {
  const problem = checkPrefix(prefix) ?? checkRouters(routers) ?? checkSubnet(subnet) ?? checkOpenwrt([...(opts.openwrt ?? []), ...(opts.openwrtStock ?? [])], routers);
  if (problem) throw new RangeError(problem);
  const stock = new Set(opts.openwrtStock ?? []);
  const openwrt = new Set([...(opts.openwrt ?? []), ...stock]);
  const list: RouterPlan[] = [];
  for (let i = 1; i <= routers; i++) {
    const host = 10 + i;
    list.push({
      index: i,
      name: `r${i}`,
      namespace: `${prefix}-r${i}`,
      mgmtAddress: `198.18.${subnet}.${host}`,
      wanAddresses: LAB_UPLINKS.map((u) => `100.64.${u.k}.${host}`),
      lanAddress: LAN_ADDRESS,
      iptables: i % 2 === 1 ? 'nft' : 'legacy',
      firewall: opts.firewall ?? (stock.has(`r${i}`) ? 'auto' : 'iptables'),
      openwrt: openwrt.has(`r${i}`),
      ...(stock.has(`r${i}`) ? { openwrtStock: true } : {}),
      switchPort: `r${i}`,
      lanPeer: `r${i}`,
      upstreamPorts: LAB_UPLINKS.map((u) => `r${i}-w${u.k}`),
    });
  }
  return {
    prefix,
    subnet,
    managementCidr: mgmtCidr(subnet),
    hostAddress: `198.18.${subnet}.1`,
    hostLink: `${prefix}-mgmt`,
    hostLinkPeer: 'host',
    switchNamespace: `${prefix}-sw`,
    switchBridge: 'br0',
    upstreamNamespace: `${prefix}-up`,
    lanNamespace: `${prefix}-lan`,
    gateways: LAB_UPLINKS.map((u) => u.gateway),
    bcp38: opts.bcp38 ?? true,
    routers: list,
  };
}

/** `--dataplane`: the client and server namespaces of a lab with this prefix. */
export function dataplaneNamespacesOf(prefix: string): { clientNamespace: string; serverNamespace: string } {
  return { clientNamespace: `${prefix}-cl`, serverNamespace: `${prefix}-srv` };
}

/** Every namespace of the lab, the shared ones first. */
export function labNamespaces(plan: TopologyPlan): string[] {
  const extra = plan.dataplane ? [plan.dataplane.clientNamespace, plan.dataplane.serverNamespace] : [];
  return [plan.switchNamespace, plan.upstreamNamespace, plan.lanNamespace, ...extra, ...plan.routers.map((r) => r.namespace)];
}
