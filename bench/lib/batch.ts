// bench/dataplane part (e), issue 12: batches of fixed-size downloads, one connection each,
// over parallel workers, timed from the batch's first byte to its last, with the bytes each
// link carried: static 1:2:3, static 1:1:1 and adaptive from 1:1:1 after one learning batch;
// then one link falls from 60 to 10 Mbit/s and adaptive (after one learning batch) and static
// 1:2:3 are compared with the ideal: the batch's bytes over the remaining links' goodput.
import type { LabInfo } from '../../src/lab/lab.js';
import { runBatch, setIspRate, startDownloadServer, type BatchResult } from '../../src/lab/dataplane-batch.js';
import type { BalanceMethod } from '../../src/model/config.js';

export interface BatchOptions {
  count: number;
  workers: number;
  sizeBytes: number;
}

/** TCP payload per frame on this lab's links (MSS 1448 with timestamps in a 1514-byte frame). */
export const GOODPUT = 1448 / 1514;

const fmt = (n: number, d = 1): string => n.toFixed(d);

function line(label: string, r: BatchResult): string {
  const mb = Object.entries(r.linkBytes).map(([l, b]) => `${l} ${fmt(b / 1e6, 0)} MB`).join(', ');
  return `  ${label.padEnd(34)} ${fmt(r.seconds, 2).padStart(6)} s   ${mb}${r.failed ? `; ${r.failed} FAILED` : ''}`;
}

export async function batches(
  lab: LabInfo,
  opts: BatchOptions,
  deploy: (name: string, method: BalanceMethod, weights: number[]) => void,
  out: string[],
): Promise<boolean> {
  const rates = lab.dataplane!.rates;
  await startDownloadServer(lab, { size: opts.sizeBytes, maxS: 3600 });
  const batch = () => runBatch(lab, { count: opts.count, workers: opts.workers, limitMs: 600_000 });
  out.push('', `(e) batches: ${opts.count} downloads of ${fmt(opts.sizeBytes / 1e6, 1)} MB, ${opts.workers} at a time, first byte to last`);

  deploy('static-123', 'random', [1, 2, 3]);
  const s123 = await batch();
  out.push(line('static 1:2:3', s123));
  deploy('static-111', 'random', [1, 1, 1]);
  out.push(line('static 1:1:1', await batch()));
  deploy('adaptive', 'adaptive', [1, 1, 1]);
  out.push(line('adaptive from 1:1:1, learning', await batch()));
  const adaptive = await batch();
  out.push(line('adaptive, next batch', adaptive));
  const ratio = adaptive.seconds / s123.seconds;
  out.push(`  adaptive / static 1:2:3 = ${fmt(ratio, 3)} (goal ≤ 1.10): ${ratio <= 1.1 ? 'pass' : 'FAIL'}`);

  const dropped = rates.length - 1;
  const newRates = rates.map((r, i) => (i === dropped ? 10 : r));
  await setIspRate(lab, dropped + 1, 10);
  const ideal = (opts.count * opts.sizeBytes) / ((newRates.reduce((a, b) => a + b, 0) * 1e6 * GOODPUT) / 8);
  out.push(`  link ${dropped + 1} falls from ${rates[dropped]} to 10 Mbit/s: ideal ${fmt(ideal, 2)} s (${opts.count * opts.sizeBytes / 1e6} MB over ${newRates.join('+')} Mbit/s × ${fmt(GOODPUT, 3)} goodput)`);
  out.push(line('adaptive, learning', await batch()));
  const adaptiveDrop = await batch();
  out.push(line('adaptive, next batch', adaptiveDrop));
  deploy('static-123', 'random', [1, 2, 3]);
  const staticDrop = await batch();
  out.push(line('static 1:2:3', staticDrop));
  // The best a static operator could do now: weights by the new rates.
  const byRate = newRates.map((r) => r / 10);
  deploy('static-new', 'random', byRate);
  out.push(line(`static ${byRate.join(':')} (by the new rates)`, await batch()));
  const adaptiveRatio = adaptiveDrop.seconds / ideal;
  out.push(
    `  adaptive / ideal = ${fmt(adaptiveRatio, 3)} (goal ≤ 1.25): ${adaptiveRatio <= 1.25 ? 'pass' : 'FAIL'}; static 1:2:3 / ideal = ${fmt(staticDrop.seconds / ideal, 2)}, ${fmt(staticDrop.seconds / adaptiveDrop.seconds, 2)}× adaptive`,
  );
  await setIspRate(lab, dropped + 1, rates[dropped]);
  return ratio <= 1.1 && adaptiveRatio <= 1.25;
}
