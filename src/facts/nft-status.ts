// What `status` reads from table inet multilink (listed with its counters): the shares in
// force from the balancing chain's numgen map, new connections per link from the counting
// chains it jumps to (ML_BAL_*, IPv6's ML6_BAL_*), packets and bytes per link from ML_ACCT.
// The same figures the iptables backend's chains give (deploy/status.ts familyCounters).
import type { DesiredState, Family } from '../model/desired.js';
import type { Counters, LiveChain } from '../model/facts.js';
import type { NftTable } from '../model/nft.js';
import { CHAIN_ACCT } from '../compile/iptables-text.js';
import { nftChainName } from '../compile/nft-rule.js';
import { round, type BalanceShares } from './balance-shares.js';

export interface NftFamilyCounters {
  balance?: LiveChain;
  live?: BalanceShares;
  balanced?: Map<number, number>;
  /** ML_ACCT as the iptables backend's reader takes it: `-o IF` rules with their counters. */
  acct?: LiveChain;
}

const COUNTER = /counter packets (\d+) bytes (\d+)/;

function counters(rule: string): Counters | undefined {
  const m = COUNTER.exec(rule);
  return m ? { packets: Number(m[1]), bytes: Number(m[2]) } : undefined;
}

/** Shares of the balancing chain: a numgen map gives each mark its slots out of W; a lone jump all. */
export function nftBalanceShares(rules: readonly string[], family: Family): BalanceShares {
  const shares = new Map<number, number>();
  const unknown: string[] = [];
  const target = new RegExp(`jump ${family === 6 ? 'ML6' : 'ML'}_BAL_([0-9a-f]+)`);
  let reaching = 1;
  for (const rule of rules) {
    if (/ @\w+ /.test(rule) && !/numgen/.test(rule)) continue;
    const map = /numgen (?:random|inc) mod (\d+) vmap \{ (.*) \}/.exec(rule);
    if (map) {
      const w = Number(map[1]);
      for (const el of map[2].split(', ')) {
        const m = /^(\d+)(?:-(\d+))? : jump (?:ML6?)_BAL_([0-9a-f]+)$/.exec(el);
        if (!m) {
          unknown.push(rule);
          continue;
        }
        const size = Number(m[2] ?? m[1]) - Number(m[1]) + 1;
        const mark = Number.parseInt(m[3], 16);
        shares.set(mark, (shares.get(mark) ?? 0) + (reaching * size) / w);
      }
      reaching = 0;
      continue;
    }
    const lone = target.exec(rule);
    if (lone) {
      const mark = Number.parseInt(lone[1], 16);
      shares.set(mark, (shares.get(mark) ?? 0) + reaching);
      reaching = 0;
    }
  }
  for (const [mark, share] of shares) shares.set(mark, round(share));
  return { shares, unknown };
}

/** New connections per link mark of one family: the packets of the counting chains ML_BAL_<mark> (IPv6's ML6_BAL_<mark>). */
export function balancedByMark(table: NftTable, family: Family): Map<number, number> {
  const balanced = new Map<number, number>();
  const prefix = `${family === 6 ? 'ML6' : 'ML'}_BAL_`;
  for (const c of table.chains) {
    if (!c.name.startsWith(prefix)) continue;
    balanced.set(Number.parseInt(c.name.slice(prefix.length), 16), counters(c.rules[0] ?? '')?.packets ?? 0);
  }
  return balanced;
}

export function nftFamilyCounters(table: NftTable | null, desired: DesiredState, family: Family): NftFamilyCounters {
  if (!table) return {};
  const chain = (name: string) => table.chains.find((c) => c.name === name);
  const balance = chain(nftChainName(desired.balanceChain.name, family));
  const balanced = balancedByMark(table, family);
  const acctChain = chain(nftChainName(CHAIN_ACCT, family));
  const acct: LiveChain | undefined = acctChain
    ? {
        name: CHAIN_ACCT,
        policy: '-',
        rules: acctChain.rules.map((r) => {
          const iface = /^oifname "([^"]+)"/.exec(r)?.[1];
          return iface ? `-o ${iface}` : r;
        }),
        ruleCounters: acctChain.rules.map((r) => counters(r) ?? { packets: 0, bytes: 0 }),
      }
    : undefined;
  return {
    ...(balance ? { balance: { name: balance.name, policy: '-', rules: balance.rules } } : {}),
    ...(balance ? { live: nftBalanceShares(balance.rules, family), balanced } : {}),
    ...(acct ? { acct } : {}),
  };
}
