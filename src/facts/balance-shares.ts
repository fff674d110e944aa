// Reads the live balance chain back into the share of new connections each mark gets, so
// `status` shows the weights in force (which a weight change or the monitor may have set),
// not only the configured ones. Pure.
//
// The chain is a cascade: each deciding rule sees only what earlier rules left.
// - `--mode random --probability p` takes p of what reaches it;
// - `--mode nth --every E` takes one in E of what reaches it (its own counter), which over
//   a whole cycle is exactly reaching/E;
// - a rule with no statistic match takes everything that reaches it.
// Sticky recall rules (`-m recent --rcheck`) only re-send known sources and the record
// rules set no mark: neither decides a new source's link, so both are left out.

export interface BalanceShares {
  /** Share of new connections (0 to 1) per mark value, in the order the chain names them. */
  shares: Map<number, number>;
  /** Rules that set a mark in a way this reader does not know; their mark has no share. */
  unknown: string[];
}

const SET_MARK = /-j MARK --set-xmark (0x[0-9a-f]+)\/(0x[0-9a-f]+)/;

export function balanceShares(rules: string[], mask: number): BalanceShares {
  const shares = new Map<number, number>();
  const unknown: string[] = [];
  let reaching = 1;
  for (const rule of rules) {
    const set = SET_MARK.exec(rule);
    if (!set) continue;
    if (/ -m recent --rcheck /.test(` ${rule} `)) continue;
    const mark = Number(set[1]) & mask;
    let taken: number;
    const random = /-m statistic --mode random --probability ([0-9.]+)/.exec(rule);
    const nth = /-m statistic --mode nth --every (\d+)/.exec(rule);
    if (random) taken = reaching * Number(random[1]);
    else if (nth) taken = reaching / Number(nth[1]);
    else if (/-m statistic /.test(rule)) {
      unknown.push(rule);
      continue;
    } else taken = reaching;
    shares.set(mark, (shares.get(mark) ?? 0) + taken);
    reaching -= taken;
  }
  for (const [mark, share] of shares) shares.set(mark, round(share));
  return { shares, unknown };
}

/** Shares are shown, not computed with: 6 decimals hide the kernel's 2^-31 rounding. */
export function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
