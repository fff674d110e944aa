// Composes the transaction's scripts: the one exec that starts it (txn-start.sh with the
// data it needs), the files it leaves on the router (txn/apply.sh, txn/restore.sh, the
// generation's state.sh), and the control scripts the controller runs afterwards over new
// connections (txn-control.sh: disarm, restore, status). The logic lives in src/remote/*.sh.
import type { BootSetting } from '../model/config.js';
import type { DesiredState } from '../model/desired.js';
import type { OwnedRecord } from '../model/facts.js';
import type { PlanOps } from '../model/plan.js';
import type { OwnedSnapshot, ResetScope } from '../model/snapshot.js';
import type { GatherRequest } from '../facts/gather-request.js';
import { FILTER_FUNCTION, gatherFunction } from '../facts/gather.js';
import { bootInstallFunction } from '../render/boot.js';
import { resetFunction } from '../render/reset.js';
import { monitorControlLib, txnApplyProgram, txnControlProgram, txnRestoreProgram, txnStartProgram, type TxnControlParams } from '../remote/programs.js';
import { KEEP_GENERATIONS, StateLayout } from '../shell/layout.js';
import { lines, shellLib, writeFile } from '../shell/lib.js';
import { sh, type Sh } from '../shell/sh.js';
import { applyStepsFunction } from './steps.js';
import { scopeOf } from './snapshot.js';

export interface TransactionInput {
  req: GatherRequest;
  /** The gather output the plan was made against. */
  priorGather: string;
  ops: PlanOps;
  desired: DesiredState;
  ownedBefore: OwnedRecord | null;
  prior: OwnedSnapshot;
  target: OwnedSnapshot;
  scope: ResetScope;
  meta: Record<string, string | number>;
  confirmTimeoutS: number;
  /** Random id of this transaction: later scripts act only on their own. */
  id: string;
  /** How long the lock is valid without a live transaction behind it. */
  leaseS: number;
  holder: string;
}

const stateDirOf = (t: TransactionInput): string => t.desired.settings.stateDir;

/** txn/restore.sh: the reset to the prior snapshot, verified against the prior gather. */
export function restoreScript(t: TransactionInput): Sh {
  const dir = stateDirOf(t);
  return lines(shellLib(t.ops.flavour), monitorControlLib(dir), gatherFunction(t.req), FILTER_FUNCTION, resetFunction(t.prior, t.scope, dir), txnRestoreProgram(dir));
}

/** txn/apply.sh: the plan's steps, detached; on a failed step, the restore. */
export function applyScript(t: TransactionInput): Sh {
  const dir = stateDirOf(t);
  return lines(shellLib(t.ops.flavour), monitorControlLib(dir), applyStepsFunction({ ops: t.ops, desired: t.desired, ownedBefore: t.ownedBefore }), txnApplyProgram(dir));
}

/** The generation's own script: makes the owned state exactly this generation (boot, repair). */
export function generationStateScript(t: Pick<TransactionInput, 'ops' | 'target' | 'desired'>): Sh {
  const dir = t.desired.settings.stateDir;
  return lines(
    sh`#!/bin/sh`,
    shellLib(t.ops.flavour),
    monitorControlLib(dir),
    resetFunction(t.target, scopeOf(t.target), dir),
    t.ops.modules.length > 0 && sh`for ml_m in ${t.ops.modules}; do modprobe "$ml_m" 2>/dev/null; done`,
    sh`ml_reset && ml_tried_all`,
  );
}

/** The one exec that starts a transaction and reports how the apply went. */
export function transactionScript(t: TransactionInput): Sh {
  const dir = stateDirOf(t);
  const txn = new StateLayout(dir).txn;
  const gen = sh`"$1"`;
  return lines(
    shellLib(t.ops.flavour),
    gatherFunction(t.req),
    FILTER_FUNCTION,
    sh`ml_write_txn_files() {`,
    writeFile(`${txn}/prior.gather`, t.priorGather.replace(/\n+$/, '')),
    writeFile(`${txn}/restore.sh`, restoreScript(t).text),
    writeFile(`${txn}/apply.sh`, applyScript(t).text),
    sh`}`,
    sh`ml_write_generation() {`,
    writeFile(sh`${gen}/state.sh`, generationStateScript(t).text),
    writeFile(sh`${gen}/desired.json`, JSON.stringify(t.desired)),
    writeFile(sh`${gen}/meta.json`, JSON.stringify(t.meta)),
    sh`}`,
    txnStartProgram({ stateDir: dir, id: t.id, holder: t.holder, leaseS: t.leaseS, confirmTimeoutS: t.confirmTimeoutS }),
  );
}

/** A control script over a new connection: disarm (with the boot hook), restore now, or status. */
export function controlScript(p: TxnControlParams, boot: BootSetting = 'none'): Sh {
  return lines(shellLib('none'), p.action === 'disarm' ? bootInstallFunction(boot, p.stateDir) : sh`ml_install_boot() { :; }`, txnControlProgram(p, KEEP_GENERATIONS));
}
