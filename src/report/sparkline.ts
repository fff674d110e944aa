// A sparkline: values as eighth-blocks in one line of text, for trends in a terminal.
const BLOCKS = '▁▂▃▄▅▆▇█';

/** One character per value, scaled to `max` (at least the largest value); null is a gap. */
export function sparkline(values: readonly (number | null)[], max?: number): string {
  const top = Math.max(max ?? 0, ...values.map((v) => v ?? 0));
  return values
    .map((v) => {
      if (v === null) return ' ';
      if (top <= 0) return BLOCKS[0];
      return BLOCKS[Math.min(BLOCKS.length - 1, Math.max(0, Math.ceil((v / top) * BLOCKS.length) - 1))];
    })
    .join('');
}

export interface TimedValue {
  /** Epoch ms. */
  at: number;
  value: number;
}

/**
 * `columns` buckets covering the `spanMs` up to `now`, oldest first: each the mean of the
 * samples that fall in it, or null when none does.
 */
export function bucketed(samples: readonly TimedValue[], now: number, spanMs: number, columns: number): (number | null)[] {
  const width = spanMs / columns;
  const sums = new Array<number>(columns).fill(0);
  const counts = new Array<number>(columns).fill(0);
  for (const s of samples) {
    const age = now - s.at;
    if (age < 0 || age >= spanMs) continue;
    const i = columns - 1 - Math.floor(age / width);
    sums[i] += s.value;
    counts[i] += 1;
  }
  return sums.map((sum, i) => (counts[i] === 0 ? null : sum / counts[i]));
}
