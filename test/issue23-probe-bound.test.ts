// Issue 23 §3, on an OpenWrt-like lab router (BusyBox ash runs the monitor): probes must never
// hold up the link monitor. The router's `ping` is one like iputils s20180629 (Debian 10,
// Ubuntu 18.04, RHEL 7/8, VyOS 1.3), put first on its PATH (its /usr/sbin): -W is read as
// whole seconds, so `-W 0.85` is 0, and then a lost reply is waited for until -w's deadline,
// or forever. Acceptance: a dead upstream is still taken out within interval × down_after +
// 1 s (and put back), no fractional -W reaches that ping, and a probe that never returns,
// whatever it is passed, is cut at the round's bound and counts as failed: the link goes down,
// the other links keep being probed every round, and no stuck probe is left behind.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabInfo } from '../src/lab/lab.js';
import { pidsInNamespacesSync } from '../src/lab/host-net.js';
import { openwrtTree } from '../src/lab/openwrt.js';
import { readOnRouter, runOnRouter } from '../src/lab/router-ops.js';
import { parseMonitorState, type MonitorStateFile } from '../src/facts/monitor.js';
import { DEFAULT_RUN_DIR, RunLayout } from '../src/shell/layout.js';
import { cli } from './helpers/cli.js';
import { labInventoryWith, labSupport, sh, startTestLab, stopTestLab } from './helpers/lab.js';

const support = labSupport();
if (!support.ok) console.warn(`skipping issue 23 probe tests: ${support.reason}`);

const INTERVAL_S = 1;
const DOWN_AFTER = 3;
const UP_AFTER = 3;
/** interval × down_after + 1 s, and half a second for this test's polling and a busy machine. */
const DOWN_LIMIT_S = INTERVAL_S * DOWN_AFTER + 1 + 0.5;
const UP_LIMIT_S = INTERVAL_S * UP_AFTER + 1 + 0.5;

/**
 * iputils s20180629's ping, over the router's BusyBox one: `-V` names that version; -W is
 * atoi'd (0.85 → 0); a deadline (-w) ends it, as in iputils, whatever -W says; with -W 0 and
 * no deadline a lost reply is waited for forever (600 s here; the lab's teardown ends it).
 * -n and -m are iputils' own (BusyBox prints numbers anyway; the link's oif rule routes the
 * probe). Every call is logged to /var/ping.log; while /var/ping-stuck names an interface, a
 * probe through it never returns, whatever its flags.
 */
const OLD_IPUTILS_PING = `#!/bin/sh
echo "$*" >> /var/ping.log
if [ "$1" = -V ]; then echo 'ping utility, iputils-s20180629'; exit 0; fi
lw=10; dl=; args=
while [ $# -gt 0 ]; do
  case $1 in
    -n) ;;
    -m) shift ;;
    -W) lw=\${2%%.*}; lw=\${lw:-0}; shift ;;
    -w) dl=$2; shift ;;
    -I) [ "$2" = "$(cat /var/ping-stuck 2>/dev/null)" ] && exec sleep 600; args="$args -I $2"; shift ;;
    *) args="$args $1" ;;
  esac
  shift
done
if [ -n "$dl" ]; then exec /usr/bin/ping $args -W "$dl" -w "$dl"; fi
if [ "$lw" -ge 1 ]; then exec /usr/bin/ping $args -W "$lw"; fi
/usr/bin/ping $args -W 1 && exit 0
exec sleep 600
`;

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

describe.skipIf(!support.ok)('issue 23 §3: probes with an old iputils ping are bounded', () => {
  let lab: LabInfo;
  let inv: string;
  const r = () => lab.routers[0];
  const up = (...args: string[]) => sh('ip', ['netns', 'exec', lab.upstreamNamespace, ...args]);
  const breakIsp = (k: number) => expect(up('iptables-nft', '-I', 'INPUT', '-i', `isp${k}`, '-j', 'DROP').code).toBe(0);
  const repairIsp = (k: number) => expect(up('iptables-nft', '-D', 'INPUT', '-i', `isp${k}`, '-j', 'DROP').code).toBe(0);
  async function state(): Promise<MonitorStateFile | undefined> {
    const text = await readOnRouter(lab, r().name, new RunLayout(DEFAULT_RUN_DIR).monitorState);
    return text === undefined ? undefined : parseMonitorState(text);
  }
  async function linkIs(name: string, want: 'up' | 'down'): Promise<boolean> {
    return (await state())?.links.find((l) => l.link === name)?.state === want;
  }
  /** Seconds until `cond` holds, polling every 100 ms, at most `limit` s (Infinity: never). */
  async function timeUntil(cond: () => Promise<boolean>, limit: number): Promise<number> {
    const start = Date.now();
    while (!(await cond())) {
      if (Date.now() - start > limit * 1000) return Infinity;
      await sleep(100);
    }
    return (Date.now() - start) / 1000;
  }
  /** Processes in the router's network namespace whose command line is `sleep 600` (stuck probes). */
  function stuckProbes(): number[] {
    return (pidsInNamespacesSync([r().namespace]).get(r().namespace) ?? []).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8') === 'sleep\u0000600\u0000';
      } catch {
        return false;
      }
    });
  }

  beforeAll(async () => {
    lab = await startTestLab(1, { openwrt: ['r1'] });
    for (const a of ['198.51.100.2/32', '198.51.100.3/32']) expect(up('ip', 'addr', 'add', a, 'dev', 'lo').code).toBe(0);
    // In the router's tree: its /usr/sbin, first on every PATH there (the monitor's too).
    writeFileSync(join(openwrtTree(r()).sbin, 'ping'), OLD_IPUTILS_PING, { mode: 0o755 });
    const which = await runOnRouter(lab, r().name, 'command -v ping; ping -V');
    expect(which.stdout.trim().split('\n')).toEqual(['/usr/sbin/ping', 'ping utility, iputils-s20180629']);
    const pb = readFileSync(lab.playbook, 'utf8').replace(
      '  rp_filter: loose',
      `  rp_filter: loose\n  health: { targets: [198.51.100.2, 198.51.100.3], interval: ${INTERVAL_S}s, down_after: ${DOWN_AFTER}, up_after: ${UP_AFTER}, quorum: 1 }`,
    );
    inv = labInventoryWith(lab, 'health', pb);
    const res = await cli('deploy', inv, '--json');
    expect(res.code, res.stdout + res.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    if (lab) await stopTestLab(lab);
  });

  it('a dead upstream is taken out within interval × down_after + 1 s and put back; that ping gets no fractional -W', async () => {
    const allUp = async () => (await state())?.links.every((l) => l.state === 'up') === true && (await state())?.links.length === 3;
    expect(await timeUntil(allUp, 10)).toBeLessThan(10);
    breakIsp(2);
    let down: number;
    try {
      down = await timeUntil(() => linkIs('cable', 'down'), 10);
      console.log(`failover with an old iputils ping: cable taken out ${down.toFixed(1)} s after its upstream broke`);
    } finally {
      repairIsp(2);
    }
    expect(down).toBeLessThanOrEqual(DOWN_LIMIT_S);
    const back = await timeUntil(() => linkIs('cable', 'up'), 10);
    console.log(`recovery: cable back ${back.toFixed(1)} s after repair`);
    expect(back).toBeLessThanOrEqual(UP_LIMIT_S);
    // The monitor took this ping for iputils (it marks with -m) and passed it whole seconds.
    const calls = ((await readOnRouter(lab, r().name, '/var/ping.log')) ?? '').split('\n').filter((l) => l.includes(' -I '));
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.filter((l) => !/ -m \d+ /.test(l))).toEqual([]);
    expect(calls.filter((l) => /-[Ww] \d*\./.test(l))).toEqual([]);
    expect(stuckProbes()).toEqual([]);
  }, 60_000);

  it('a probe that never returns, whatever its flags, is cut at the round bound and fails: the link goes, the others are probed every round', async () => {
    /** Probes the monitor started through an interface so far (the ping's own log). */
    const probesThrough = async (iface: string) => ((await readOnRouter(lab, r().name, '/var/ping.log')) ?? '').split('\n').filter((l) => l.endsWith(` -I ${iface} 198.51.100.2`) || l.endsWith(` -I ${iface} 198.51.100.3`)).length;
    const stuck = (iface: string) => runOnRouter(lab, r().name, iface ? `echo ${iface} > /var/ping-stuck` : 'rm -f /var/ping-stuck');
    expect((await stuck('wan3')).code).toBe(0);
    let down: number;
    let probed: number;
    let left: number[];
    try {
      down = await timeUntil(() => linkIs('lte', 'down'), 10);
      console.log(`a probe that never returns: lte taken out ${down.toFixed(1)} s after its probes stuck`);
      // Rounds go on, one a second: over 5 s at least 4 rounds of dsl's 2 probes.
      const before = await probesThrough('wan1');
      await sleep(5000);
      probed = (await probesThrough('wan1')) - before;
      // At most this round's two probes of lte are still waiting for the bound.
      left = stuckProbes();
    } finally {
      expect((await stuck('')).code).toBe(0);
    }
    expect(down).toBeLessThanOrEqual(DOWN_LIMIT_S);
    expect(probed).toBeGreaterThanOrEqual(8);
    expect(left.length).toBeLessThanOrEqual(2);
    const back = await timeUntil(() => linkIs('lte', 'up'), 10);
    expect(back).toBeLessThanOrEqual(UP_LIMIT_S);
    expect(stuckProbes()).toEqual([]);
  }, 60_000);
});
