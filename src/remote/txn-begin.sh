# shellcheck shell=sh
# The first execution of a change, as one conversation (Session.converse): take the deploy
# lock, bring to an end whatever a dead transaction left (ml_settle_all), gather the live
# state, print the prompt, and wait for the controller's plan on stdin, until the plan
# deadline. No plan (nothing to do, or the controller is gone or silent): release the lock. A
# plan that arrived whole: source it and run the transaction it defines (ml_txn_run, txn-run.sh).
# Until the transaction is armed nothing that multilink owns has changed, and every way out
# releases the lock; a holder killed before that leaves an epoch the next deploy takes at once.
# Parameters: ML_STATE, ML_TXN_ID, ML_HOLDER, ML_LEASE_S, ML_WAIT_S.
# Defined before this file: lib.sh, txn-lock.sh, ml_gather.
# shellcheck disable=SC2154 # ml_epoch: set by ml_lock (txn-lock.sh)
S=$ML_STATE
T=$S/txn/$ML_TXN_ID
# The connection may go at any moment: writing to it must not kill the transaction.
trap '' HUP PIPE
umask 077

ml_lock || exit 4
ml_settle_all 'its processes died'
# A remove settled just now took the state folder, and this lock with it: take another.
[ -d "$ml_epoch" ] || ml_lock || exit 4
ml_prune_txns
ml_gather
echo "@@ML-ready $ML_TXN_ID"

# ml_end WHY: this transaction ends before it was armed.
ml_end() {
  ml_field ended "$1"
  echo "$1" > "$T/ended"
  ml_unlock
}
# The plan is received into the lock's epoch (nothing to do leaves nothing to clean up) until
# the plan deadline: once the clock has passed the epoch's planby (ML_WAIT_S after the lock was
# taken), the monitor and other deploys stop waiting for this one (ml_overdue), and so does it.
# (sleep counts whole seconds: a plan that comes in the second after is refused by ml_txn_run.)
ml_owner "$ml_epoch/owner"
ml_clock
ml_left=$((ml_o_planby + 1 - ml_clock_s))
[ "$ml_left" -ge 1 ] || ml_left=1
ml_late=
ml_receive "$ml_left" "$ml_epoch/plan.sh" || ml_late=1
if [ ! -s "$ml_epoch/plan.sh" ]; then
  if [ -n "$ml_late" ]; then
    # Also for a controller that asks later (txn-control.sh): why its plan was not run.
    echo "no plan within $ML_WAIT_S s (the plan deadline)" > "$ml_epoch/no-plan"
    ml_unlock
    ml_field ended "no plan within $ML_WAIT_S s (the plan deadline)"
  else
    ml_unlock
    ml_field ended nothing
  fi
  exit 0
fi
if ! mkdir "$T" || ! echo "${ml_epoch##*/}" > "$T/epoch"; then ml_unlock; exit 3; fi
if ! ml_whole "$ml_epoch/plan.sh"; then
  if [ -n "$ml_late" ]; then ml_end "incomplete: no whole plan within $ML_WAIT_S s (the plan deadline)"; else ml_end incomplete; fi
  exit 6
fi
# shellcheck source=/dev/null # the plan: ml_write_txn_files, ml_write_generation, ml_apply_steps, txn-run.sh
. "$ml_epoch/plan.sh"
ml_txn_run
