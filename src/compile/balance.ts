// The balance chain (ML_BALANCE): how a new, unmarked connection picks its link.
// Weight changes and the link monitor replace only this chain, so balanceRules() is
// usable on its own for any subset of healthy links.
//
// Every rule starts with the guard `-m mark --mark 0x0/MASK`: MARK does not end the
// chain, so without the guard a later rule could re-mark a packet, and (for nth) a packet
// that is already decided would advance a later rule's counter and break exactness.
import type { BalanceMethod } from '../model/config.js';
import type { CompiledLink, Family } from '../model/desired.js';
import { markMatch, setMark, stickyListName, unmarked } from './iptables-text.js';
import { eligibleLinks } from './links.js';
import { formatProbability } from './probability.js';

/** How long a source address keeps its link after its last new connection (sticky). */
export const STICKY_SECONDS = 3600;

/** Rules of ML_BALANCE for the given links; tier and weight selection is applied here too. */
export function balanceRules(links: CompiledLink[], method: BalanceMethod, mask: number, family: Family = 4): string[] {
  const chosen = eligibleLinks(links);
  if (chosen.length === 0) return [];
  switch (method) {
    case 'random':
    // adaptive starts from the configured weights; the link monitor moves them on the router.
    case 'adaptive':
      return randomCascade(chosen, mask);
    case 'nth':
      return nthRules(chosen, mask);
    case 'sticky':
      return stickyRules(chosen, mask, family);
  }
}

/**
 * Random cascade: link i is taken with probability w_i / (w_i + … + w_n) among the packets
 * that no earlier rule took, which gives each link exactly w_i / W overall. The last link
 * takes whatever is left, without a statistic match.
 */
export function randomCascade(links: CompiledLink[], mask: number): string[] {
  let remaining = links.reduce((sum, l) => sum + l.weight, 0);
  return links.map((l, i) => {
    const last = i === links.length - 1;
    const statistic = last ? '' : ` -m statistic --mode random --probability ${formatProbability(l.weight, remaining)}`;
    remaining -= l.weight;
    return `${unmarked(mask)}${statistic} ${setMark(l.mark, mask)}`;
  });
}

/**
 * nth: exact proportions. With W the total weight (after dividing by the weights' gcd),
 * rule j (j = 0 … W−2) is `--every W−j --packet W−j−1`, followed by a catch-all. Each nth
 * rule has its own counter, advanced only by packets that reach it and pass the guard, and
 * `--packet E−1` starts it so that the rule fires on the E-th packet it sees and every E-th
 * after. Out of every W new connections rule 0 takes the W-th, rule 1 the (W−1)-th, …, and
 * the catch-all the first: W slots, one each, exact over every cycle. Slots are given to
 * links in smooth weighted round-robin order, so link i gets exactly w_i slots per cycle,
 * spread over it.
 * Why not `--packet 0`: iptables 1.8.9 refuses `--every` without `--packet` but prints no
 * `--packet` when it is 0, so that rule could not be written as iptables-save prints it.
 * A non-zero --packet reads back verbatim and restores as is.
 */
export function nthRules(links: CompiledLink[], mask: number): string[] {
  const weights = reducedWeights(links.map((l) => l.weight));
  const order = smoothOrder(weights);
  const total = order.length;
  const rules: string[] = [];
  for (let j = 0; j < total - 1; j++) {
    const every = total - j;
    // Rule j fires at position `every` of each cycle (1-based), i.e. order[every − 1].
    const link = links[order[every - 1]];
    rules.push(`${unmarked(mask)} -m statistic --mode nth --every ${every} --packet ${every - 1} ${setMark(link.mark, mask)}`);
  }
  rules.push(`${unmarked(mask)} ${setMark(links[order[0]].mark, mask)}`);
  return rules;
}

/**
 * sticky (per source address), with xt_recent. List ML_S<k> holds the sources whose last
 * new connection went out of link k. (1) A source found in the list of an eligible link,
 * seen within STICKY_SECONDS, keeps that link. (2) Otherwise the random cascade picks one.
 * (3) The chosen link's list records the source (--set also refreshes the timestamp), so
 * an active source never expires. A link taken out of the chain loses its (1) rule, so its
 * sources are rebalanced; if it comes back within the horizon, sources that had used it
 * and were not seen elsewhere since may return to it (lists are checked in play order).
 * xt_recent keeps ip_list_tot (default 200) addresses per list, the oldest are dropped.
 */
export function stickyRules(links: CompiledLink[], mask: number, family: Family = 4): string[] {
  // An IPv6 client changes its privacy address every day or so, within its /64: the /64 is the source.
  const source = family === 6 ? 'ffff:ffff:ffff:ffff::' : '255.255.255.255';
  const list = (l: CompiledLink): string => stickyListName(l.index, family);
  const recall = links.map((l) => `${unmarked(mask)} -m recent --rcheck --seconds ${STICKY_SECONDS} --name ${list(l)} --mask ${source} --rsource ${setMark(l.mark, mask)}`);
  const record = links.map((l) => `${markMatch(l.mark, mask)} -m recent --set --name ${list(l)} --mask ${source} --rsource`);
  return [...recall, ...randomCascade(links, mask), ...record];
}

/** Weights divided by their greatest common divisor: same proportions, shortest nth cycle. */
export function reducedWeights(weights: number[]): number[] {
  const g = weights.reduce((a, b) => gcd(a, b), 0);
  return g === 0 ? weights : weights.map((w) => w / g);
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Smooth weighted round robin (as in nginx): each step every entry gains its weight, the
 * largest (first on a tie) is picked and loses the total. Over one cycle of sum(weights)
 * steps entry i is picked exactly weights[i] times. Returns the picked positions.
 */
export function smoothOrder(weights: number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const current = weights.map(() => 0);
  const order: number[] = [];
  for (let step = 0; step < total; step++) {
    let best = -1;
    for (let i = 0; i < weights.length; i++) {
      if (weights[i] <= 0) continue;
      current[i] += weights[i];
      if (best === -1 || current[i] > current[best]) best = i;
    }
    current[best] -= total;
    order.push(best);
  }
  return order;
}
