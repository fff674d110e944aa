// adaptive.awk, the learning and the chain of method adaptive, run by the awks a router may
// have (BusyBox's, Debian's mawk): weights move towards equal per-connection rates in
// bounded steps, idle and down links keep their estimate, bounds and tiers hold, and the
// chain is the cascade multilink's own compiler writes for the same whole weights.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { randomCascade } from '../src/compile/balance.js';
import { compiledLinks } from './fixtures/render/host-config.js';

const PROGRAM = readFileSync(new URL('../src/remote/adaptive.awk', import.meta.url), 'utf8');
const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd.split(' ')[0]}`]).status === 0;
const AWKS = ['mawk', 'busybox awk', 'gawk'].filter(has);
if (AWKS.length < 2) console.log(`adaptive.awk checked with ${AWKS.join(', ')} only`);

function run(awk: string, mode: 'weights' | 'chain' | 'conns', input: string[], vars: string[] = []): string {
  const [cmd, ...args] = awk.split(' ');
  const r = spawnSync(cmd, [...args, '-v', `mode=${mode}`, ...vars.flatMap((v) => ['-v', v]), PROGRAM], { input: `${input.join('\n')}\n`, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${awk}: ${r.stderr}`);
  return r.stdout;
}

const PARAMS = ['param step 1.5', 'param alpha 0.5', 'param idle 2000'];
const weights = (out: string): number[] => out.trim().split('\n').map((l) => Number(l.split(' ')[2]));

describe.each(AWKS)('adaptive.awk under %s', (awk) => {
  it('a full link’s rate is its capacity; a lone connection’s rate is the link’s; weights move towards capacity in bounded steps', () => {
    // 1:1:1 on 20, 40 and 60 Mbit/s: dsl is full (15 connections at 20 Mbit/s); cable and lte
    // carry short downloads that rarely overlap, each at the link's speed.
    const out = run(awk, 'weights', [
      ...PARAMS,
      'link 1 weight 0.333333 cap 0 healthy 1 rate 2500000 conns 15',
      'link 2 weight 0.333333 cap 0 healthy 1 rate 1600000 conns 0.3',
      'link 3 weight 0.333334 cap 0 healthy 1 rate 1700000 conns 0.25',
    ]);
    expect(out.trim().split('\n').map((l) => Number(l.split(' ')[4]))).toEqual([2500000, 5333333, 6800000]);
    const w = weights(out);
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(w.map((x) => Math.round(x * 1000))).toEqual([211, 347, 442]);
  });

  it('with full links measured again and again, weights converge to capacity shares without overshooting', () => {
    const capacity = [2_500_000, 5_000_000, 7_500_000];
    let state = ['1 0.333333 0', '2 0.333333 0', '3 0.333334 0'];
    const history: number[][] = [];
    for (let i = 0; i < 10; i++) {
      const lines = state.map((st, k) => {
        const [, wt, cap] = st.split(' ');
        return `link ${k + 1} weight ${wt} cap ${cap} healthy 1 rate ${capacity[k]} conns 4`;
      });
      const out = run(awk, 'weights', [...PARAMS, ...lines]);
      state = out.trim().split('\n').map((l) => { const f = l.split(' '); return `${f[1]} ${f[2]} ${f[4]}`; });
      history.push(weights(out));
    }
    const last = history[history.length - 1];
    [1 / 6, 2 / 6, 3 / 6].forEach((share, k) => expect(last[k]).toBeCloseTo(share, 3));
    for (let i = 1; i < history.length; i++) expect(history[i][2]).toBeGreaterThanOrEqual(history[i - 1][2] - 1e-6);
    for (const h of history) expect(h[2]).toBeLessThanOrEqual(0.5 + 1e-6);
  });

  it('a link whose rate falls (60 → 10 Mbit/s) loses its weight within a few updates', () => {
    let state = ['1 0.166667 2500000', '2 0.333333 5000000', '3 0.5 7500000'];
    for (let i = 0; i < 6; i++) {
      const rates = [2_500_000, 5_000_000, 1_250_000];
      const lines = state.map((st, k) => {
        const [, wt, cap] = st.split(' ');
        return `link ${k + 1} weight ${wt} cap ${cap} healthy 1 rate ${rates[k]} conns 6`;
      });
      state = run(awk, 'weights', [...PARAMS, ...lines]).trim().split('\n').map((l) => { const f = l.split(' '); return `${f[1]} ${f[2]} ${f[4]}`; });
    }
    const w = state.map((st) => Number(st.split(' ')[1]));
    expect(w[2]).toBeLessThan(0.2);
    expect(w[1]).toBeGreaterThan(w[0]);
  });

  it('an estimate follows a rise by alpha, a fall with connections piling up by alpha, a fall on a part-idle link by a quarter of it', () => {
    const caps = (rate: number, conns: number): number => Number(run(awk, 'weights', [...PARAMS, `link 1 weight 0.5 cap 4000000 healthy 1 rate ${rate} conns ${conns}`, 'link 2 weight 0.5 cap 4000000 healthy 1 rate 4000000 conns 4']).trim().split('\n')[0].split(' ')[4]);
    expect(caps(2_000_000, 4)).toBe(3_000_000);
    expect(caps(2_000_000, 2)).toBe(3_000_000);
    expect(caps(8_000_000, 4)).toBe(6_000_000);
    expect(caps(8_000_000, 1.2)).toBe(6_000_000);
    // One or two short downloads in slow start leave a fast link part idle: not a slower link.
    expect(caps(2_000_000, 1.5)).toBe(3_750_000);
  });

  it('an idle link (below the idle rate) and a down link keep their weight and estimate', () => {
    const out = run(awk, 'weights', [...PARAMS, 'link 1 weight 0.5 cap 2500000 healthy 1 rate 2500000 conns 3', 'link 2 weight 0.3 cap 1500000 healthy 1 rate 100 conns 1', 'link 3 weight 0.2 cap 1000000 healthy 0 rate 0 conns 0']);
    expect(out.trim().split('\n')).toEqual(['weight 1 0.500000 cap 2500000', 'weight 2 0.300000 cap 1500000', 'weight 3 0.200000 cap 1000000']);
  });

  it('connections per link: TCP while established, UDP once assured, not ICMP, not TIME_WAIT; marks outside the links ignored', () => {
    // /proc/net/nf_conntrack lines; links are marked k × 256 and room is the mask's top value
    // (the pickup pin, not a link): with room 4, 768 is link 3; with room 3 it is the pin.
    const table = [
      'ipv4     2 tcp      6 431999 ESTABLISHED src=192.0.2.10 dst=198.51.100.1 sport=40000 dport=9100 src=198.51.100.1 dst=100.64.1.11 sport=9100 dport=40000 [ASSURED] mark=256 zone=0 use=2',
      'ipv4     2 tcp      6 431999 ESTABLISHED src=192.0.2.10 dst=198.51.100.1 sport=40001 dport=9100 src=198.51.100.1 dst=100.64.2.11 sport=9100 dport=40001 [ASSURED] mark=512 zone=0 use=2',
      'ipv4     2 tcp      6 431999 ESTABLISHED src=192.0.2.10 dst=198.51.100.1 sport=40002 dport=9100 src=198.51.100.1 dst=100.64.2.11 sport=9100 dport=40002 [ASSURED] mark=513 zone=0 use=2',
      'ipv4     2 tcp      6 112 TIME_WAIT src=192.0.2.10 dst=198.51.100.1 sport=45970 dport=9100 src=198.51.100.1 dst=100.64.1.11 sport=9100 dport=45970 [ASSURED] mark=256 zone=0 use=2',
      'ipv4     2 icmp     1 28 src=100.64.2.11 dst=198.51.100.2 type=8 code=0 id=6603 src=198.51.100.2 dst=100.64.2.11 type=0 code=0 id=6603 mark=512 zone=0 use=2',
      'ipv4     2 udp      17 29 src=192.0.2.10 dst=198.51.100.53 sport=5353 dport=53 src=198.51.100.53 dst=100.64.3.11 sport=53 dport=5353 mark=768 zone=0 use=2',
      'ipv4     2 udp      17 29 src=192.0.2.10 dst=198.51.100.53 sport=5354 dport=53 src=198.51.100.53 dst=100.64.3.11 sport=53 dport=5354 mark=3 zone=0 use=2',
      'ipv4     2 udp      17 170 src=192.0.2.10 dst=198.51.100.1 sport=50000 dport=443 src=198.51.100.1 dst=100.64.3.11 sport=443 dport=50000 [ASSURED] mark=768 zone=0 use=2',
      'ipv4     2 udp      17 170 src=192.0.2.10 dst=198.51.100.1 sport=50001 dport=443 src=198.51.100.1 dst=100.64.1.11 sport=443 dport=50001 [ASSURED] mark=768 zone=0 use=2',
      'ipv4     2 tcp      6 431999 ESTABLISHED src=192.0.2.10 dst=198.51.100.1 sport=40003 dport=22 src=198.51.100.1 dst=192.0.2.1 sport=22 dport=40003 [ASSURED] mark=0 zone=0 use=2',
    ];
    const out = run(awk, 'conns', table, ['step=256', 'room=4']);
    expect(out.trim().split('\n').sort()).toEqual(['1 1', '2 2', '3 2']);
    expect(run(awk, 'conns', table, ['step=256', 'room=3']).trim().split('\n').sort()).toEqual(['1 1', '2 2']);
    // The same table as `conntrack -L` prints it (the fallback without /proc/net/nf_conntrack,
    // issue 23 §8): no family columns, the protocol first on the line.
    const listed = table.map((l) => l.replace(/^ipv4 +2 /, '').replace(' zone=0', ''));
    expect(listed[0]).toMatch(/^tcp +6 431999 ESTABLISHED /);
    expect(run(awk, 'conns', listed, ['step=256', 'room=4']).trim().split('\n').sort()).toEqual(['1 1', '2 2', '3 2']);
  });

  const chainInput = (links: string[]): string[] => [
    'chain ML_BALANCE',
    'guard -m mark --mark 0x0/0xff00',
    'scale 1000',
    ...links,
    'setmark 1 -j MARK --set-xmark 0x100/0xff00',
    'setmark 2 -j MARK --set-xmark 0x200/0xff00',
    'setmark 3 -j MARK --set-xmark 0x300/0xff00',
  ];
  const rules = (out: string): string[] => out.split('\n').filter((l) => l.startsWith('-A ')).map((l) => l.replace(/^-A ML_BALANCE /, ''));

  it('the chain is the random cascade the compiler writes for the same whole weights, as iptables-save prints it', () => {
    const out = run(awk, 'chain', chainInput(['link 1 tier 1 min 0 max 1', 'link 2 tier 1 min 0 max 1', 'link 3 tier 1 min 0 max 1', 'link 1 weight 0.166667 healthy 1', 'link 2 weight 0.333333 healthy 1', 'link 3 weight 0.5 healthy 1']));
    expect(out.split('\n')[0]).toBe('*mangle');
    expect(out).toContain(':ML_BALANCE - [0:0]\n');
    expect(out.trim().endsWith('COMMIT')).toBe(true);
    expect(rules(out)).toEqual(randomCascade(compiledLinks([167, 333, 500]), 0xff00));
  });

  it('bounds: a capped link gets at most its max_share, a floor at least its min_share; the rest keep their proportions', () => {
    const out = run(awk, 'chain', chainInput(['link 1 tier 1 min 0.2 max 1', 'link 2 tier 1 min 0 max 1', 'link 3 tier 1 min 0 max 0.3', 'link 1 weight 0.05 healthy 1', 'link 2 weight 0.45 healthy 1', 'link 3 weight 0.5 healthy 1']));
    expect(rules(out)).toEqual(randomCascade(compiledLinks([200, 500, 300]), 0xff00));
  });

  it('tiers and health: only healthy links of the lowest tier with weight; none healthy keeps the lowest tier rather than black-holing', () => {
    const tiered = ['link 1 tier 1 min 0 max 1', 'link 2 tier 1 min 0 max 1', 'link 3 tier 2 min 0 max 1'];
    const marks = (out: string) => rules(out).map((r) => /0x([0-9a-f]+)\/0xff00$/.exec(r)?.[1]);
    expect(marks(run(awk, 'chain', chainInput([...tiered, 'link 1 weight 0.3 healthy 1', 'link 2 weight 0.3 healthy 0', 'link 3 weight 0.4 healthy 1'])))).toEqual(['100']);
    expect(marks(run(awk, 'chain', chainInput([...tiered, 'link 1 weight 0.3 healthy 0', 'link 2 weight 0.3 healthy 0', 'link 3 weight 0.4 healthy 1'])))).toEqual(['300']);
    expect(marks(run(awk, 'chain', chainInput([...tiered, 'link 1 weight 0.3 healthy 0', 'link 2 weight 0.3 healthy 0', 'link 3 weight 0.4 healthy 0'])))).toEqual(['100', '200']);
  });
});
