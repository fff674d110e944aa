// The link monitor's script: lib.sh, what it records (src/remote/monitor-record.sh), how a
// round waits for its probes (src/remote/monitor-round.sh), how it keeps the links' tables
// (src/remote/monitor-tables.sh), its IPv6 side (src/remote/monitor6.sh), its parameters, the
// data multilink precomputed for it (per link: name, interface, mark, table, its route's
// gateway, the interface's rp_filter and its probe's ping; per set of healthy links: the
// balancing chain's payload and the tier in use) and the fixed loop (src/remote/monitor.sh).
// Its second line is a tag naming the content, which the gather reads to tell whether the
// script on the router is current.
import { createHash } from 'node:crypto';
import type { DesiredState, MonitorSpec } from '../model/desired.js';
import { hex, lowestBit, setMark, unmarked } from '../compile/iptables-text.js';
import { isIPv4 } from '../net/ipv4.js';
import { isIPv6 } from '../net/ipv6.js';
import { isInterfaceName } from '../net/names.js';
import { eligibleLinks } from '../compile/links.js';
import { adaptiveAwk, monitorGuardLib, monitorGuardLoop, monitorIpv6Lib, monitorProgram, monitorRecordLib, monitorRoundLib, monitorStreamLib, monitorTablesLib, type GuardParams, type MonitorParams } from '../remote/programs.js';
import { lines, shellLib } from '../shell/lib.js';
import { joinSh, sh, withHeredoc, type Sh } from '../shell/sh.js';
import { chainPayload } from './iptables-restore.js';
import { nftChainScript } from './nft.js';
import { nftBalanceChain } from '../compile/nft-table.js';

export const MONITOR_TAG = '# multilink-monitor';

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3).replace(/\.?0+$/, '');
}

/**
 * The gateway of a fixed-gateway link's table route (what deploy puts there and the monitor
 * keeps there); '' for `gateway: none` and `auto`.
 */
function fixedVia(d: DesiredState, l: MonitorSpec['links'][number]): string {
  if (l.gateway !== 'fixed') return '';
  const via = d.routes.find((r) => r.table === l.table && r.dst === 'default' && r.dev === l.interface)?.via;
  if (via === undefined || !isIPv4(via)) throw new Error(`link ${l.name} has no fixed gateway route in table ${l.table}`);
  return via;
}

/** The rp_filter value deploy sets on the link's interface ('' when it sets none). */
function rpFilter(d: DesiredState, l: MonitorSpec['links'][number]): string {
  const value = d.sysctls.find((s) => s.key === `net/ipv4/conf/${l.interface}/rp_filter`)?.value ?? '';
  if (!/^\d*$/.test(value)) throw new Error(`invalid rp_filter ${value} for ${l.interface}`);
  return value;
}

/**
 * ml_link K: sets ml_name, ml_if, ml_mark (decimal: iputils ping -m refuses hex), ml_table,
 * ml_gw (fixed, none or auto), ml_via (the fixed gateway, else empty), ml_rpf (the
 * interface's rp_filter, which the monitor puts back on a device made again); ml_gw6 (fixed,
 * none, auto; empty: no IPv6) and ml_via6 (a fixed IPv6 gateway).
 */
function linkFunction(d: DesiredState): Sh {
  const m = d.monitor!;
  const cases = m.links.map((l) => {
    if (!isInterfaceName(l.interface)) throw new Error(`invalid interface ${l.interface}`);
    const via6 = d.links.find((x) => x.index === l.index)?.gateway6;
    const fixed6 = l.gateway6 === 'fixed' && via6 !== undefined && isIPv6(via6) ? via6 : '';
    return sh`    ${l.index}) ml_name=${l.name}; ml_if=${l.interface}; ml_mark=${l.mark}; ml_table=${l.table}; ml_gw=${l.gateway}; ml_via=${fixedVia(d, l)}; ml_rpf=${rpFilter(d, l)}; ml_gw6=${l.gateway6 ?? ''}; ml_via6=${fixed6} ;;`;
  });
  return sh`ml_link() {
  case "$1" in
${joinSh(cases)}
  esac
}`;
}

/**
 * Whole seconds for ping's -W (how long it waits for the reply) and -w (its deadline), which
 * every ping takes: BusyBox's takes whole seconds only, and iputils before s20190324 (Debian
 * 10, Ubuntu 18.04, RHEL 7/8, VyOS 1.3) reads `-W 0.85` as 0 and then waits forever for a
 * lost reply; -w ends any iputils ping at its deadline whatever -W says. The monitor cuts a
 * probe still running when the round's bound (ML_WAIT, under a second) is reached.
 */
export function pingSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}

/**
 * ml_probe TARGET FILE: one ping through link ml_k, started in the background ($! is the ping
 * itself, for the round's bound), its summary (with the round-trip time) into FILE. iputils
 * (ml_iputils set) also marks the probe; every ping is bound to the link's interface.
 */
function probeFunction(waitMs: number): Sh {
  const s = pingSeconds(waitMs);
  return sh`ml_probe() {
  if [ -n "$ml_iputils" ]; then
    ping -n -q -c 1 -W ${s} -w ${s} -m "$ml_mark" -I "$ml_if" "$1" > "$2" 2>/dev/null &
  else
    ping -q -c 1 -W ${s} -w ${s} -I "$ml_if" "$1" > "$2" 2>/dev/null &
  fi
}`;
}

/**
 * Below this interval the monitor probes with one long-lived ping per target and link
 * (monitor-stream.sh); from it on, with one ping per round (ml_probe), as it always did: the
 * default timing keeps the method every router has run, with its bounds for old pings.
 */
export const STREAM_BELOW_MS = 1000;

/**
 * The lateness a streamed reply may have before its probe counts as lost: a fifth of the
 * interval, from 30 ms to 100 ms (50 ms at 250 ms). It covers jitter, not the round-trip time
 * (the count runs from the last reply), and it adds to every failover: a link is out
 * interval × down_after + this after its last reply. In centiseconds, as the monitor reads
 * /proc/uptime (10 ms steps).
 */
export function streamToleranceCs(intervalMs: number): number {
  return Math.max(3, Math.min(10, Math.round(intervalMs / 50)));
}

/**
 * ml_stream_ping F TARGET: becomes (exec) a long-lived ping to TARGET through link ml_k, one
 * line per reply, every interval (-i, seconds: iputils takes under 0.2 s only from root,
 * which the monitor is). iputils (ml_iputils) gets -n (no name lookups) and, for IPv4, the
 * link's mark, as ml_probe does; IPv6's goes by the link's oif rule, as its round probes do.
 */
function streamPingFunction(intervalMs: number): Sh {
  const i = seconds(intervalMs);
  return sh`ml_stream_ping() {
  if [ "$1" = 6 ]; then
    # shellcheck disable=SC2086 # ml_ping6 is \`ping -6\` or \`ping6\`
    if [ -n "$ml_iputils" ]; then exec $ml_ping6 -n -i ${i} -I "$ml_if" "$2"; else exec $ml_ping6 -i ${i} -I "$ml_if" "$2"; fi
  fi
  if [ -n "$ml_iputils" ]; then exec ping -n -i ${i} -m "$ml_mark" -I "$ml_if" "$2"; fi
  exec ping -i ${i} -I "$ml_if" "$2"
}`;
}

/**
 * ml_balance MASK: prints the restore payload of the balancing chain for that set of healthy
 * links; ml_balance6 MASK6 the same for IPv6's (links with a gateway6).
 */
function balanceFunction(d: DesiredState, family: 4 | 6 = 4): Sh {
  const m = d.monitor!;
  const chains = family === 6 ? (m.balance6 ?? {}) : m.balance;
  const cases = Object.entries(chains).map(([mask, rules]) => {
    const payload = (d.firewall === 'nft' ? nftChainScript(nftBalanceChain(d, rules, family)) : chainPayload(d.balanceChain.table, d.balanceChain.name, rules)).replace(/\n$/, '');
    return sh`    ${Number(mask)}) ${withHeredoc(sh`cat`, payload)}
    ;;`;
  });
  const name = family === 6 ? sh`ml_balance6` : sh`ml_balance`;
  return sh`${name}() {
  case "$1" in
${joinSh(cases)}
    *) return 1 ;;
  esac
}`;
}

/** ml_adapt_static: the fixed input of adaptive.awk's chain mode (chain, guard, links' tiers, bounds, marks). */
function adaptiveStatic(d: DesiredState): Sh {
  const a = d.monitor!.adaptive!;
  const mask = d.settings.markMask;
  const lines = [
    `chain ${d.balanceChain.name}`,
    `guard ${unmarked(mask)}`,
    `scale ${a.scale}`,
    ...a.links.map((l) => `link ${l.index} tier ${l.tier} min ${l.minShare} max ${l.maxShare}`),
    ...d.links.map((l) => `setmark ${l.index} ${setMark(l.mark, mask)}`),
  ];
  return sh`ml_adapt_static() {
  ${withHeredoc(sh`cat`, lines.join('\n'))}
}
ml_adapt_program() {
  ${withHeredoc(sh`cat`, adaptiveAwk().replace(/\n+$/, ''))}
}`;
}


/**
 * ml_tier MASK: the tier whose links share new connections for that set of healthy links (as
 * the precompiled chains have it), so the monitor can say when a backup tier takes over.
 */
function tierFunction(d: DesiredState): Sh {
  const m = d.monitor!;
  const byTier = new Map<number, number[]>();
  for (let mask = 0; mask < 2 ** m.links.length; mask++) {
    const up = d.links.filter((l) => (mask & (1 << (l.index - 1))) !== 0);
    const tier = eligibleLinks(mask === 0 ? d.links : up)[0]?.tier ?? 0;
    byTier.set(tier, [...(byTier.get(tier) ?? []), mask]);
  }
  const cases = [...byTier].map(([tier, masks]) => sh`    ${joinSh(masks.map((k) => sh`${k}`), '|')}) echo ${tier} ;;`);
  return sh`ml_tier() {
  case "$1" in
${joinSh(cases)}
  esac
}`;
}

/** The monitor's log is rotated at this size (64 KiB: with log.1, 128 KiB at most). */
export const MONITOR_LOG_MAX_BYTES = 65536;
/** State changes kept per link in the monitor's history ring. */
export const MONITOR_HISTORY_PER_LINK = 20;
/** How often the monitor rewrites its state file for fresh probe statistics alone. */
const STATS_EVERY_MS = 5000;

/** How often method adaptive saves its learnt weights to the state folder (flash, on OpenWrt). */
const ADAPTIVE_SAVE_MS = 10 * 60_000;

/** What multilink computed for this router's monitor: its parameters and data (what `render` shows). */
export function monitorData(d: DesiredState): { params: MonitorParams; functions: Sh } {
  const m = d.monitor;
  if (!m || m.guardOnly) throw new Error('the play has no link monitor');
  const p = m.probes;
  for (const t of p?.targets ?? []) if (!isIPv4(t) && !isIPv6(t)) throw new Error(`invalid health target ${t}`);
  const targets4 = (p?.targets ?? []).filter((t) => !t.includes(':'));
  const targets6 = (p?.targets ?? []).filter((t) => t.includes(':'));
  const waitMs = Math.max(200, Math.min(1000, m.intervalMs - 150));
  const params: MonitorParams = {
    stateDir: d.settings.stateDir,
    runDir: d.settings.runDir,
    targets: targets4,
    quorum: Math.max(1, Math.min(p?.quorum ?? 1, targets4.length)),
    ipv6: m.balance6 !== undefined,
    targets6,
    quorum6: Math.max(1, Math.min(p?.quorum ?? 1, targets6.length)),
    // Every ping takes whole seconds for -W and -w, as IPv4's probes get them.
    wait6: pingSeconds(waitMs),
    // Without probes a link's health is its gateway: one round decides.
    downAfter: p?.downAfter ?? 1,
    upAfter: p?.upAfter ?? 1,
    interval: seconds(m.intervalMs),
    wait: seconds(waitMs),
    links: m.links.length,
    mask: hex(d.settings.markMask),
    linkNames: m.links.map((l) => l.name),
    chain: d.balanceChain.name,
    ...(d.firewall === 'nft' ? { nft: true } : { guard: guardLines(d, 4), guard6: guardLines(d, 6) }),
    ...(d.resetDown ? { resetDown: true } : {}),
    logMaxBytes: MONITOR_LOG_MAX_BYTES,
    historyPerLink: MONITOR_HISTORY_PER_LINK,
    statsEvery: Math.max(1, Math.round(STATS_EVERY_MS / m.intervalMs)),
    ...(m.intervalMs < STREAM_BELOW_MS ? { stream: { intervalCs: Math.round(m.intervalMs / 10), toleranceCs: streamToleranceCs(m.intervalMs) } } : {}),
  };
  const a = m.adaptive;
  const six = m.balance6 ? [balanceFunction(d, 6)] : [];
  const probe = lines(probeFunction(waitMs), streamPingFunction(m.intervalMs));
  if (!a) return { params, functions: lines(linkFunction(d), probe, balanceFunction(d), ...six, tierFunction(d)) };
  const step = lowestBit(d.settings.markMask);
  params.adaptive = {
    rounds: Math.max(1, Math.round(a.periodMs / m.intervalMs)),
    saveEvery: Math.max(1, Math.round(ADAPTIVE_SAVE_MS / a.periodMs)),
    params: [`param step ${a.step}`, `param alpha ${a.alpha}`, `param idle ${a.idleBps}`].join('\n'),
    start: a.links.map((l) => `${l.index}:${l.weight}`).join(' '),
    markStep: step,
    markRoom: (d.settings.markMask >>> 0) / step,
  };
  return { params, functions: lines(linkFunction(d), probe, balanceFunction(d), ...six, tierFunction(d), adaptiveStatic(d)) };
}

/** What the guard looks for in iptables-save: the jumps into multilink's chains, of one family. */
function guardLines(d: DesiredState, family: 4 | 6): string[] {
  return d.jumps.filter((j) => (j.family ?? 4) === family).map((j) => `-A ${j.chain} ${j.rule}`);
}

/** A guard-only monitor's parameters (a play without health, gateway auto or adaptive). */
export function guardData(d: DesiredState): GuardParams {
  const m = d.monitor;
  if (!m?.guardOnly) throw new Error('the monitor is not guard-only');
  return {
    stateDir: d.settings.stateDir,
    runDir: d.settings.runDir,
    interval: seconds(m.intervalMs),
    chain: d.balanceChain.name,
    ...(d.firewall === 'nft' ? { nft: true } : { guard: guardLines(d, 4), guard6: guardLines(d, 6) }),
    logMaxBytes: MONITOR_LOG_MAX_BYTES,
  };
}

function body(d: DesiredState): string {
  if (d.monitor?.guardOnly) return lines(shellLib(d.settings.iptables), monitorRecordLib(), monitorGuardLib(), monitorGuardLoop(guardData(d))).text;
  const { params, functions } = monitorData(d);
  // lib.sh detects the iptables flavour when the monitor starts, as every script does.
  return lines(shellLib(d.settings.iptables), monitorRecordLib(), monitorRoundLib(), monitorStreamLib(), monitorTablesLib(), monitorIpv6Lib(), monitorGuardLib(), functions, monitorProgram(params)).text;
}

function tagOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The script, its second line a tag naming the content. */
export function monitorScript(d: DesiredState): string {
  const text = body(d);
  return `#!/bin/sh\n${MONITOR_TAG} ${tagOf(text)}\n${text}\n`;
}

export function monitorTag(d: DesiredState): string {
  return tagOf(body(d));
}

/**
 * The tables whose default route a monitor script follows at run time (`gateway: auto`,
 * `gateway6: auto`: the interface's DHCP, RA or PPP route), as `4:TABLE` and `6:TABLE`, read
 * from the ml_link lines linkFunction writes. Their gateway is the router's state, not
 * multilink's: the restore check does not compare it (ml_filter, src/facts/gather.ts).
 */
export function followedTables(script: string | null): string[] {
  const out = new Set<string>();
  for (const line of (script ?? '').split('\n')) {
    const table = /^\s*\d+\) ml_name=.*; ml_table='?(\d+)'?;/.exec(line)?.[1];
    if (table === undefined) continue;
    if (/; ml_gw='?auto'?;/.test(line)) out.add(`4:${table}`);
    if (/; ml_gw6='?auto'?;/.test(line)) out.add(`6:${table}`);
  }
  return [...out].sort();
}

/** The tag of a monitor script as found on a router. */
export function scriptTag(script: string): string | undefined {
  const second = script.split('\n')[1];
  return second?.startsWith(`${MONITOR_TAG} `) ? second.slice(MONITOR_TAG.length + 1) : undefined;
}
