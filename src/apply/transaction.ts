// Composes the transaction's scripts. A change costs two executions, each one conversation:
//   1. begin (txn-begin.sh): lock, gather, prompt; the controller plans and answers with the
//      plan (planScript), which the router runs: files, generation, dead-man timer, steps;
//   2. control (txn-control.sh), over a NEW connection: gather, prompt; the controller checks
//      and answers with its decision (decisionScript): disarm, or restore now.
// The plan leaves on the router what later processes need: restore.sh, confirm.sh
// in the transaction's folder, and the generation's own state.sh.
// The logic lives in src/remote/*.sh.
import { createHash } from 'node:crypto';
import type { DesiredState } from '../model/desired.js';
import type { OwnedRecord } from '../model/facts.js';
import type { PlanOps } from '../model/plan.js';
import type { OwnedSnapshot, ResetScope } from '../model/snapshot.js';
import type { GatherRequest } from '../facts/gather-request.js';
import { filterFunction, gatherFunction } from '../facts/gather.js';
import { bootInstallFunction } from '../render/boot.js';
import { purgeFilesFunction } from '../render/purge.js';
import { followedTables } from '../render/monitor.js';
import { netfilterResetFunction, resetFunction } from '../render/reset.js';
import {
  monitorControlLib,
  txnBeginProgram,
  txnConfirmProgram,
  txnControlProgram,
  txnLockLib,
  txnPurgeProgram,
  txnRestoreProgram,
  txnRunProgram,
  type TxnParams,
} from '../remote/programs.js';
import { KEEP_GENERATIONS, RunLayout, StateLayout } from '../shell/layout.js';
import { lines, shellLib } from '../shell/lib.js';
import { sh, withHeredoc, type Sh } from '../shell/sh.js';
import { applyStepsFunction } from './steps.js';
import { scopeOf } from './snapshot.js';

export interface TransactionInput {
  /** The transaction's id (its folder on the router). */
  id: string;
  /** The gather output the plan was made against. */
  priorGather: string;
  req: GatherRequest;
  ops: PlanOps;
  desired: DesiredState;
  ownedBefore: OwnedRecord | null;
  prior: OwnedSnapshot;
  target: OwnedSnapshot;
  scope: ResetScope;
  meta: Record<string, string | number>;
  confirmTimeoutS: number;
}

/** The line a conversation of transaction `id` prints when it waits for the controller. */
export function txnPrompt(id: string): string {
  return `@@ML-ready ${id}`;
}

/** The last line of every answer: the router runs an answer only when it arrived whole. */
function trailer(id: string): Sh {
  return sh`# ml-end ${id}`;
}

const stateDirOf = (t: TransactionInput): string => t.desired.settings.stateDir;

/**
 * Files the transaction writes once, before it is armed (nothing reads them earlier, and a
 * transaction that dies before it is armed is discarded with its generation): all in one
 * here-document, split by one awk at marker lines no content line can equal. A path starting
 * with `@gen/` is in the generation folder, the awk variable g ($1 of the calling function).
 */
function writeFilesOnce(files: { path: string; content: string }[], gen?: Sh): Sh {
  const body = files.map((f) => `\0${f.path}\n${f.content.replace(/\n+$/, '')}`).join('\n');
  let salt = 0;
  let marker: string;
  do marker = `@@ML-FILE-${createHash('sha256').update(`${salt++}\0${body}`).digest('hex').slice(0, 12)}`;
  while (body.split('\n').some((l) => l.startsWith(marker)));
  const text = body.replace(/\0/g, `${marker} `);
  const awk = `index($0, m " ") == 1 { f = substr($0, length(m) + 2); if (substr(f, 1, 5) == "@gen/") f = g "/" substr(f, 6); next } { print > f }`;
  return withHeredoc(sh`awk -v m=${marker} -v g=${gen ?? sh`''`} ${awk}`, text);
}

/** Execution 1, first part: lock, settle what dead transactions left, gather, prompt. */
export function beginScript(req: GatherRequest, p: TxnParams): Sh {
  return lines(shellLib(req.iptables), gatherFunction(req), txnLockLib(p), txnBeginProgram(p));
}

/** Execution 2 (and the question after lost contact), first part. */
export function controlScript(req: GatherRequest, p: TxnParams): Sh {
  return lines(shellLib(req.iptables), gatherFunction(req), txnLockLib(p), txnControlProgram(p));
}

/** Execution 2's answer. */
export function decisionScript(id: string, decision: 'disarm' | 'restore'): Sh {
  return lines(sh`# shellcheck disable=SC2034 # read by txn-control.sh, which sources this`, sh`ml_decision=${decision}`, trailer(id));
}

/** $S/txn/ID/restore.sh: the reset to the prior snapshot, verified against the prior gather. */
export function restoreScript(t: TransactionInput): Sh {
  const dir = stateDirOf(t);
  return lines(
    shellLib(t.ops.flavour),
    monitorControlLib(dir),
    gatherFunction(t.req),
    filterFunction(t.scope, [...new Set([...followedTables(t.prior.monitorScript), ...followedTables(t.target.monitorScript)])]),
    resetFunction(t.prior, t.scope, dir, t.req.runDir, new StateLayout(dir).txnDir(t.id)),
    txnRestoreProgram(dir, t.id),
  );
}

/** $S/txn/ID/confirm.sh: what the confirmation does; for a remove, the purge of its files. */
export function confirmScript(t: Pick<TransactionInput, 'id' | 'ops' | 'desired'>): Sh {
  const { stateDir, runDir } = t.desired.settings;
  if (t.ops.purge) return lines(shellLib('none'), purgeFilesFunction(t.ops.purge), txnPurgeProgram(stateDir, t.id, runDir));
  return lines(shellLib('none'), txnConfirmProgram(stateDir, t.id, KEEP_GENERATIONS));
}

/** The generation's own script: makes the owned state exactly this generation (boot, repair). */
export function generationStateScript(t: Pick<TransactionInput, 'ops' | 'target' | 'desired'>): Sh {
  const dir = t.desired.settings.stateDir;
  return lines(
    sh`#!/bin/sh`,
    shellLib(t.ops.flavour),
    monitorControlLib(dir),
    resetFunction(t.target, scopeOf(t.target), dir, t.desired.settings.runDir),
    t.ops.modules.length > 0 && sh`for ml_m in ${t.ops.modules}; do modprobe "$ml_m" 2>/dev/null; done`,
    sh`ml_reset && ml_tried_all`,
  );
}

/** The generation's netfilter alone (@gen/netfilter.sh): what the link monitor puts back after a foreign flush. */
export function generationNetfilterScript(t: Pick<TransactionInput, 'ops' | 'target' | 'desired'>): Sh {
  return lines(sh`#!/bin/sh`, shellLib(t.ops.flavour), netfilterResetFunction(t.target, scopeOf(t.target), new RunLayout(t.desired.settings.runDir).dir), sh`ml_reset_netfilter && ml_tried_all`);
}

/** Execution 1's answer: the plan, run by the router once it arrived whole (txn-run.sh). */
export function planScript(t: TransactionInput): Sh {
  const dir = stateDirOf(t);
  const txn = new StateLayout(dir).txnDir(t.id);
  const gen = sh`"$1"`;
  return lines(
    monitorControlLib(dir),
    bootInstallFunction(t.desired.settings.boot, dir),
    applyStepsFunction({ ops: t.ops, desired: t.desired, ownedBefore: t.ownedBefore }),
    sh`ml_write_txn_files() {`,
    writeFilesOnce([
      { path: `${txn}/prior.gather`, content: t.priorGather },
      { path: `${txn}/restore.sh`, content: restoreScript(t).text },
      { path: `${txn}/confirm.sh`, content: confirmScript(t).text },
    ]),
    sh`}`,
    sh`ml_write_generation() {`,
    writeFilesOnce(
      [
        { path: '@gen/state.sh', content: generationStateScript(t).text },
        { path: '@gen/netfilter.sh', content: generationNetfilterScript(t).text },
        { path: '@gen/desired.json', content: JSON.stringify(t.desired) },
        { path: '@gen/meta.json', content: JSON.stringify(t.meta) },
      ],
      gen,
    ),
    sh`}`,
    txnRunProgram(t.confirmTimeoutS),
    trailer(t.id),
  );
}
