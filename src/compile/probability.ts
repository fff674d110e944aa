// The probability of `-m statistic --mode random`, written the way iptables-save prints it.
// libxt_statistic stores lround(0x80000000 * p) in the kernel and prints that value / 2^31
// with printf("%.11f"); glibc rounds the exact binary value half-to-even. Doing the same in
// integers means the string we send is the string we read back (1/6 → 0.16666666651).

const SCALE = 0x80000000n;
const DECIMALS = 11;
const TEN_POW = 10n ** BigInt(DECIMALS);

/** The 31-bit value the kernel keeps for probability num/den (lround: halves away from zero). */
export function statisticValue(num: number, den: number): number {
  if (!Number.isInteger(num) || !Number.isInteger(den) || den <= 0 || num < 0 || num > den) {
    throw new Error(`probability ${num}/${den} is not a fraction between 0 and 1`);
  }
  const n = BigInt(num);
  const d = BigInt(den);
  return Number((2n * n * SCALE + d) / (2n * d));
}

/** printf("%.11f", value / 2^31), computed exactly. */
export function formatStatisticValue(value: number): string {
  const q = BigInt(value) * TEN_POW;
  let units = q / SCALE;
  const twiceRest = 2n * (q % SCALE);
  if (twiceRest > SCALE || (twiceRest === SCALE && units % 2n === 1n)) units += 1n;
  const whole = units / TEN_POW;
  const frac = (units % TEN_POW).toString().padStart(DECIMALS, '0');
  return `${whole}.${frac}`;
}

/** The canonical `--probability` argument for num/den. */
export function formatProbability(num: number, den: number): string {
  return formatStatisticValue(statisticValue(num, den));
}
