# shellcheck shell=sh
# The second execution of a change, over a NEW connection, as one conversation: where does
# transaction ML_TXN_ID stand? Armed with its plan applied: gather the live state, print the
# prompt and wait for the controller's decision (`ml_decision=disarm` or `restore`, sourced
# once whole): disarm renames armed to disarmed and confirms (confirm.sh); restore renames
# it to fired and restores the prior state now. Otherwise print how it ended, waiting (for at
# most a minute) while one of its processes still works on it; a transaction whose processes
# are all dead is brought to its end here (txn-lock.sh ml_settle), under the lock.
# Also what the controller runs after it lost contact (then no decision may come). A remove's
# confirmation (txn-purge.sh) takes the state folder, this transaction's folder with it: what
# is left to say then is `purged`.
# Parameters: ML_STATE, ML_TXN_ID, ML_HOLDER, ML_LEASE_S, ML_WAIT_S.
# Defined before this file: lib.sh, txn-lock.sh, ml_gather.
# shellcheck disable=SC2154 # ml_o_id: set by ml_owner, ml_epoch_n by ml_newest_epoch
S=$ML_STATE
T=$S/txn/$ML_TXN_ID
trap '' HUP PIPE
umask 077

# The epoch the transaction took (its processes' pid files are there).
E=
{ read -r ml_c_e < "$T/epoch"; } 2>/dev/null && E=$S/locks/$ml_c_e
ml_alive_txn() { [ -n "$E" ] && ml_epoch_held "$E"; }
ml_state() {
  if [ -e "$T/result" ]; then ml_print_result "$T/result"
  elif [ -e "$T/confirmed" ]; then ml_field txn confirmed; ml_field generation "$(cat "$T/gen" 2>/dev/null)"
  elif [ -e "$T/ended" ]; then ml_field txn ended; ml_field why "$(cat "$T/ended" 2>/dev/null)"
  # Only a remove's confirmation takes the transactions' folder (txn-purge.sh).
  elif [ ! -d "$S/txn" ]; then ml_field txn purged
  else return 1
  fi
}
ml_ready() { [ -e "$T/armed" ] && [ -e "$T/applied" ]; }
ml_busy() { ! ml_ended "$T" && ! ml_ready && ml_alive_txn; }

# Its plan was received (so the lock made the transactions' folder) and a remove's
# confirmation has taken the state folder since.
if [ ! -d "$S/txn" ]; then ml_state; exit 0; fi
if [ ! -d "$T" ]; then
  # No plan has been run for it: the first execution, under its lock epoch, may still be
  # receiving it (then wait); else it never will.
  # The newest epoch that names it (a held-back plan starts again under a new epoch).
  ml_c_best=0
  for ml_c_l in "$S"/locks/*; do
    ml_c_n=${ml_c_l##*/}
    case $ml_c_n in ''|*[!0-9]*) continue ;; esac
    if [ "$ml_c_n" -gt "$ml_c_best" ] && ml_owner "$ml_c_l/owner" && [ "$ml_o_id" = "$ML_TXN_ID" ]; then E=$ml_c_l; ml_c_best=$ml_c_n; fi
  done
  ml_receiving() { [ ! -d "$T" ] && [ -n "$E" ] && ml_epoch_held "$E"; }
  ml_wait_while 600 ml_receiving
  if [ ! -d "$T" ]; then
    if [ -n "$E" ]; then ml_field txn ended; ml_field why "$(cat "$E/no-plan" 2>/dev/null || echo 'its plan was not run')"; else ml_field txn unknown; fi
    exit 0
  fi
fi
ml_wait_while 600 ml_busy
ml_state && exit 0
if ! ml_ready; then
  # Its processes died before it ended: end it under the lock (a deploy holding the lock now
  # ends it when it takes the lock; it is then ours to report).
  if ml_lock; then
    ml_settle "$T" 'its processes died' > /dev/null
    ml_ended "$T" || [ ! -d "$T" ] || echo 'unsettled its processes died' > "$T/ended"
    [ ! -d "$S/txn" ] || ml_unlock
  fi
  ml_state || ml_field txn pending-other
  exit 0
fi

# While the controller decides, this process holds the transaction too.
[ -n "$E" ] && ml_record_pid "$E/pid.control" $$
ml_gather
echo "@@ML-ready $ML_TXN_ID"
ml_decision=
ml_receive "$ML_WAIT_S" "$T/decision.sh"
if ml_whole "$T/decision.sh"; then
  # shellcheck source=/dev/null # ml_decision=disarm or ml_decision=restore
  . "$T/decision.sh"
fi
case $ml_decision in
  disarm)
    if mv "$T/armed" "$T/disarmed" 2>/dev/null; then
      # shellcheck source=/dev/null # the transaction's confirm.sh (txn-confirm.sh)
      . "$T/confirm.sh" >/dev/null 2>&1
    fi
    ;;
  restore)
    if mv "$T/armed" "$T/fired" 2>/dev/null; then
      sh "$T/restore.sh" 'live state differed after apply' >/dev/null
      [ -n "$E" ] && : > "$E/released"
      ml_kill_recorded "$T/sleep.pid" sleep
    fi
    ;;
esac
# Lost the race to the timer (or a later deploy): report what it did.
ml_wait_while 600 ml_busy
ml_state || { [ -e "$T/armed" ] && ml_field txn armed; } || ml_field txn pending-other
