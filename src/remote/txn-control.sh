# shellcheck shell=sh
# What the controller asks of a transaction it started (each over a new connection):
#   disarm   confirm it: stop the timer, mark the generation confirmed and current, prune
#            old generations, install the boot hook, unlock;
#   restore  restore the prior state now (the live state was wrong after apply);
#   status   what became of it (after contact was lost).
# Only its own transaction (ML_TXN_ID) is touched. A transaction the timer already settled
# is reported with the restore's verdict.
# Parameters: ML_STATE, ML_TXN_ID, ML_ACTION, ML_WHY, ML_KEEP. Defined before this file:
# lib.sh and ml_install_boot (may do nothing).
S=$ML_STATE
T=$S/txn

ml_applying() { [ -e "$T/armed" ] && [ ! -e "$T/apply.done" ]; }
ml_no_result() { [ ! -s "$T/result" ]; }
ml_stop_timer() {
  ml_kill_pidfiles "$T/sleep.pid" "$T/timer.pid"
}
# The verdict of a restore the timer may still be running: wait (bounded) for it.
ml_settled() {
  ml_wait_while 600 ml_no_result
  if [ -s "$T/result" ]; then
    ml_print_result "$T/result"
  else
    ml_field txn unsettled
  fi
}

ml_wait_while 3000 ml_applying
if [ "$(cat "$T/id" 2>/dev/null)" != "$ML_TXN_ID" ]; then
  ml_field txn not-mine
  exit 0
fi
case "$ML_ACTION" in
  disarm)
    ml_gen=$(cat "$T/generation" 2>/dev/null)
    case "$ml_gen" in ''|*[!0-9]*) ml_field txn no-generation; exit 0 ;; esac
    if mv "$T/armed" "$T/disarmed" 2>/dev/null; then
      ml_stop_timer
      touch "$S/generations/$ml_gen/confirmed"
      echo "$ml_gen" | ml_write "$S/current"
      ml_all=$(for ml_g in "$S"/generations/*; do ml_g=${ml_g##*/}; case $ml_g in ''|*[!0-9]*) ;; *) echo "$ml_g" ;; esac; done | sort -n)
      ml_drop=$(( $(printf '%s\n' "$ml_all" | grep -c .) - ML_KEEP ))
      if [ "$ml_drop" -gt 0 ]; then
        printf '%s\n' "$ml_all" | head -n "$ml_drop" | while read -r ml_g; do rm -rf "${S:?}/generations/$ml_g"; done
      fi
      ml_install_boot
      rm -rf "$S/lock"
      ml_field txn confirmed
      ml_field generation "$ml_gen"
    else
      ml_settled
    fi
    ;;
  restore)
    if mv "$T/armed" "$T/fired" 2>/dev/null; then
      ml_stop_timer
      sh "$T/restore.sh" "$ML_WHY"
      rm -rf "$S/lock"
    else
      ml_settled
    fi
    ;;
  status)
    if [ -e "$T/armed" ]; then ml_field txn armed
    elif [ -e "$T/disarmed" ]; then ml_field txn confirmed; ml_field generation "$(cat "$T/generation" 2>/dev/null)"
    else ml_settled
    fi
    ;;
esac
