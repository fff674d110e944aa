// The programs multilink runs on a router, each a .sh file beside this module, with typed
// parameters. The shell module sets them as quoted variables at the top of the file.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { lines, shellLib } from '../shell/lib.js';
import { scriptFile, sh, type Sh } from '../shell/sh.js';
import { RunLayout, STATE_ENTRIES, StateLayout } from '../shell/layout.js';

const file = (name: string): URL => new URL(`./${name}`, import.meta.url);

function txnId(id: string): string {
  if (!/^[0-9a-f]{8,64}$/.test(id)) throw new Error('invalid transaction id');
  return id;
}

function seconds(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`invalid number of seconds ${n}`);
  return n;
}

/** What every execution of a transaction's conversation needs to find and lock it. */
export interface TxnParams {
  stateDir: string;
  /** Random id of this transaction: its folder $S/txn/ID; later scripts act only on their own. */
  id: string;
  /** Who holds the lock, for the message another deploy gets. */
  holder: string;
  /** How long the lock is valid without /proc to tell whether its holder lives. */
  leaseS: number;
  /** Seconds the router waits for the controller's answer (plan or decision). */
  waitS: number;
}

function txnVariables(p: TxnParams): Record<string, string | number> {
  return {
    ML_STATE: new StateLayout(p.stateDir).dir,
    ML_TXN_ID: txnId(p.id),
    ML_HOLDER: p.holder.replace(/[\n\r]/g, ' '),
    ML_LEASE_S: seconds(p.leaseS),
    ML_WAIT_S: seconds(p.waitS),
  };
}

/** The lock and settling functions (txn-lock.sh); needs lib.sh before it. */
export function txnLockLib(p: TxnParams): Sh {
  return scriptFile(file('txn-lock.sh'), txnVariables(p));
}

/** The first execution: lock, gather, prompt, plan; needs lib.sh, txn-lock.sh and ml_gather before it. */
export function txnBeginProgram(p: TxnParams): Sh {
  return scriptFile(file('txn-begin.sh'), txnVariables(p));
}

/** The second execution (and the question after lost contact); needs lib.sh, txn-lock.sh and ml_gather before it. */
export function txnControlProgram(p: TxnParams): Sh {
  return scriptFile(file('txn-control.sh'), txnVariables(p));
}

/** ml_txn_run and its dead-man timer, part of the plan; see txn-run.sh for what it needs. */
export function txnRunProgram(confirmTimeoutS: number): Sh {
  return scriptFile(file('txn-run.sh'), { ML_CONFIRM_S: seconds(confirmTimeoutS) });
}

/** Where a transaction's own files find it: the state folder and its folder. */
function txnFileVariables(stateDir: string, id: string): Record<string, string> {
  const layout = new StateLayout(stateDir);
  return { ML_STATE: layout.dir, ML_TXN_DIR: layout.txnDir(txnId(id)) };
}

/** $S/txn/ID/restore.sh's fixed part; needs lib.sh, monitor control, ml_gather, ml_filter, ml_reset. */
export function txnRestoreProgram(stateDir: string, id: string): Sh {
  return scriptFile(file('txn-restore.sh'), txnFileVariables(stateDir, id));
}

/** $S/txn/ID/confirm.sh; needs lib.sh before it. */
export function txnConfirmProgram(stateDir: string, id: string, keepGenerations: number): Sh {
  return scriptFile(file('txn-confirm.sh'), { ...txnFileVariables(stateDir, id), ML_KEEP: keepGenerations });
}

/** $S/txn/ID/confirm.sh of a remove; needs lib.sh and ml_purge_files (src/render/purge.ts) before it. */
export function txnPurgeProgram(stateDir: string, id: string, runDir: string): Sh {
  return scriptFile(file('txn-purge.sh'), { ...txnFileVariables(stateDir, id), ML_RUN: new RunLayout(runDir).dir, ML_PURGE_NAMES: STATE_ENTRIES.join(' ') });
}

/** The systemd unit that runs a state folder's monitor (several state folders, several units). */
export function monitorUnit(stateDir: string): string {
  return `multilink-monitor-${createHash('sha256').update(stateDir).digest('hex').slice(0, 8)}`;
}

/** ml_monitor_start and ml_monitor_stop; needs lib.sh before it. */
export function monitorControlLib(stateDir: string): Sh {
  return scriptFile(file('monitor-control.sh'), { ML_STATE: new StateLayout(stateDir).dir, ML_MONITOR_UNIT: monitorUnit(stateDir) });
}

export interface MonitorParams {
  /** The play has IPv6 links: the monitor keeps their IPv6 side (monitor6.sh). */
  ipv6?: boolean;
  /** IPv6 probe targets, and how many must answer. */
  targets6?: string[];
  quorum6?: number;
  /** Whole seconds an IPv6 probe waits. */
  wait6?: number;
  stateDir: string;
  /** Where it keeps what it rewrites every few seconds (a RAM disk). */
  runDir: string;
  targets: string[];
  quorum: number;
  downAfter: number;
  upAfter: number;
  /** Seconds, as sleep(1) takes them ("1", "0.5"). */
  interval: string;
  /** Seconds a round waits for its probes' answers: probes still running then are cut (failed). */
  wait: string;
  links: number;
  /** The mark mask, in hex. */
  mask: string;
  /** Link names in play order (the state file is kept only for the same links). */
  linkNames: string[];
  /** The balancing chain (ML_BALANCE). */
  chain: string;
  /** The nft backend: the chain is table inet multilink's, loaded with nft -f. */
  nft?: boolean;
  /** No conntrack tool: a failed link's connections are ended by the table's set ML_DOWN (DesiredState.resetDown). */
  resetDown?: boolean;
  /** iptables backend: the jump lines (`-A CHAIN RULE`) iptables-save / ip6tables-save must show, else the guard restores. */
  guard?: string[];
  guard6?: string[];
  /** method adaptive: what the monitor learns with (see monitor.sh). */
  adaptive?: {
    /** Monitor rounds per update. */
    rounds: number;
    /** Updates between saves of the learnt weights to the state folder. */
    saveEvery: number;
    /** `param NAME VALUE` lines for adaptive.awk. */
    params: string;
    /** `K:WEIGHT …`: the playbook's weights, where learning starts. */
    start: string;
    /** Link k is marked k × markStep; the mask holds values up to markRoom (the top one pins). */
    markStep: number;
    markRoom: number;
  };
  /** Bytes the monitor's log may reach before it is rotated (it and log.1: at most twice this). */
  logMaxBytes: number;
  /** State changes kept per link in the history ring. */
  historyPerLink: number;
  /** Rounds between state file writes for the probe statistics alone. */
  statsEvery: number;
  /** Sub-second probes (monitor-stream.sh): the interval and a reply's allowed lateness, in centiseconds. */
  stream?: { intervalCs: number; toleranceCs: number };
}

/** src/remote/adaptive.awk: the learning and chain program of method adaptive. */
export function adaptiveAwk(): string {
  return readFileSync(file('adaptive.awk'), 'utf8');
}

/** The monitor loop's parameters, as set at the top of monitor.sh. */
export function monitorVariables(p: MonitorParams): Record<string, string | number> {
  return {
    ML_STATE: new StateLayout(p.stateDir).dir,
    ML_RUN: new RunLayout(p.runDir).dir,
    ML_TARGETS: p.targets.join(' '),
    ML_HAS6: p.ipv6 ? 'yes' : '',
    ML_TARGETS6: (p.targets6 ?? []).join(' '),
    ML_QUORUM6: p.quorum6 ?? 1,
    ML_WAIT_S6: p.wait6 ?? 1,
    ML_QUORUM: p.quorum,
    ML_DOWN_AFTER: p.downAfter,
    ML_UP_AFTER: p.upAfter,
    ML_INTERVAL: p.interval,
    ML_WAIT: p.wait,
    ML_N: p.links,
    ML_MASK: p.mask,
    ML_LINKS: p.linkNames.join(' '),
    ML_CHAIN: p.chain,
    ML_NFT: p.nft ? 'yes' : '',
    ML_RESET_DOWN: p.resetDown ? 'yes' : '',
    ML_GUARD: (p.guard ?? []).join('|'),
    ML_GUARD6: (p.guard6 ?? []).join('|'),
    ML_ADAPT: p.adaptive ? 'yes' : '',
    ML_ADAPT_ROUNDS: p.adaptive?.rounds ?? 0,
    ML_ADAPT_SAVE: p.adaptive?.saveEvery ?? 0,
    ML_ADAPT_PARAMS: p.adaptive?.params ?? '',
    ML_ADAPT_START: p.adaptive?.start ?? '',
    ML_MARK_STEP: p.adaptive?.markStep ?? 0,
    ML_MARK_ROOM: p.adaptive?.markRoom ?? 0,
    ML_LOG_MAX: positive(p.logMaxBytes),
    ML_HISTORY: positive(p.historyPerLink),
    ML_STATS_EVERY: positive(p.statsEvery),
    ML_STREAM: p.stream ? 'yes' : '',
    ML_IVL_CS: p.stream ? positive(p.stream.intervalCs) : 0,
    ML_TOL_CS: p.stream ? positive(p.stream.toleranceCs) : 0,
  };
}

function positive(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`invalid monitor parameter ${n}`);
  return n;
}

/** What the monitor records (bounded log, syslog, history ring, probe statistics); needs lib.sh. */
export function monitorRecordLib(): Sh {
  return scriptFile(file('monitor-record.sh'));
}

/** The monitor's guard against foreign flushes (monitor-guard.sh); needs lib.sh and monitorRecordLib. */
export function monitorGuardLib(): Sh {
  return scriptFile(file('monitor-guard.sh'));
}

/** How the monitor keeps each link's routing table (monitor-tables.sh); needs lib.sh, monitorRecordLib and ml_link. */
export function monitorTablesLib(): Sh {
  return scriptFile(file('monitor-tables.sh'));
}

/** The monitor's IPv6 side (functions only); needs lib.sh and monitorRecordLib before it. */
export function monitorIpv6Lib(): Sh {
  return scriptFile(file('monitor6.sh'));
}

/** How a monitor round waits for its probes, bounded by ML_WAIT (monitor-round.sh); needs lib.sh. */
export function monitorRoundLib(): Sh {
  return scriptFile(file('monitor-round.sh'));
}

/** Sub-second probes: one long-lived ping per target and link (monitor-stream.sh); needs lib.sh and ml_stream_ping. */
export function monitorStreamLib(): Sh {
  return scriptFile(file('monitor-stream.sh'));
}

/** The monitor loop; needs lib.sh, ml_link, ml_probe, ml_balance (and ml_balance6), ml_tier, monitorRecordLib, monitorRoundLib, monitorTablesLib and monitorIpv6Lib before it. */
export function monitorProgram(p: MonitorParams): Sh {
  return scriptFile(file('monitor.sh'), monitorVariables(p));
}

/** The guard-only monitor's parameters (monitor-guard-loop.sh, monitor-guard.sh, monitor-record.sh's log). */
export interface GuardParams {
  stateDir: string;
  runDir: string;
  /** Seconds, as sleep(1) takes them. */
  interval: string;
  chain: string;
  nft?: boolean;
  guard?: string[];
  guard6?: string[];
  logMaxBytes: number;
}

export function guardVariables(p: GuardParams): Record<string, string | number> {
  return {
    ML_STATE: new StateLayout(p.stateDir).dir,
    ML_RUN: new RunLayout(p.runDir).dir,
    ML_INTERVAL: p.interval,
    ML_CHAIN: p.chain,
    ML_NFT: p.nft ? 'yes' : '',
    ML_GUARD: (p.guard ?? []).join('|'),
    ML_GUARD6: (p.guard6 ?? []).join('|'),
    ML_LOG_MAX: positive(p.logMaxBytes),
  };
}

/** The guard-only monitor's loop; needs lib.sh, monitorRecordLib and monitorGuardLib before it. */
export function monitorGuardLoop(p: GuardParams): Sh {
  return scriptFile(file('monitor-guard-loop.sh'), guardVariables(p));
}

/** The boot hook's own transaction id: what its lock epoch names (it has no transaction folder). */
export const BOOT_TXN_ID = 'b0070000b0070000';
/** Seconds the boot hook waits for a deploy that holds the lock, and that its own lock holds back others at most. */
export const BOOT_WAIT_S = 300;

/** $S/boot.sh: restores the last confirmed generation, under the deploy lock. */
export function bootProgram(stateDir: string): Sh {
  const dir = new StateLayout(stateDir).dir;
  const lock: TxnParams = { stateDir: dir, id: BOOT_TXN_ID, holder: 'the boot hook, restoring the last confirmed generation', leaseS: BOOT_WAIT_S, waitS: BOOT_WAIT_S };
  return lines(
    sh`#!/bin/sh`,
    sh`# multilink: restore the last confirmed generation at boot (written by multilink; do not edit).`,
    shellLib('none'),
    txnLockLib(lock),
    scriptFile(file('boot.sh'), { ML_STATE: dir, ML_BOOT_WAIT_S: BOOT_WAIT_S }),
  );
}

/** /etc/init.d/multilink (sysvinit and OpenWrt). */
export function initdProgram(stateDir: string): Sh {
  return scriptFile(file('initd.sh'), { ML_STATE: new StateLayout(stateDir).dir });
}
