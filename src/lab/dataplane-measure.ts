// Parsers of what the data-plane lab measures (pure): the packet counters of the balance
// chain per mark, interface byte counters, and iperf3's JSON summary.
import { parseIptablesSave } from '../facts/iptables-save.js';
import { parseNftTable } from '../facts/nft-list.js';
import { balancedByMark } from '../facts/nft-status.js';

/**
 * Packets per mark in ML_BALANCE, from `iptables-save -c -t mangle` (the tool's own parser):
 * each rule that sets a mark counts the new connections it sent to that link (nth has
 * several rules per link).
 */
export function balanceCountersFromSave(text: string, chain = 'ML_BALANCE'): Map<number, number> {
  const out = new Map<number, number>();
  const found = parseIptablesSave(text).chains.find((c) => c.name === chain);
  (found?.rules ?? []).forEach((rule, i) => {
    const m = /-j MARK --set-xmark (0x[0-9a-fA-F]+)\/0x[0-9a-fA-F]+$/.exec(rule.trim());
    if (!m) return;
    const mark = Number.parseInt(m[1], 16);
    out.set(mark, (out.get(mark) ?? 0) + (found?.ruleCounters?.[i]?.packets ?? 0));
  });
  return out;
}

/**
 * The same from the nft backend's table (`nft list table inet multilink`, with counters): the
 * packets of each counting chain the balancing map jumps to (ML_BAL_<mark>, IPv6's ML6_BAL_<mark>).
 */
export function balanceCountersFromNft(text: string, family: 4 | 6 = 4): Map<number, number> {
  const table = parseNftTable(text);
  return table ? balancedByMark(table, family) : new Map();
}

/** after − before per key; keys missing before count from 0. */
export function counterDelta(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): Map<number, number> {
  const out = new Map<number, number>();
  for (const [k, v] of after) out.set(k, v - (before.get(k) ?? 0));
  return out;
}

export interface LinkBytes {
  rxBytes: number;
  txBytes: number;
}

/** `ip -j -s link show`: bytes received and sent per interface name. */
export function linkBytesFromJson(text: string): Map<string, LinkBytes> {
  const parsed: unknown = JSON.parse(text);
  const out = new Map<string, LinkBytes>();
  if (!Array.isArray(parsed)) return out;
  for (const entry of parsed as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const e = entry as { ifname?: unknown; stats64?: { rx?: { bytes?: unknown }; tx?: { bytes?: unknown } } };
    const rx = e.stats64?.rx?.bytes;
    const tx = e.stats64?.tx?.bytes;
    if (typeof e.ifname === 'string' && typeof rx === 'number' && typeof tx === 'number') out.set(e.ifname, { rxBytes: rx, txBytes: tx });
  }
  return out;
}

export interface IperfSummary {
  /** Payload received by the receiver (the client with -R), bits per second. */
  receivedBps: number;
  receivedBytes: number;
  seconds: number;
  streams: number;
}

/** `iperf3 -J` on the client: end.sum_received, the receiver's own count. */
export function iperfSummaryFromJson(text: string): IperfSummary {
  const doc = JSON.parse(text) as {
    error?: string;
    start?: { test_start?: { num_streams?: number } };
    end?: { sum_received?: { bits_per_second?: number; bytes?: number; seconds?: number } };
  };
  if (doc.error) throw new Error(`iperf3: ${doc.error}`);
  const sum = doc.end?.sum_received;
  if (!sum || typeof sum.bits_per_second !== 'number') throw new Error('iperf3 JSON has no end.sum_received');
  return {
    receivedBps: sum.bits_per_second,
    receivedBytes: sum.bytes ?? 0,
    seconds: sum.seconds ?? 0,
    streams: doc.start?.test_start?.num_streams ?? 0,
  };
}

/** Each value's share of the total, in percent. */
export function sharesPercent(values: readonly number[]): number[] {
  const total = values.reduce((a, b) => a + b, 0);
  return values.map((v) => (total === 0 ? 0 : (100 * v) / total));
}
