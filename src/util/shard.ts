// --shard K/N: splits the targeted hosts across N controllers (CI matrix jobs, AWX slices).
// A host's shard depends on its name and N only: the same host is always in the same shard,
// whatever else the inventory holds, and a hash spreads names evenly over the shards.
import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';

export interface Shard {
  /** 1-based: the K of K/N. */
  index: number;
  count: number;
}

export const MAX_SHARDS = 10_000;

export function parseShard(text: string): Shard {
  const m = /^([0-9]+)\/([0-9]+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!(count >= 1 && count <= MAX_SHARDS && index >= 1 && index <= count)) {
    throw new UsageError(`--shard takes K/N, the K-th of N shares with 1 ≤ K ≤ N ≤ ${MAX_SHARDS} (e.g. 2/4), not ${JSON.stringify(text)}`);
  }
  return { index, count };
}

export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}

/**
 * The shard (1..count) of a host name: the first 48 bits of its SHA-256, modulo count. A
 * fixed, documented function: changing it would move hosts between CI jobs.
 */
export function shardOf(name: string, count: number): number {
  const digest = createHash('sha256').update(name, 'utf8').digest();
  return (digest.readUIntBE(0, 6) % count) + 1;
}

/** The items whose name falls in `shard`, in their order. */
export function selectShard<T>(items: readonly T[], nameOf: (item: T) => string, shard: Shard): T[] {
  return items.filter((item) => shardOf(nameOf(item), shard.count) === shard.index);
}

/** The note a sharded command prints on stderr. */
export function shardNote(shard: Shard, selected: number, targeted: number): string {
  return `shard ${formatShard(shard)}: ${selected} of the ${targeted} targeted host${targeted === 1 ? '' : 's'}`;
}
