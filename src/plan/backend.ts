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
}

const INSTALL_NFT = 'Debian: apt-get install nftables; OpenWrt: opkg install nftables-json (apk add nftables-json)';

export function chooseBackend(desired: DesiredState, facts: HostFacts): BackendChoice {
  const nft = facts.nft ?? { state: 'missing', table: null };
  const setting = desired.settings.firewall;
  if (setting === 'iptables') return { backend: 'iptables', why: 'multilink_firewall: iptables' };
  const usable = nft.state === 'ok';
  if (setting === 'nft') {
    if (desired.method === 'adaptive') return { backend: 'nft', why: 'multilink_firewall: nft', error: 'method adaptive is not available with the nft backend yet: set multilink_firewall: iptables (or auto) for this play' };
    if (!usable) return { backend: 'nft', why: 'multilink_firewall: nft', error: `multilink_firewall: nft, but the router's nft ${nft.state === 'missing' ? 'is not installed' : `does not work (${nft.detail ?? 'no detail'})`} (${INSTALL_NFT})` };
    return { backend: 'nft', why: 'multilink_firewall: nft' };
  }
  if (desired.method === 'adaptive') return { backend: 'iptables', why: 'auto: method adaptive runs on iptables' };
  if (usable) return { backend: 'nft', why: 'auto: the router has a working nft' };
  return { backend: 'iptables', why: nft.state === 'missing' ? 'auto: the router has no nft' : 'auto: the router\'s nft does not work' };
}

/** The desired state as the chosen backend makes it. */
export function withBackend(desired: DesiredState, backend: FirewallBackend): DesiredState {
  if (backend === 'nft') return { ...desired, firewall: 'nft' };
  const { firewall: _ignored, ...rest } = desired;
  return rest;
}

/** The ML_ chains and jumps iptables must hold: none with the nft backend (its table holds them). */
export function iptablesPart(desired: DesiredState): DesiredState {
  return desired.firewall === 'nft' ? { ...desired, chains: [], jumps: [] } : desired;
}
