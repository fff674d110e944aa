// The transaction on the router. One exec uploads and starts it; it runs detached from the
// SSH session, so a dropped connection cannot leave a half-applied router:
//   lock → refuse a stale plan → new generation → arm the dead-man timer → apply
//   (any failing step: restore the snapshot and verify it) → wait for confirmation.
// The controller confirms over a NEW connection (disarmScript) or asks for an immediate
// restore (restoreNowScript). Whoever renames txn/armed first wins: timer or controller.
import type { GatherRequest } from '../facts/gather.js';
import { gatherFunction, flavourPrelude, SCRIPT_HEADER } from '../facts/gather.js';
import type { PlanOps } from '../model/plan.js';
import type { OwnedRecord } from '../model/facts.js';
import { quote } from '../quote.js';
import { resetFunction } from './reset.js';
import { catTo, opsSteps, STEP_FUNCTIONS, DONE, waitWhile } from './script.js';
import type { OwnedSnapshot, ResetScope } from './snapshot.js';
import { scopeOf } from './snapshot.js';

export const LOCKED = '@@ML-LOCKED';
export const STALE_LOCK = '@@ML-STALE-LOCK';
export const STALE_PLAN = '@@ML-STALE-PLAN';
export const GENERATION = '@@ML-GENERATION';
export const RESTORED = '@@ML-RESTORED';
export const RESTORE_FAILED = '@@ML-RESTORE-FAILED';
export const CONFIRMED = '@@ML-CONFIRMED';
export const TOO_LATE = '@@ML-TOO-LATE';

export const KEEP_GENERATIONS = 10;

/** ml_step for restores: a failing step is reported and the restore goes on with the rest. */
const STEP_CONTINUE = `ml_failed=0
ml_step() {
  ml_desc=$1; shift
  ml_err=$("$@" 2>&1 >/dev/null)
  ml_rc=$?
  if [ "$ml_rc" -ne 0 ]; then
    printf 'step failed: %s (exit %s): %s\\n' "$ml_desc" "$ml_rc" "$ml_err"
    ml_failed=1
  fi
  return 0
}`;

/**
 * What the stale-plan check and the restore check compare: multilink's own objects. Drops
 * the sections a restore cannot or need not bring back (loaded modules, generations, the
 * monitor's pid) and, in the iptables sections, everything but ML_ chains and the jumps to
 * them, so other tools' churn (Docker, kube-proxy) neither refuses a plan nor fails a restore.
 */
const FILTER = `ml_filter() { awk '/^@@ML (module |generations|monitor-runtime)/ { skip = 1 } /^@@ML iptables / { ipt = 1; print; next } /^@@ML-rc / { if (!skip) print; skip = 0; ipt = 0; next } !skip && (!ipt || /ML_/) { print }'; }`;

/** Stops the timer and its sleep (the caller has already taken txn/armed, so it restores nothing). */
function killTimer(s: string): string {
  return `for ml_p in $(cat ${s}/txn/sleep.pid ${s}/txn/timer.pid 2>/dev/null); do kill "$ml_p" 2>/dev/null; done`;
}

const DETACH = `if command -v setsid >/dev/null 2>&1; then ml_detach=setsid; else ml_detach=; fi`;

export interface TransactionInput {
  stateDir: string;
  req: GatherRequest;
  /** The gather output the plan was made against. */
  priorGather: string;
  ops: PlanOps;
  ownedBefore: OwnedRecord | null;
  prior: OwnedSnapshot;
  target: OwnedSnapshot;
  scope: ResetScope;
  /** Stored with the generation: the compiled state, for rollback. */
  desiredJson: string;
  meta: Record<string, string | number>;
  confirmTimeoutS: number;
  /** Random id of this transaction: later scripts act only on their own. */
  id: string;
  /** How long the lock is valid without a live transaction behind it. */
  leaseS: number;
  holder: string;
}

/** Writes a file of the new generation ($ml_gdir, known only on the router). */
function gdirWrite(name: string, content: string): string {
  return catTo(`"$ml_gdir/${name}"`, content);
}

function fileWrite(path: string, content: string): string {
  return catTo(quote(path), content);
}

function restoreScript(t: TransactionInput): string {
  const s = quote(t.stateDir);
  return [
    SCRIPT_HEADER,
    flavourPrelude(t.ops.flavour),
    STEP_CONTINUE,
    gatherFunction(t.req),
    FILTER,
    resetFunction(t.prior, t.scope, t.stateDir),
    `ml_why=\${1:-restore}`,
    `( ml_reset; exit $ml_failed ) > ${s}/txn/reset.out 2>&1; ml_rc=$?`,
    `ml_gen=$(cat ${s}/txn/generation 2>/dev/null); [ -n "$ml_gen" ] && rm -rf ${s}/generations/"$ml_gen"`,
    `if [ "$ml_rc" -eq 0 ] && [ "$(ml_gather | ml_filter)" = "$(ml_filter < ${s}/txn/prior.gather)" ]; then`,
    `  echo "restored ($ml_why): the prior state is back and verified" > ${s}/txn/result.tmp && mv -f ${s}/txn/result.tmp ${s}/txn/result`,
    `  echo "${RESTORED} $ml_why"`,
    'else',
    `  { echo "RESTORE FAILED ($ml_why): the owned state matches neither the prior nor the compiled state"; cat ${s}/txn/reset.out; } > ${s}/txn/result.tmp && mv -f ${s}/txn/result.tmp ${s}/txn/result`,
    `  echo "${RESTORE_FAILED} $ml_why"; cat ${s}/txn/reset.out`,
    'fi',
  ].join('\n') + '\n';
}

function applyScriptDetached(t: TransactionInput): string {
  const s = quote(t.stateDir);
  return [
    SCRIPT_HEADER,
    flavourPrelude(t.ops.flavour),
    STEP_FUNCTIONS,
    `ML_FIRED=${s}/txn/fired`,
    "trap '' HUP PIPE",
    'umask 077',
    `( ${opsSteps({ ops: t.ops, stateDir: t.stateDir, ownedBefore: t.ownedBefore }).join('\n')}\n) > ${s}/txn/steps.out 2>&1`,
    `cat ${s}/txn/steps.out`,
    `if ! grep -q '^${DONE}$' ${s}/txn/steps.out; then`,
    `  if mv ${s}/txn/armed ${s}/txn/fired 2>/dev/null; then`,
    `    ${killTimer(s)}`,
    `    sh ${s}/txn/restore.sh "a step failed"`,
    `    rm -rf ${s}/lock`,
    '  fi',
    'fi',
    `touch ${s}/txn/apply.done`,
  ].join('\n') + '\n';
}

/** The generation's own script: makes the owned state exactly this generation (boot, repair). */
export function generationStateScript(t: Pick<TransactionInput, 'ops' | 'target' | 'stateDir'>): string {
  return [
    SCRIPT_HEADER,
    flavourPrelude(t.ops.flavour),
    STEP_CONTINUE,
    gatherFunction({ iptables: t.ops.flavour, tables: [], sysctls: [], modules: [], stateDir: t.stateDir }),
    resetFunction(t.target, scopeOf(t.target), t.stateDir),
    `for ml_m in ${t.ops.modules.map(quote).join(' ')}; do modprobe "$ml_m" 2>/dev/null; done`,
    'ml_reset',
    'exit $ml_failed',
  ].join('\n') + '\n';
}

function lockSteps(t: TransactionInput): string[] {
  const s = quote(t.stateDir);
  return [
    `ml_now=$(date +%s)`,
    `if ! mkdir ${s}/lock 2>/dev/null; then`,
    `  ml_exp=$(cat ${s}/lock/expires 2>/dev/null); ml_holder=$(cat ${s}/lock/holder 2>/dev/null)`,
    `  ml_tp=$(cat ${s}/txn/timer.pid 2>/dev/null)`,
    // Stale: its lease ran out and no dead-man timer of its transaction is alive.
    `  if [ -n "$ml_exp" ] && [ "$ml_now" -gt "$ml_exp" ] && ! { [ -n "$ml_tp" ] && [ -e ${s}/txn/armed ] && kill -0 "$ml_tp" 2>/dev/null; }; then`,
    `    echo "${STALE_LOCK} $ml_holder"; rm -rf ${s}/lock`,
    `    mkdir ${s}/lock 2>/dev/null || { echo "${LOCKED} another deploy took the lock just now"; exit 4; }`,
    '  else',
    `    echo "${LOCKED} $ml_holder"; exit 4`,
    '  fi',
    'fi',
    `printf '%s\\n' ${quote(t.holder)} > ${s}/lock/holder`,
    `echo $((ml_now + ${t.leaseS})) > ${s}/lock/expires`,
  ];
}

/** The one exec that starts a transaction and reports how the apply went. */
export function transactionScript(t: TransactionInput): string {
  const s = quote(t.stateDir);
  const lines: string[] = [
    SCRIPT_HEADER,
    flavourPrelude(t.ops.flavour),
    gatherFunction(t.req),
    'umask 077',
    `mkdir -p ${s}/generations ${s}/txn || exit 3`,
    ...lockSteps(t),
    fileWrite(`${t.stateDir}/txn/prior.gather`, t.priorGather.replace(/\n+$/, '')),
    // Terraform's rule: a plan made against facts that are no longer true is refused.
    FILTER,
    `if [ "$(ml_gather | ml_filter)" != "$(ml_filter < ${s}/txn/prior.gather)" ]; then rm -rf ${s}/lock; echo ${STALE_PLAN}; exit 5; fi`,
    'ml_gen=0',
    `for ml_g in ${s}/generations/*; do ml_g=\${ml_g##*/}; case $ml_g in ''|*[!0-9]*) continue ;; esac; [ "$ml_g" -gt "$ml_gen" ] && ml_gen=$ml_g; done`,
    'ml_gen=$((ml_gen + 1))',
    `mkdir -p ${s}/generations/"$ml_gen" || exit 3`,
    `rm -f ${s}/txn/armed ${s}/txn/fired ${s}/txn/disarmed ${s}/txn/result ${s}/txn/apply.done ${s}/txn/apply.out ${s}/txn/sleep.pid ${s}/txn/timer.pid`,
    `echo "$ml_gen" > ${s}/txn/generation`,
    `echo ${quote(t.id)} > ${s}/txn/id`,
    fileWrite(`${t.stateDir}/txn/restore.sh`, restoreScript(t)),
    fileWrite(`${t.stateDir}/txn/apply.sh`, applyScriptDetached(t)),
    `ml_gdir=${s}/generations/"$ml_gen"`,
    gdirWrite('state.sh', generationStateScript(t).trimEnd()),
    gdirWrite('desired.json', t.desiredJson),
    gdirWrite('meta.json', JSON.stringify(t.meta)),
    `echo "${GENERATION} $ml_gen"`,
    DETACH,
    `touch ${s}/txn/armed`,
    `$ml_detach sh -c 'sleep "$1" & echo $! > "$2/txn/sleep.pid"; wait $!; if mv "$2/txn/armed" "$2/txn/fired" 2>/dev/null; then sh "$2/txn/restore.sh" "no confirmation within $1 s" > "$2/txn/deadman.out" 2>&1; rm -rf "$2/lock"; fi' ml-deadman ${t.confirmTimeoutS} ${s} </dev/null >/dev/null 2>&1 &`,
    `echo $! > ${s}/txn/timer.pid`,
    `$ml_detach sh ${s}/txn/apply.sh </dev/null > ${s}/txn/apply.out 2>&1 &`,
    waitWhile(`[ ! -e ${s}/txn/apply.done ]`, 36000),
    `cat ${s}/txn/apply.out`,
  ];
  return lines.join('\n') + '\n';
}

export const NOT_MINE = '@@ML-NOT-MINE';

function ownTransaction(s: string, id: string): string {
  if (!/^[0-9a-f]{8,64}$/.test(id)) throw new Error('invalid transaction id');
  return `if [ "$(cat ${s}/txn/id 2>/dev/null)" != ${id} ]; then echo ${NOT_MINE}; exit 0; fi`;
}

/** A restore that the timer started may still be running: wait (bounded) for its verdict. */
function resultWhenReady(s: string): string {
  return `${waitWhile(`[ ! -s ${s}/txn/result ]`, 600)}; cat ${s}/txn/result 2>/dev/null || echo 'unknown: no result of the restore'`;
}

/** Round trip 4: disarm the timer, mark the generation confirmed and current, prune, unlock. */
export function disarmScript(stateDir: string, id: string, bootSteps: string[] = []): string {
  const s = quote(stateDir);
  return [
    waitAppliedScript(stateDir),
    ownTransaction(s, id),
    // The generation as the router numbered it (the controller may have lost that reply).
    `ml_gen=$(cat ${s}/txn/generation 2>/dev/null); case "$ml_gen" in ''|*[!0-9]*) echo "${TOO_LATE} no generation recorded"; exit 0 ;; esac`,
    `if mv ${s}/txn/armed ${s}/txn/disarmed 2>/dev/null; then`,
    `  ${killTimer(s)}`,
    `  touch ${s}/generations/"$ml_gen"/confirmed`,
    `  echo "$ml_gen" > ${s}/current.tmp && mv -f ${s}/current.tmp ${s}/current`,
    `  ml_all=$(for ml_g in ${s}/generations/*; do ml_g=\${ml_g##*/}; case $ml_g in ''|*[!0-9]*) ;; *) echo "$ml_g" ;; esac; done | sort -n)`,
    `  ml_drop=$(( $(printf '%s\\n' "$ml_all" | grep -c .) - ${KEEP_GENERATIONS} ))`,
    `  if [ "$ml_drop" -gt 0 ]; then printf '%s\\n' "$ml_all" | head -n "$ml_drop" | while read -r ml_g; do rm -rf ${s}/generations/"$ml_g"; done; fi`,
    ...bootSteps.map((l) => `  ${l}`),
    `  rm -rf ${s}/lock`,
    `  echo "${CONFIRMED} $ml_gen"`,
    'else',
    `  echo ${TOO_LATE}; ${resultWhenReady(s)}`,
    'fi',
  ].join('\n') + '\n';
}

/** The live state is wrong after apply: restore now instead of waiting for the timer. */
export function restoreNowScript(stateDir: string, id: string, why: string): string {
  const s = quote(stateDir);
  return [
    waitAppliedScript(stateDir),
    ownTransaction(s, id),
    `if mv ${s}/txn/armed ${s}/txn/fired 2>/dev/null; then`,
    `  ${killTimer(s)}`,
    `  sh ${s}/txn/restore.sh ${quote(why)}`,
    `  rm -rf ${s}/lock`,
    'else',
    `  echo ${TOO_LATE}; ${resultWhenReady(s)}`,
    'fi',
  ].join('\n') + '\n';
}

/** Waits (bounded) until a detached apply has finished, so nothing races with it. */
export function waitAppliedScript(stateDir: string): string {
  const s = quote(stateDir);
  return `${SCRIPT_HEADER}\n${waitWhile(`[ -e ${s}/txn/armed ] && [ ! -e ${s}/txn/apply.done ]`, 3000)}\n`;
}

/** After losing the host: what happened to the transaction (result of the dead-man restore). */
export function transactionStatusScript(stateDir: string, id: string): string {
  const s = quote(stateDir);
  return `${SCRIPT_HEADER}\n${ownTransaction(s, id)}\nif [ -e ${s}/txn/armed ]; then echo armed; elif [ -e ${s}/txn/disarmed ]; then echo confirmed; else ${resultWhenReady(s)}; fi\n`;
}
