# shellcheck shell=sh
# The first execution of a change, as one conversation (Session.converse): take the deploy
# lock, bring to an end whatever a dead transaction left (ml_settle_all), gather the live
# state, print the prompt, and wait for the controller's plan on stdin. No plan (nothing to
# do, or the controller is gone): release the lock. A plan that arrived whole: source it and
# run the transaction it defines (ml_txn_run, txn-run.sh).
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
ml_gather
echo "@@ML-ready $ML_TXN_ID"

# ml_end WHY: this transaction ends before it was armed.
ml_end() {
  ml_field ended "$1"
  echo "$1" > "$T/ended"
  ml_unlock
}
# The plan is received into the lock's epoch: nothing to do leaves nothing to clean up.
ml_receive "$ML_WAIT_S" "$ml_epoch/plan.sh"
if [ ! -s "$ml_epoch/plan.sh" ]; then
  ml_unlock
  ml_field ended nothing
  exit 0
fi
if ! mkdir "$T" || ! echo "${ml_epoch##*/}" > "$T/epoch"; then ml_unlock; exit 3; fi
if ! ml_whole "$ml_epoch/plan.sh"; then ml_end incomplete; exit 6; fi
# shellcheck source=/dev/null # the plan: ml_write_txn_files, ml_write_generation, ml_apply_steps, txn-run.sh
. "$ml_epoch/plan.sh"
ml_txn_run
