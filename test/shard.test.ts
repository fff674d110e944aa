// --shard K/N: parsing, a fixed assignment, stability whatever the other hosts, a partition of
// the fleet, and an even spread over 1,000 names.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { parseShard, selectShard, shardOf } from '../src/util/shard.js';

/** 1,000 names as fleets spell them: numbered, site-coded, FQDN-like. */
const NAMES = [
  ...Array.from({ length: 400 }, (_, i) => `r${i + 1}`),
  ...Array.from({ length: 300 }, (_, i) => `edge-${['ber', 'ams', 'par', 'lon', 'mad', 'rom'][i % 6]}-${String(Math.floor(i / 6) + 1).padStart(3, '0')}`),
  ...Array.from({ length: 300 }, (_, i) => `cpe${i * 7 + 3}.customers.example.net`),
];

describe('parseShard', () => {
  it.each([
    ['1/1', { index: 1, count: 1 }],
    ['2/4', { index: 2, count: 4 }],
    ['4/4', { index: 4, count: 4 }],
    [' 3/10 ', { index: 3, count: 10 }],
  ])('%s', (text, shard) => {
    expect(parseShard(text)).toEqual(shard);
  });
  it.each(['0/4', '5/4', '1/0', '0/0', '4', '/4', '1/', 'a/b', '1/4/2', '-1/4', '1.5/4', '1/10001', ''])('refuses %j as a usage error', (text) => {
    expect(() => parseShard(text)).toThrow(UsageError);
    expect(() => parseShard(text)).toThrow(/--shard takes K\/N/);
  });
});

describe('shardOf', () => {
  it('is a fixed function of the name and N (changing it would move hosts between CI jobs)', () => {
    expect(['r1', 'r2', 'r3', 'r4', 'r5'].map((h) => shardOf(h, 4))).toEqual([1, 2, 4, 2, 2]);
    expect(['r1', 'r2', 'r3', 'r4', 'r5'].map((h) => shardOf(h, 3))).toEqual([1, 2, 2, 1, 3]);
    expect(shardOf('anything', 1)).toBe(1);
  });

  it('keeps a host in its shard whatever the other hosts are', () => {
    const small = NAMES.slice(0, 50);
    const big = [...NAMES].reverse();
    for (const count of [2, 5, 16]) {
      for (let index = 1; index <= count; index++) {
        const shard = { index, count };
        const inSmall = new Set(selectShard(small, (n) => n, shard));
        const inBig = new Set(selectShard(big, (n) => n, shard));
        for (const name of small) expect(inSmall.has(name)).toBe(inBig.has(name));
      }
    }
  });

  it('the N shards split the hosts: each in exactly one, in the given order', () => {
    for (const count of [1, 2, 3, 7]) {
      const shards = Array.from({ length: count }, (_, i) => selectShard(NAMES, (n) => n, { index: i + 1, count }));
      expect(shards.flat().sort()).toEqual([...NAMES].sort());
      for (const s of shards) expect(s).toEqual(NAMES.filter((n) => s.includes(n)));
    }
  });

  it('spreads 1,000 names evenly: every shard within 4 standard deviations, and a chi-square a fair split passes', () => {
    for (const count of [2, 3, 4, 5, 8, 10, 16, 32]) {
      const sizes = Array.from({ length: count }, () => 0);
      for (const name of NAMES) sizes[shardOf(name, count) - 1]++;
      const expected = NAMES.length / count;
      const sd = Math.sqrt(NAMES.length * (1 / count) * (1 - 1 / count));
      for (const size of sizes) expect(Math.abs(size - expected)).toBeLessThanOrEqual(4 * sd);
      // Chi-square with count-1 degrees of freedom: a fair random split stays under its
      // 99.9th percentile, which dof + 3.1·sqrt(2·dof) + 6 exceeds for these dof (per tables).
      const chi2 = sizes.reduce((sum, s) => sum + (s - expected) ** 2 / expected, 0);
      const dof = count - 1;
      expect(chi2).toBeLessThan(dof + 3.1 * Math.sqrt(2 * dof) + 6);
    }
  });
});
