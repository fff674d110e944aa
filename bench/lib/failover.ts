// Failover arithmetic over the data-plane lab's probe and stream records (pure): when new
// connections stopped failing, when a link took new connections again, and whether a
// long-lived stream lived through a window. Used by bench/dataplane and its test twin.
import type { HeldStream, HoldResult, ProbeAttempt } from '../../src/lab/dataplane-traffic.js';

export interface FailoverFigures {
  attempts: number;
  failed: number;
  /** Start (epoch ms) of the last failed attempt started at or after `from`, if any. */
  lastFailedStart?: number;
  /** Start of the first attempt after which every attempt succeeded (undefined: none). */
  allOkFrom?: number;
}

/** From the probe's attempts: when new connections stopped failing after `from`. */
export function failoverFigures(attempts: readonly ProbeAttempt[], from: number): FailoverFigures {
  const after = attempts.filter((a) => a.start >= from).sort((a, b) => a.start - b.start);
  const failed = after.filter((a) => !a.ok);
  const lastFailedStart = failed.length ? failed[failed.length - 1].start : undefined;
  const next = lastFailedStart === undefined ? after[0] : after.find((a) => a.start > lastFailedStart);
  return { attempts: after.length, failed: failed.length, lastFailedStart, allOkFrom: next?.start };
}

/** Client ports used by more than one attempt: conntrack shows only the latest, so their link is unknown. */
export function reusedPorts(attempts: readonly ProbeAttempt[]): Set<number> {
  const seen = new Set<number>();
  const twice = new Set<number>();
  for (const a of attempts) if (a.port !== 0) (seen.has(a.port) ? twice : seen).add(a.port);
  return twice;
}

/** Start of the first successful attempt at or after `from` that r1 sent over `link` (reused ports left out). */
export function firstOnLink(attempts: readonly ProbeAttempt[], links: ReadonlyMap<number, string>, link: string, from: number): number | undefined {
  const reused = reusedPorts(attempts);
  return attempts
    .filter((a) => a.ok && a.start >= from && !reused.has(a.port) && links.get(a.port) === link)
    .map((a) => a.start)
    .sort((a, b) => a - b)[0];
}

export interface StreamVerdict {
  port: number;
  ok: boolean;
  /** Longest run without data inside the window, ms. */
  maxGapMs: number;
  bytes: number;
  reason?: string;
}

/** Did a stream live through [from, to] (epoch ms) without a reset or a gap longer than maxGapMs? */
export function streamSurvived(hold: HoldResult, s: HeldStream, from: number, to: number, maxGapMs = 1000): StreamVerdict {
  const first = Math.max(0, Math.floor((from - hold.t0) / hold.bucketMs));
  const last = Math.min(s.buckets.length - 1, Math.floor((to - hold.t0) / hold.bucketMs));
  let gap = 0;
  let maxGap = 0;
  let bytes = 0;
  for (let i = first; i <= last; i++) {
    bytes += s.buckets[i];
    gap = s.buckets[i] > 0 ? 0 : gap + hold.bucketMs;
    maxGap = Math.max(maxGap, gap);
  }
  const verdict = { port: s.port, maxGapMs: maxGap, bytes };
  if (s.port === 0) return { ...verdict, ok: false, reason: 'never connected' };
  if (s.error && s.errorAt <= to) return { ...verdict, ok: false, reason: `${s.error} at +${((s.errorAt - from) / 1000).toFixed(1)} s` };
  if (s.endedAt && s.endedAt <= to) return { ...verdict, ok: false, reason: `closed by the server at +${((s.endedAt - from) / 1000).toFixed(1)} s` };
  if (maxGap > maxGapMs) return { ...verdict, ok: false, reason: `no data for ${maxGap} ms` };
  return { ...verdict, ok: true };
}
