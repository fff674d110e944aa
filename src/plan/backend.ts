// Which netfilter backend a host's objects are made with: multilink_firewall, and for `auto`
// what the router has (the gather decides, the plan says which). Method adaptive learns its
// weights from the iptables balancing chain on the router, so `auto` keeps iptables for it.
import type { DesiredState } from '../model/desired.js';
import type { HostFacts } from '../model/facts.js';
import type { FirewallBackend } from '../model/nft.js';

export interface BackendChoice {
  backend: FirewallBackend;
  /** Why, in a phrase for the plan's report. */
  why: string;
  /** Set when the setting cannot be honoured on this router: the plan is refused with it. */
  error?: string;
  /** The router's ip makes no oif rules (BusyBox): the nft table marks the probes instead. */
  probeMarks?: true;
  /** No conntrack tool, a link monitor: the nft table ends a failed link's connections. */
  resetDown?: true;
}

export const INSTALL_NFT = 'Debian: apt-get install nftables; OpenWrt: opkg install nftables-json (apk add nftables-json)';
export const INSTALL_IPTABLES = 'Debian: apt-get install iptables; OpenWrt: opkg install iptables-nft ip6tables-nft (apk add iptables-nft ip6tables-nft)';
export const INSTALL_IP_FULL = 'Debian: apt-get install iproute2; OpenWrt: opkg install ip-full (apk add ip-full)';

export function chooseBackend(desired: DesiredState, facts: HostFacts): BackendChoice {
  const firewall = chooseFirewall(desired, facts);
  const choice = firewall.backend === 'nft' && !firewall.error && desired.monitor && !facts.tools.conntrack ? { ...firewall, resetDown: true as const } : firewall;
  if (choice.error || facts.tools.ipOif !== false) return choice;
  // BusyBox ip: no oif rules. The nft table can mark the probes instead; iptables cannot here.
  if (choice.backend === 'nft') return { ...choice, probeMarks: true };
  return { ...choice, error: `this router's ip (BusyBox) makes no oif rules, which the iptables backend needs for the link monitor's probes and sockets bound to a link (${INSTALL_IP_FULL}; or the nft backend: ${INSTALL_NFT})` };
}

function chooseFirewall(desired: DesiredState, facts: HostFacts): BackendChoice {
  const nft = facts.nft ?? { state: 'missing', table: null };
  const setting = desired.settings.firewall;
  const hasIptables = facts.tools.iptables !== false;
  const noIptables = (why: string): string => `${why}, and this router has no iptables of any kind (${INSTALL_IPTABLES})`;
  if (setting === 'iptables') {
    if (!hasIptables) return { backend: 'iptables', why: 'multilink_firewall: iptables', error: noIptables('multilink_firewall: iptables') };
    return { backend: 'iptables', why: 'multilink_firewall: iptables' };
  }
  const usable = nft.state === 'ok';
  const nftState = nft.state === 'missing' ? 'is not installed' : `does not work (${nft.detail ?? 'no detail'})`;
  if (setting === 'nft') {
    if (desired.method === 'adaptive') return { backend: 'nft', why: 'multilink_firewall: nft', error: 'method adaptive is not available with the nft backend yet: set multilink_firewall: iptables (or auto) for this play' };
    if (!usable) return { backend: 'nft', why: 'multilink_firewall: nft', error: `multilink_firewall: nft, but the router's nft ${nftState} (${INSTALL_NFT})` };
    return { backend: 'nft', why: 'multilink_firewall: nft' };
  }
  if (desired.method === 'adaptive') {
    const why = 'auto: method adaptive runs on iptables';
    if (!hasIptables) return { backend: 'iptables', why, error: noIptables('method adaptive learns its weights on the iptables backend only') + ', or choose method random, nth or sticky' };
    return { backend: 'iptables', why };
  }
  if (usable) return { backend: 'nft', why: 'auto: the router has a working nft' };
  const why = nft.state === 'missing' ? 'auto: the router has no nft' : 'auto: the router\'s nft does not work';
  if (!hasIptables) return { backend: 'iptables', why, error: `this router has neither a working nft (its nft ${nftState}) nor iptables: install nft (${INSTALL_NFT})` };
  return { backend: 'iptables', why };
}

/** What the router lacks that the nft table stands in for (BackendChoice, HostPlan). */
export interface StandIns {
  probeMarks?: true;
  resetDown?: true;
}

/**
 * The desired state as the chosen backend makes it; with the nft backend, the stand-ins the
 * router needs (DesiredState.probeMarks: without oif rules; DesiredState.resetDown).
 */
export function withBackend(desired: DesiredState, backend: FirewallBackend, standIns: StandIns = {}): DesiredState {
  if (backend === 'nft') {
    const rules = standIns.probeMarks ? desired.rules.filter((r) => r.kind !== 'oif') : desired.rules;
    return { ...desired, firewall: 'nft', rules, ...(standIns.probeMarks ? { probeMarks: true } : {}), ...(standIns.resetDown ? { resetDown: true } : {}) };
  }
  const { firewall: _ignored, ...rest } = desired;
  return rest;
}

/** The ML_ chains and jumps iptables must hold: none with the nft backend (its table holds them). */
export function iptablesPart(desired: DesiredState): DesiredState {
  return desired.firewall === 'nft' ? { ...desired, chains: [], jumps: [] } : desired;
}
