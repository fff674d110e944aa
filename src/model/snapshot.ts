// OwnedSnapshot: everything multilink owns on a router, complete enough to recreate it
// exactly: the prior state taken from live facts before a change, or a generation compiled
// from a DesiredState. src/render/reset.ts turns one into the script that brings it back.
import type { NetfilterTable } from './desired.js';
import type { OwnedRecord } from './facts.js';
import type { NftTable } from './nft.js';

export interface SnapshotJump {
  table: NetfilterTable;
  family?: 6;
  chain: string;
  rule: string;
  /**
   * 1-based position in the chain as the snapshot saw it, ML_ jumps included; undefined: the
   * top. A reset removes every ML_ jump, then inserts these in ascending order of position, so
   * each goes back exactly where it was among the other rules.
   */
  position?: number;
}

export interface OwnedSnapshot {
  chains: { table: NetfilterTable; name: string; rules: string[]; family?: 6 }[];
  jumps: SnapshotJump[];
  rules: { priority: number; text: string; family?: 6 }[];
  routes: { table: number; text: string; family?: 6 }[];
  sysctls: { key: string; value: string }[];
  /** The ownership record to leave behind; null: none (never applied). */
  owned: OwnedRecord | null;
  /** The link monitor script to run; null: no monitor. */
  monitorScript: string | null;
  /**
   * `table inet multilink` to make (null: none must exist); undefined: the nft table is not
   * touched (a router without a usable nft).
   */
  nft?: NftTable | null;
}

/** What a reset must clear before recreating a snapshot: every priority and table in play. */
export interface ResetScope {
  priorities: number[];
  tables: number[];
  /** Clear IPv6 rules and routes at those priorities and tables too. */
  ipv6?: true;
}
