// The balancing chain (ML_BALANCE) in nft: the same decision as the iptables chain it is
// given (compile/balance.ts, or what the link monitor picked for the healthy links), made by
// one `numgen` verdict map with exact integer weights instead of a cascade of probabilities.
// Taking the iptables rules as input keeps one source of truth for every method, every set
// of healthy links and the weights method adaptive learnt on the router.
import type { Family } from '../model/desired.js';
import { balanceTargetName, markMatchNft } from './nft-rule.js';

/** The largest modulus tried for a random split: shares are exact up to 1/1000. */
const MAX_MODULUS = 1000;

interface Slot {
  mark: number;
  size: number;
}

function setKey(family: Family): string {
  return family === 6 ? 'ip6 saddr & ffff:ffff:ffff:ffff::' : 'ip saddr';
}

/** `{ 0 : jump A, 1-2 : jump B }`: consecutive values of the same link merged. */
function vmap(slots: Slot[], family: Family): string {
  const merged: Slot[] = [];
  for (const s of slots) {
    const last = merged[merged.length - 1];
    if (last && last.mark === s.mark) last.size += s.size;
    else if (s.size > 0) merged.push({ ...s });
  }
  let at = 0;
  const parts = merged.map((s) => {
    const from = at;
    at += s.size;
    const key = s.size === 1 ? `${from}` : `${from}-${at - 1}`;
    return `${key} : jump ${balanceTargetName(s.mark, family)}`;
  });
  return `{ ${parts.join(', ')} }`;
}

/**
 * Whole weights from a cascade's probabilities: link i's share is p_i × (1 − p_1) … (1 − p_{i−1}).
 * The smallest modulus that makes every share whole (within rounding of the printed
 * probabilities) is exact; otherwise the shares are rounded to thousandths, largest remainder first.
 */
export function cascadeWeights(probabilities: (number | undefined)[]): number[] {
  let rest = 1;
  const shares = probabilities.map((p) => {
    const share = p === undefined ? rest : rest * p;
    rest -= share;
    return share;
  });
  for (let w = 1; w <= MAX_MODULUS; w++) {
    const scaled = shares.map((s) => s * w);
    if (scaled.every((x) => Math.abs(x - Math.round(x)) < 1e-6 * w)) return scaled.map((x) => Math.round(x));
  }
  const scaled = shares.map((s) => s * MAX_MODULUS);
  const whole = scaled.map((x) => Math.floor(x));
  let left = MAX_MODULUS - whole.reduce((a, b) => a + b, 0);
  const order = scaled.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r);
  for (const { i } of order) {
    if (left <= 0) break;
    whole[i]++;
    left--;
  }
  return whole;
}

function gcdAll(ns: number[]): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  return ns.reduce((a, b) => gcd(a, b), 0);
}

const XMARK = / -j MARK --set-xmark (0x[0-9a-f]+)\/0x[0-9a-f]+$/;

/** ML_BALANCE's iptables rules → its nft rules. */
export function nftBalanceRules(rules: readonly string[], mask: number, family: Family): string[] {
  const guard = markMatchNft(0, mask);
  const out: string[] = [];
  const cascade: { p?: number; mark: number }[] = [];
  const nth: { every?: number; mark: number }[] = [];
  const record: string[] = [];
  for (const r of rules) {
    const recall = /^-m mark --mark 0x0\/0x[0-9a-f]+ -m recent --rcheck --seconds \d+ --name (\w+) --mask \S+ --rsource -j MARK --set-xmark (0x[0-9a-f]+)\/0x[0-9a-f]+$/.exec(r);
    const set = /^-m mark --mark (0x[0-9a-f]+)\/0x[0-9a-f]+ -m recent --set --name (\w+) --mask \S+ --rsource$/.exec(r);
    const random = /^-m mark --mark 0x0\/0x[0-9a-f]+(?: -m statistic --mode random --probability ([0-9.]+))?/.exec(r);
    const every = /-m statistic --mode nth --every (\d+) --packet \d+/.exec(r);
    const mark = XMARK.exec(r);
    if (recall) out.push(`${guard} ${setKey(family)}${family === 6 ? ' ==' : ''} @${recall[1]} jump ${balanceTargetName(Number(recall[2]), family)}`);
    else if (set) record.push(`${markMatchNft(Number(set[1]), mask)} update @${set[2]} { ${setKey(family)} }`);
    else if (every && mark) nth.push({ every: Number(every[1]), mark: Number(mark[1]) });
    else if (random && mark && !r.includes('--mode nth')) {
      if (nth.length > 0) nth.push({ mark: Number(mark[1]) });
      else cascade.push({ ...(random[1] !== undefined ? { p: Number(random[1]) } : {}), mark: Number(mark[1]) });
    } else throw new Error(`no nft form for the balancing rule '${r}'`);
  }
  if (nth.length > 0) {
    // Position 1 of each cycle is the catch-all's, position E the rule with --every E (compile/balance.ts).
    const total = nth.length;
    const byPosition = new Map<number, number>();
    for (const n of nth) byPosition.set(n.every ?? 1, n.mark);
    const slots: Slot[] = [];
    for (let pos = 1; pos <= total; pos++) slots.push({ mark: byPosition.get(pos) ?? fallback(rules), size: 1 });
    out.push(`${guard} numgen inc mod ${total} vmap ${vmap(slots, family)}`);
  } else if (cascade.length === 1) {
    out.push(`${guard} jump ${balanceTargetName(cascade[0].mark, family)}`);
  } else if (cascade.length > 1) {
    const weights = cascadeWeights(cascade.map((c) => c.p));
    const g = gcdAll(weights.filter((w) => w > 0)) || 1;
    const slots = cascade.map((c, i) => ({ mark: c.mark, size: weights[i] / g }));
    const total = slots.reduce((a, s) => a + s.size, 0);
    out.push(`${guard} numgen random mod ${total} vmap ${vmap(slots, family)}`);
  }
  return [...out, ...record];
}

function fallback(rules: readonly string[]): never {
  throw new Error(`an nth balancing chain with a gap in its cycle: ${rules.join(' | ')}`);
}
