// The `ip -batch` scripts that build a lab (pure text). The host namespace gets the
// namespaces, the links between them and its one management link; every other line runs
// inside a lab namespace, so nothing but that link ever appears on the host.
// A --dataplane variant would add its client/server namespaces and shaping here.
import { LAB_UPLINKS, LAN_PREFIX_LEN, type RouterPlan, type TopologyPlan } from './topology.js';

export function namespaceAddLines(namespaces: readonly string[]): string[] {
  return namespaces.map((ns) => `netns add ${ns}`);
}

export function namespaceDelLines(namespaces: readonly string[]): string[] {
  return namespaces.map((ns) => `netns del ${ns}`);
}

/** The host's link into the management switch, then its address. Line 1 creates it. */
export function hostLinkLines(plan: TopologyPlan): string[] {
  return [
    `link add ${plan.hostLink} type veth peer name ${plan.hostLinkPeer} netns ${plan.switchNamespace}`,
    `addr add ${plan.hostAddress}/24 dev ${plan.hostLink}`,
    `link set ${plan.hostLink} up`,
  ];
}

/** Run in the host namespace: each link is created with both ends already in lab namespaces. */
export function routerLinkLines(plan: TopologyPlan): string[] {
  const lines: string[] = [];
  for (const r of plan.routers) {
    lines.push(`link add mgmt0 netns ${r.namespace} type veth peer name ${r.switchPort} netns ${plan.switchNamespace}`);
    LAB_UPLINKS.forEach((u, k) => {
      lines.push(`link add ${u.interface} netns ${r.namespace} type veth peer name ${r.upstreamPorts[k]} netns ${plan.upstreamNamespace}`);
    });
    // No dummy driver in every kernel: lan0 is a veth whose peer waits in the lan namespace.
    lines.push(`link add lan0 netns ${r.namespace} type veth peer name ${r.lanPeer} netns ${plan.lanNamespace}`);
  }
  return lines;
}

export function switchLines(plan: TopologyPlan): string[] {
  const lines = ['link set lo up', `link add ${plan.switchBridge} type bridge`, `link set ${plan.switchBridge} up`];
  for (const port of [plan.hostLinkPeer, ...plan.routers.map((r) => r.switchPort)]) {
    lines.push(`link set ${port} master ${plan.switchBridge}`, `link set ${port} up`);
  }
  return lines;
}

export function upstreamLines(plan: TopologyPlan): string[] {
  const lines = ['link set lo up'];
  LAB_UPLINKS.forEach((u, k) => {
    const bridge = `isp${u.k}`;
    lines.push(`link add ${bridge} type bridge`, `addr add ${u.gateway}/24 dev ${bridge}`, `link set ${bridge} up`);
    for (const r of plan.routers) lines.push(`link set ${r.upstreamPorts[k]} master ${bridge}`, `link set ${r.upstreamPorts[k]} up`);
  });
  return lines;
}

export function lanLines(plan: TopologyPlan): string[] {
  return ['link set lo up', ...plan.routers.map((r) => `link set ${r.lanPeer} up`)];
}

export function routerLines(router: RouterPlan): string[] {
  const lines = ['link set lo up', `addr add ${router.mgmtAddress}/24 dev mgmt0`, 'link set mgmt0 up'];
  LAB_UPLINKS.forEach((u, k) => {
    lines.push(`addr add ${router.wanAddresses[k]}/24 dev ${u.interface}`, `link set ${u.interface} up`);
  });
  lines.push(`addr add ${router.lanAddress}/${LAN_PREFIX_LEN} dev lan0`, 'link set lan0 up');
  // As a real router: the first uplink is the default route of the main table.
  const first = LAB_UPLINKS[0];
  lines.push(`route add default via ${first.gateway} dev ${first.interface}`);
  return lines;
}
