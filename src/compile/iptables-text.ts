// Building blocks of rule text, spelled exactly as iptables-save prints them back
// (checked against iptables-legacy and iptables-nft 1.8.9), so desired and live rules
// compare as plain strings.

/** Hooked from mangle PREROUTING: restores, marks inbound connections, balances the LAN's new ones. */
export const CHAIN_PRE = 'ML_PRE';
/** Hooked from mangle OUTPUT: restores (replies of inbound connections), balances the router's own. */
export const CHAIN_OUT = 'ML_OUT';
export const CHAIN_NEW = 'ML_NEW';
export const CHAIN_BALANCE = 'ML_BALANCE';
export const CHAIN_MASQ = 'ML_MASQ';
export const CHAIN_HELPERS = 'ML_HELPERS';
/** Per-link packet and byte counters (no target), read by `multilink status`. */
export const CHAIN_ACCT = 'ML_ACCT';

/** Name of the xt_recent list that remembers the sources sent over link k (sticky method); IPv6's apart. */
export function stickyListName(index: number, family: 4 | 6 = 4): string {
  return family === 6 ? `ML_6S${index}` : `ML_S${index}`;
}

const FULL_MASK = 0xffffffff;

/** Lower-case hex with 0x, as libxt_mark and libxt_CONNMARK print numbers. */
export function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** `-m mark --mark V/M`; libxt_mark leaves out a full mask. */
export function markMatch(value: number, mask: number, invert = false): string {
  const v = (mask >>> 0) === FULL_MASK ? hex(value) : `${hex(value)}/${hex(mask)}`;
  return `-m mark ${invert ? '! ' : ''}--mark ${v}`;
}

/** The guard that keeps a rule from touching a packet that already has our mark bits set. */
export function unmarked(mask: number): string {
  return markMatch(0, mask);
}

/** MARK always prints the xmark form with its mask, whatever was typed. */
export function setMark(value: number, mask: number): string {
  return `-j MARK --set-xmark ${hex(value)}/${hex(mask)}`;
}

export function connmarkRestore(mask: number): string {
  return `-j CONNMARK --restore-mark --nfmask ${hex(mask)} --ctmask ${hex(mask)}`;
}

export function connmarkSave(mask: number): string {
  return `-j CONNMARK --save-mark --nfmask ${hex(mask)} --ctmask ${hex(mask)}`;
}

/**
 * The mark of a connection that keeps normal routing for good: the highest value of the mask
 * (link k is k × the lowest bit, so links never reach it). No ip rule matches it.
 */
export function pinnedMark(mask: number): number {
  return mask >>> 0;
}

/** Value of the lowest set bit: the step between two link marks. */
export function lowestBit(mask: number): number {
  const m = mask >>> 0;
  if (m === 0) return 0;
  return (m & -m) >>> 0;
}
