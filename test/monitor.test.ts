import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileMonitor, fullMask } from '../src/compile/monitor.js';
import { monitorData, monitorScript, monitorTag, scriptTag } from '../src/render/monitor.js';
import { compileHost } from '../src/compile/desired-state.js';
import { hostConfig, link as fixtureLink } from './fixtures/render/host-config.js';
import { planMonitor } from '../src/plan/monitor.js';
import { planHost } from '../src/plan/plan.js';
import type { CompiledLink, DesiredState } from '../src/model/desired.js';
import { convergedFacts, twoLinkDesired } from './helpers/desired.js';

const link = (index: number, weight: number, tier = 1): CompiledLink => ({
  inbound: true,
  name: ['dsl', 'cable', 'lte'][index - 1],
  index,
  interface: `wan${index}`,
  gateway: `100.64.${index}.1`,
  weight,
  tier,
  masquerade: true,
  mark: index * 0x100,
  table: 100 + index,
  priority: 999 + index,
});
const health = { targets: ['198.51.100.1', '198.51.100.2'], intervalMs: 1000, downAfter: 3, upAfter: 3, quorum: 1 };
const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const SHELLS = [['dash'], ['busybox', 'ash']].filter((s) => has(s[0]));
const marks = (rules: string[]) => rules.map((r) => /--set-xmark (0x[0-9a-f]+)/.exec(r)?.[1]);

describe('compileMonitor', () => {
  const links = [link(1, 1), link(2, 2), link(3, 1, 2)];
  const m = compileMonitor(health, links, 'random', 0xff00);
  it('precompiles a chain for every set of healthy links', () => {
    expect(Object.keys(m.balance).sort((a, b) => Number(a) - Number(b))).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    expect(fullMask(links)).toBe(7);
  });
  it('keeps tier 2 out while a tier-1 link is healthy, and uses it when none is', () => {
    expect(marks(m.balance['7'])).toEqual(['0x100', '0x200']);
    expect(marks(m.balance['5'])).toEqual(['0x100']);
    expect(marks(m.balance['6'])).toEqual(['0x200']);
    expect(marks(m.balance['4'])).toEqual(['0x300']);
  });
  it('with no healthy link keeps balancing over all rather than black-holing', () => {
    expect(m.balance['0']).toEqual(m.balance['7']);
  });
});

function monitored(): DesiredState {
  const d = twoLinkDesired();
  d.monitor = compileMonitor(health, d.links, 'random', 0xff00);
  return d;
}

describe('the monitor script', () => {
  it('is valid POSIX sh, tagged by its content, and the same for the same input', () => {
    const a = monitorScript(monitored());
    expect(spawnSync('sh', ['-n'], { input: a }).status).toBe(0);
    expect(scriptTag(a)).toMatch(/^[0-9a-f]{16}$/);
    expect(scriptTag(a)).toBe(monitorTag(monitored()));
    expect(monitorScript(monitored())).toBe(a);
    const legacy = monitored();
    legacy.settings = { ...legacy.settings, iptables: 'legacy' };
    expect(monitorTag(legacy)).not.toBe(scriptTag(a));
    expect(a).toContain('ml_mark=512');
  });
  it('gives each link what its table holds and the rp_filter of its interface: the fixed gateway, or none', () => {
    expect(monitorScript(monitored())).toContain("2) ml_name=cable; ml_if=wan2; ml_mark=512; ml_table=102; ml_gw=fixed; ml_via=100.64.2.1; ml_rpf=2; ml_gw6=''; ml_via6='' ;;");
    const d = twoLinkDesired();
    d.links[1] = { ...d.links[1], gateway: 'none' };
    d.routes = d.routes.map((r) => (r.table === 102 ? { table: r.table, dst: r.dst, dev: r.dev } : r));
    d.monitor = compileMonitor(health, d.links, 'random', 0xff00);
    expect(monitorScript(d)).toContain("2) ml_name=cable; ml_if=wan2; ml_mark=512; ml_table=102; ml_gw=none; ml_via=''; ml_rpf=2; ml_gw6=''; ml_via6='' ;;");
  });
});

describe('planMonitor', () => {
  it('installs and starts a missing monitor', () => {
    const p = planMonitor(monitored(), convergedFacts());
    expect(p.changes.map((c) => `${c.op} ${c.object}`)).toEqual(['create /var/lib/multilink/monitor/monitor.sh']);
    expect(p.ops).toMatchObject({ start: true, stop: false, remove: false });
    expect(p.mask).toBe(3);
  });
  it('expects the chain for the links the monitor took out: link state, not drift', () => {
    const d = monitored();
    const facts = convergedFacts();
    facts.monitor = { script: monitorScript(d), running: true, pid: 7, mask: 1, linkNames: ['dsl', 'cable'], links: [{ link: 'dsl', state: 'up' }, { link: 'cable', state: 'down' }] };
    const bal = facts.iptables.mangle.chains.find((c) => c.name === 'ML_BALANCE')!;
    bal.rules = d.monitor!.balance['1'];
    const plan = planHost(d, facts);
    expect(plan.action).toBe('noop');
    expect(plan.links).toEqual([{ link: 'dsl', state: 'up' }, { link: 'cable', state: 'down' }]);
  });
  it('restarts a monitor that died, and forgets saved states when the links changed', () => {
    const d = monitored();
    const facts = convergedFacts();
    facts.monitor = { script: monitorScript(d), running: false, links: [], mask: 3, linkNames: ['dsl', 'cable'] };
    expect(planMonitor(d, facts).ops).toEqual({ write: false, stop: false, start: true, remove: false, resetState: false });
    facts.monitor = { script: '#!/bin/sh\n# multilink-monitor 0000000000000000\n', running: true, links: [], mask: 1, linkNames: ['dsl', 'other'] };
    const p = planMonitor(d, facts);
    expect(p.ops).toMatchObject({ write: true, stop: true, start: true, resetState: true });
    expect(p.mask).toBe(3);
  });
  it('stops and removes a monitor the play no longer wants', () => {
    const facts = convergedFacts();
    facts.monitor = { script: 'x', running: true, pid: 9, links: [] };
    expect(planMonitor(twoLinkDesired(), facts).ops).toEqual({ write: false, stop: true, remove: true, resetState: true, start: false });
  });
});

describe('ml_tier: the tier in use for each set of healthy links', () => {
  it('is tier 1 while a tier-1 link is up, tier 2 when only the backup is, and as the all-links chain when none is', () => {
    const cfg = hostConfig({
      links: [fixtureLink('dsl', 1, 1), fixtureLink('cable', 2, 2), fixtureLink('lte', 3, 1, { tier: 2 })],
      health: { targets: ['198.51.100.1'], intervalMs: 1000, downAfter: 3, upAfter: 3, quorum: 1 },
    });
    const { functions } = monitorData(compileHost(cfg));
    const r = spawnSync('sh', ['-c', `${functions.text}\nfor m in 0 1 2 3 4 5 6 7; do printf '%s ' "$(ml_tier "$m")"; done`], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('1 1 1 1 2 1 1 1');
  });
});

// Issue 23 §3: iputils before s20190324 (Debian 10, Ubuntu 18.04, RHEL 7/8, VyOS 1.3) reads
// `-W 0.85` as 0 and then waits forever for a lost reply; BusyBox takes whole seconds only.
describe('ml_probe: the ping each probe runs, as rendered', () => {
  const expected: Record<number, string> = { 250: '0.2', 1000: '0.85', 5000: '1' };
  for (const intervalMs of [250, 1000, 5000]) {
    for (const shell of SHELLS) {
      it(`at interval ${intervalMs} ms (${shell.join(' ')}): iputils and BusyBox ping get whole seconds for -W and a -w deadline; ML_WAIT, the round's bound, is within the interval`, () => {
        const d = twoLinkDesired();
        d.monitor = compileMonitor({ ...health, intervalMs }, d.links, 'random', 0xff00);
        const { params, functions } = monitorData(d);
        // A ping that prints what it was given; ml_probe starts it in the background into FILE.
        const script = `${functions.text}
ping() { printf '%s\n' "$*"; }
f=$(mktemp)
for ml_iputils in 1 ''; do ml_link 2; ml_probe 198.51.100.1 "$f"; wait "$!" || exit 1; cat "$f"; done
rm -f "$f"`;
        const r = spawnSync(shell[0], [...shell.slice(1), '-c', script], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        const calls = r.stdout.trim().split('\n');
        expect(calls).toEqual(['-n -q -c 1 -W 1 -w 1 -m 512 -I wan2 198.51.100.1', '-q -c 1 -W 1 -w 1 -I wan2 198.51.100.1']);
        for (const call of calls) for (const m of call.matchAll(/-[Ww] (\S+)/g)) expect(m[1]).toMatch(/^[1-9][0-9]*$/);
        expect(params.wait).toBe(expected[intervalMs]);
        expect(Number(params.wait) * 1000).toBeLessThan(intervalMs);
        expect(monitorScript(d)).not.toMatch(/-W "?\$ML_WAIT(?![A-Z0-9_])/);
      });
    }
  }
});

// Issue 20 §1: under a second, one long-lived ping per target and link (monitor-stream.sh);
// from a second on, the round probes above, unchanged.
describe('ml_stream_ping: the long-lived ping of sub-second probes, as rendered', () => {
  for (const shell of SHELLS) {
    it(`at interval 250 ms (${shell.join(' ')}): ping -i 0.25, iputils with -n and the link's mark (IPv4), BusyBox with neither; ML_STREAM with the interval and lateness in centiseconds`, () => {
      const d = twoLinkDesired();
      d.monitor = compileMonitor({ ...health, intervalMs: 250 }, d.links, 'random', 0xff00);
      const { params, functions } = monitorData(d);
      expect(params.stream).toEqual({ intervalCs: 25, toleranceCs: 5 });
      // exec takes no function: a ping on PATH prints what it was given (a subshell each, as exec replaces it).
      const bin = mkdtempSync(join(tmpdir(), 'ml-ping-'));
      writeFileSync(join(bin, 'ping'), '#!/bin/sh\nprintf "%s\\n" "$*"\n', { mode: 0o755 });
      const script = `${functions.text}
PATH='${bin}':$PATH
ml_ping6='ping -6'
for ml_iputils in 1 ''; do for f in 4 6; do ( ml_link 2; ml_stream_ping "$f" 198.51.100.1 ); done; done`;
      const r = spawnSync(shell[0], [...shell.slice(1), '-c', script], { encoding: 'utf8' });
      rmSync(bin, { recursive: true, force: true });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim().split('\n')).toEqual([
        '-n -i 0.25 -m 512 -I wan2 198.51.100.1',
        '-6 -n -i 0.25 -I wan2 198.51.100.1',
        '-i 0.25 -I wan2 198.51.100.1',
        '-6 -i 0.25 -I wan2 198.51.100.1',
      ]);
      expect(monitorScript(d)).toMatch(/^ML_STREAM='?yes'?$/m);
      expect(monitorScript(d)).toMatch(/^ML_IVL_CS='?25'?$/m);
    });
  }
  it('at 100 ms the lateness is 30 ms, at 250 ms 50 ms, at 900 ms 100 ms; at 1 s and more there is no streaming', () => {
    const at = (intervalMs: number) => {
      const d = twoLinkDesired();
      d.monitor = compileMonitor({ ...health, intervalMs }, d.links, 'random', 0xff00);
      return monitorData(d).params.stream;
    };
    expect(at(100)).toEqual({ intervalCs: 10, toleranceCs: 3 });
    expect(at(250)).toEqual({ intervalCs: 25, toleranceCs: 5 });
    expect(at(900)).toEqual({ intervalCs: 90, toleranceCs: 10 });
    expect(at(500)).toEqual({ intervalCs: 50, toleranceCs: 10 });
    expect(at(1000)).toBeUndefined();
    expect(at(5000)).toBeUndefined();
  });
});
