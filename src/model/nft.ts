// What multilink owns with the nftables backend: one table, `table inet multilink`, both
// families. Every line is kept in the exact form `nft -s -t list table inet multilink` prints
// it back (nftables 1.0.x), so desired and live state compare as plain strings, as the
// iptables backend's rules do with iptables-save.

export const NFT_FAMILY = 'inet';
export const NFT_TABLE = 'multilink';

export interface NftChain {
  name: string;
  /** A base chain's line, e.g. `type filter hook prerouting priority mangle; policy accept;`. */
  hook?: string;
  rules: string[];
}

/** A named object declared before the chains (a set, a ct helper): its name and body lines. */
export interface NftObject {
  kind: 'set' | 'ct helper';
  name: string;
  lines: string[];
}

export interface NftTable {
  objects: NftObject[];
  chains: NftChain[];
}

/** The backend a host's netfilter objects are made with; `auto` is decided by the gather. */
export type FirewallSetting = 'auto' | 'nft' | 'iptables';
export type FirewallBackend = 'nft' | 'iptables';
