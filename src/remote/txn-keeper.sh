# shellcheck shell=sh
# $S/txn/ID/keeper.sh, the dead-man timer: unless the confirmation or a restore renames
# armed first, restore the prior state after ML_CONFIRM_S seconds. The confirmation wakes it
# by ending its sleep (recorded in sleep.pid with its start time, checked before the signal).
# Parameters: ML_STATE, ML_TXN_DIR, ML_EPOCH, ML_CONFIRM_S. Defined before this file: lib.sh.
T=$ML_TXN_DIR
trap '' HUP PIPE
sleep "$ML_CONFIRM_S" &
ml_record_pid "$T/sleep.pid" $!
wait $!
if mv "$T/armed" "$T/fired" 2>/dev/null; then
  # An apply still running stops at its next step (ml_step reads fired): let it get there.
  ml_applying() { [ ! -e "$T/apply.done" ] && { read -r ml_ap ml_as < "$ML_EPOCH/pid.main"; } 2>/dev/null && ml_alive "$ml_ap" "$ml_as"; }
  ml_wait_while 600 ml_applying
  sh "$T/restore.sh" "no confirmation within $ML_CONFIRM_S s" > "$T/keeper.out" 2>&1
  : > "$ML_EPOCH/released"
fi
