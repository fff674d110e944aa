import { describe, expect, it } from 'vitest';
import { balanceRules, nthRules, randomCascade, reducedWeights, smoothOrder, stickyRules } from '../src/compile/balance.js';
import { eligibleLinks } from '../src/compile/links.js';
import { formatProbability, formatStatisticValue, statisticValue } from '../src/compile/probability.js';
import { ChainSim, seededRandom } from './fixtures/render/chain-sim.js';
import { compiledLinks, METHODS } from './fixtures/render/host-config.js';

const MASK = 0xff00;
const G = '-m mark --mark 0x0/0xff00';

function counts(marks: number[], links: number): number[] {
  const out = new Array<number>(links).fill(0);
  for (const m of marks) out[m / 0x100 - 1]++;
  return out;
}

describe('statistic probability as iptables-save prints it', () => {
  it.each([
    [1, 6, '0.16666666651'],
    [1, 3, '0.33333333349'],
    [2, 3, '0.66666666651'],
    [1, 2, '0.50000000000'],
    [1, 7, '0.14285714272'],
    [2, 5, '0.39999999991'],
    [1, 1, '1.00000000000'],
    [0, 1, '0.00000000000'],
    // Exact ties at the 12th decimal: glibc rounds half to even (recorded from iptables-save).
    [1, 4096, '0.00024414062'],
    [3, 4096, '0.00073242188'],
  ])('%i/%i → %s', (num, den, text) => {
    expect(formatProbability(num, den)).toBe(text);
  });

  it('reads back to the same kernel value for every fraction with a small denominator', () => {
    for (let den = 1; den <= 200; den++) {
      for (let num = 0; num <= den; num++) {
        const v = statisticValue(num, den);
        expect(Math.round(Number(formatStatisticValue(v)) * 0x80000000)).toBe(v);
      }
    }
  });
});

describe('eligible links', () => {
  it('drops weight 0 and keeps the lowest tier that has weight', () => {
    expect(eligibleLinks(compiledLinks([1, 0, 2], [1, 1, 2])).map((l) => l.index)).toEqual([1]);
    expect(eligibleLinks(compiledLinks([0, 0, 2, 3], [1, 1, 2, 2])).map((l) => l.index)).toEqual([3, 4]);
    expect(eligibleLinks(compiledLinks([0, 5], [1, 1])).map((l) => l.index)).toEqual([2]);
    expect(eligibleLinks(compiledLinks([0, 0]))).toEqual([]);
  });

  it('no eligible link gives no balancing rule, for every method', () => {
    for (const m of METHODS) expect(balanceRules(compiledLinks([0, 0]), m, MASK)).toEqual([]);
    for (const m of METHODS) expect(balanceRules([], m, MASK)).toEqual([]);
  });
});

describe('random cascade', () => {
  it('1:1:1 → 1/3, 1/2, rest', () => {
    expect(randomCascade(compiledLinks([1, 1, 1]), MASK)).toEqual([
      `${G} -m statistic --mode random --probability 0.33333333349 -j MARK --set-xmark 0x100/0xff00`,
      `${G} -m statistic --mode random --probability 0.50000000000 -j MARK --set-xmark 0x200/0xff00`,
      `${G} -j MARK --set-xmark 0x300/0xff00`,
    ]);
  });

  it('1:2:3 → 1/6, 2/5, rest', () => {
    expect(balanceRules(compiledLinks([1, 2, 3]), 'random', MASK)).toEqual([
      `${G} -m statistic --mode random --probability 0.16666666651 -j MARK --set-xmark 0x100/0xff00`,
      `${G} -m statistic --mode random --probability 0.39999999991 -j MARK --set-xmark 0x200/0xff00`,
      `${G} -j MARK --set-xmark 0x300/0xff00`,
    ]);
  });

  it('skips zero weights and keeps the links’ own marks', () => {
    expect(balanceRules(compiledLinks([1, 0, 1]), 'random', MASK)).toEqual([
      `${G} -m statistic --mode random --probability 0.50000000000 -j MARK --set-xmark 0x100/0xff00`,
      `${G} -j MARK --set-xmark 0x300/0xff00`,
    ]);
  });

  it('one link: unconditional, no statistic', () => {
    expect(balanceRules(compiledLinks([7]), 'random', MASK)).toEqual([`${G} -j MARK --set-xmark 0x100/0xff00`]);
  });

  it('tier 2 only when every tier-1 link has weight 0', () => {
    const links = compiledLinks([1, 1, 1], [1, 1, 2]);
    expect(balanceRules(links, 'random', MASK).join('\n')).not.toContain('0x300/0xff00');
    const drained = compiledLinks([0, 0, 1], [1, 1, 2]);
    expect(balanceRules(drained, 'random', MASK)).toEqual([`${G} -j MARK --set-xmark 0x300/0xff00`]);
  });

  it.each([[[1, 1, 1]], [[1, 2, 3]], [[1, 6]], [[5, 3]], [[1, 4095]], [[97, 1, 13, 250]]])(
    'the kernel-quantised cascade gives each link its weight share within 1e-8 (%j)',
    (weights) => {
      const rules = randomCascade(compiledLinks(weights), MASK);
      const total = weights.reduce((a, b) => a + b, 0);
      let left = 1;
      rules.forEach((r, i) => {
        const m = / --probability (\S+)/.exec(r);
        const p = m ? Math.round(Number(m[1]) * 0x80000000) / 0x80000000 : 1;
        expect(Math.abs(left * p - weights[i] / total)).toBeLessThan(1e-8);
        left *= 1 - p;
      });
    },
  );

  it('simulated over 60,000 connections each share is within 1 point of its weight', () => {
    const sim = new ChainSim(randomCascade(compiledLinks([1, 2, 3]), MASK), { random: seededRandom(42) });
    const c = counts(Array.from({ length: 60_000 }, () => sim.run()), 3);
    c.forEach((n, i) => expect(Math.abs(n / 60_000 - [1, 2, 3][i] / 6)).toBeLessThan(0.01));
  });
});

describe('nth', () => {
  it('1:2:3 → every 6,5,4,3,2 then a catch-all, slots in smooth round-robin order', () => {
    // Cycle positions 1..6 go to links 3,2,1,3,2,3 (smooth order); rule `--every E` takes
    // position E, the catch-all position 1.
    expect(nthRules(compiledLinks([1, 2, 3]), MASK)).toEqual([
      `${G} -m statistic --mode nth --every 6 --packet 5 -j MARK --set-xmark 0x300/0xff00`,
      `${G} -m statistic --mode nth --every 5 --packet 4 -j MARK --set-xmark 0x200/0xff00`,
      `${G} -m statistic --mode nth --every 4 --packet 3 -j MARK --set-xmark 0x300/0xff00`,
      `${G} -m statistic --mode nth --every 3 --packet 2 -j MARK --set-xmark 0x100/0xff00`,
      `${G} -m statistic --mode nth --every 2 --packet 1 -j MARK --set-xmark 0x200/0xff00`,
      `${G} -j MARK --set-xmark 0x300/0xff00`,
    ]);
  });

  it('connections follow the smooth order within each cycle', () => {
    const sim = new ChainSim(nthRules(compiledLinks([1, 2, 3]), MASK));
    const marks = Array.from({ length: 12 }, () => sim.run() / 0x100);
    expect(marks).toEqual([3, 2, 1, 3, 2, 3, 3, 2, 1, 3, 2, 3]);
  });

  it('one link: a single catch-all', () => {
    expect(balanceRules(compiledLinks([3]), 'nth', MASK)).toEqual([`${G} -j MARK --set-xmark 0x100/0xff00`]);
  });

  it('divides by the gcd: 2:4:6 is the 6-slot cycle of 1:2:3', () => {
    expect(reducedWeights([2, 4, 6])).toEqual([1, 2, 3]);
    expect(nthRules(compiledLinks([2, 4, 6]), MASK)).toEqual(nthRules(compiledLinks([1, 2, 3]), MASK));
  });

  it('smooth order gives each entry exactly its weight per cycle', () => {
    expect(smoothOrder([1, 2, 3])).toEqual([2, 1, 0, 2, 1, 2]);
    expect(smoothOrder([5, 3])).toEqual([0, 1, 0, 0, 1, 0, 1, 0]);
  });

  it.each([[[1, 2, 3]], [[1, 1, 1]], [[5, 3]], [[4]], [[1, 0, 2]], [[3, 1, 1, 2]], [[10, 1]]])(
    'exact over every cycle of W connections, by simulating the kernel counters (%j)',
    (weights) => {
      const links = compiledLinks(weights);
      const sim = new ChainSim(balanceRules(links, 'nth', MASK));
      const reduced = reducedWeights(weights.filter((w) => w > 0));
      const W = reduced.reduce((a, b) => a + b, 0);
      const expected = weights.map((w) => (w === 0 ? 0 : (reduced.shift() ?? 0)));
      for (let cycle = 0; cycle < 50; cycle++) {
        const marks = Array.from({ length: W }, () => sim.run());
        expect(marks.every((m) => m !== 0)).toBe(true);
        expect(counts(marks, weights.length)).toEqual(expected);
      }
    },
  );

  it('without the guard in front of the statistic match counts would drift (the guard matters)', () => {
    const unguarded = nthRules(compiledLinks([1, 2, 3]), MASK).map((r) => r.replace(`${G} -m statistic`, '-m statistic'));
    const sim = new ChainSim(unguarded);
    const marks = Array.from({ length: 60 }, () => sim.run());
    expect(counts(marks, 3)).not.toEqual([10, 20, 30]);
  });
});

describe('sticky', () => {
  it('recalls per link, falls back to the cascade, then records the choice', () => {
    expect(stickyRules(compiledLinks([1, 1]), MASK)).toEqual([
      `${G} -m recent --rcheck --seconds 3600 --name ML_S1 --mask 255.255.255.255 --rsource -j MARK --set-xmark 0x100/0xff00`,
      `${G} -m recent --rcheck --seconds 3600 --name ML_S2 --mask 255.255.255.255 --rsource -j MARK --set-xmark 0x200/0xff00`,
      `${G} -m statistic --mode random --probability 0.50000000000 -j MARK --set-xmark 0x100/0xff00`,
      `${G} -j MARK --set-xmark 0x200/0xff00`,
      '-m mark --mark 0x100/0xff00 -m recent --set --name ML_S1 --mask 255.255.255.255 --rsource',
      '-m mark --mark 0x200/0xff00 -m recent --set --name ML_S2 --mask 255.255.255.255 --rsource',
    ]);
  });

  it('list names follow the link index, so a subset keeps each link’s list', () => {
    const rules = balanceRules(compiledLinks([1, 0, 1]), 'sticky', MASK).join('\n');
    expect(rules).toContain('--name ML_S3');
    expect(rules).not.toContain('--name ML_S2');
  });

  it('a source keeps its link; sources spread by weight', () => {
    let clock = 0;
    const sim = new ChainSim(balanceRules(compiledLinks([1, 3]), 'sticky', MASK), { random: seededRandom(7), now: () => clock });
    const first = new Map<string, number>();
    for (let round = 0; round < 5; round++) {
      for (let s = 0; s < 4000; s++) {
        const src = `10.0.${s >> 8}.${s & 255}`;
        const mark = sim.run(src);
        const was = first.get(src);
        if (was === undefined) first.set(src, mark);
        else expect(mark).toBe(was);
        clock += 0.01;
      }
    }
    const share = [...first.values()].filter((m) => m === 0x100).length / first.size;
    expect(Math.abs(share - 0.25)).toBeLessThan(0.03);
  });

  it('after the horizon a source is balanced afresh', () => {
    let clock = 0;
    const sim = new ChainSim(balanceRules(compiledLinks([1, 1]), 'sticky', MASK), { random: () => 0, now: () => clock });
    expect(sim.run('10.0.0.1')).toBe(0x100);
    clock = 3601;
    expect(sim.recent.get('ML_S1')?.get('10.0.0.1')).toBe(0);
    expect(sim.run('10.0.0.1')).toBe(0x100);
    expect(sim.recent.get('ML_S1')?.get('10.0.0.1')).toBe(3601);
  });
});
