# shellcheck shell=sh
# The transaction itself, sourced by txn-begin.sh from the plan that arrived whole:
#   its files (prior gather, restore.sh, confirm.sh) → a new generation → the dead-man timer
#   started and the transaction armed → the plan's steps → how it went. A failing step restores the prior
#   state at once (and verifies it). Whoever renames $T/armed first decides the end: to
#   `disarmed` the confirmation (txn-control.sh), to `fired` a restore (the timer, a failed
#   step, the controller, or a later deploy finding the transaction dead).
# Parameters: ML_CONFIRM_S, and txn-begin.sh's. Defined before this file: lib.sh, txn-lock.sh,
# monitor control, txn-begin.sh (S, T, ml_epoch, ml_end), ml_write_txn_files,
# ml_write_generation, ml_apply_steps.

# ml_applying: the apply of this transaction has not finished and its process still runs.
# shellcheck disable=SC2154 # S, T, ml_epoch: set by txn-begin.sh
ml_applying() { [ ! -e "$T/apply.done" ] && { read -r ml_ap ml_as < "$ml_epoch/pid.main"; } 2>/dev/null && ml_alive "$ml_ap" "$ml_as"; }

# The dead-man timer, run in a process of its own (a subshell: it outlives this execution):
# unless the confirmation or a restore renames armed first, restore the prior state after
# ML_CONFIRM_S seconds. The confirmation wakes it by ending its sleep (recorded with its start
# time in sleep.pid, checked before the signal).
ml_keeper() {
  trap '' HUP PIPE
  sleep "$ML_CONFIRM_S" &
  ml_record_pid "$T/sleep.pid" $!
  wait $!
  if mv "$T/armed" "$T/fired" 2>/dev/null; then
    # An apply still running stops at its next step (ml_step reads fired): let it get there.
    ml_wait_while 600 ml_applying
    sh "$T/restore.sh" "no confirmation within $ML_CONFIRM_S s" > "$T/keeper.out" 2>&1
    : > "$ml_epoch/released"
  fi
}

# shellcheck disable=SC2154 # S, T, ml_epoch: set by txn-begin.sh; ml_epoch_n by lib.sh
ml_txn_run() {
  # A deploy may take over a lock whose holder waited too long for its plan: then stop here.
  ml_newest_epoch
  if [ "$S/locks/$ml_epoch_n" != "$ml_epoch" ] || [ -e "$ml_epoch/released" ]; then
    ml_field ended lost-lock
    echo lost-lock > "$T/ended"
    exit 4
  fi
  : > "$T/received"
  # Past the plan deadline nobody waits for this deploy (ml_overdue): the monitor may have
  # changed the chain, another deploy may hold the lock. Checked once `received` is there, on
  # the same clock: whoever found it overdue did so at a time this check also finds late.
  ml_owner "$ml_epoch/owner"
  ml_clock
  if [ "$ml_clock_s" -gt "$ml_o_planby" ]; then
    ml_end "late: its plan deadline ($ML_WAIT_S s after the lock) had passed"
    exit 4
  fi
  ml_write_txn_files || { ml_end 'writing its files failed'; exit 3; }
  ml_highest "$S/generations"
  ml_gen=$((ml_hi + 1))
  if ! mkdir -p "$S/generations/$ml_gen" || ! echo "$ml_gen" > "$T/gen"; then ml_end 'no generation folder'; exit 3; fi
  ml_write_generation "$S/generations/$ml_gen" || { rm -rf "$S/generations/$ml_gen"; ml_end 'writing the generation failed'; exit 3; }
  ml_field generation "$ml_gen"
  # On the disk before the transaction is armed: its restore (a later deploy settles it with
  # restore.sh) and the generation a confirmation makes current (the boot hook runs it).
  ml_sync "$T"/* "$S/generations/$ml_gen"/* "$S/generations/$ml_gen" "$S/generations" "$T"

  # The dead-man timer; its pid joins the lock's holders before the transaction is armed.
  ( ml_keeper ) </dev/null >/dev/null 2>&1 &
  if ! ml_record_pid "$ml_epoch/pid.keeper" $!; then
    kill $! 2>/dev/null
    rm -rf "$S/generations/$ml_gen"
    ml_end 'the dead-man timer did not start'
    exit 3
  fi
  : > "$T/armed"

  # Read by ml_step (lib.sh): once the timer fired, no further step runs.
  # shellcheck disable=SC2034
  ML_FIRED=$T/fired
  ( ml_apply_steps ) > "$T/apply.out" 2>&1
  ml_rc=$?
  : > "$T/apply.done"
  if [ "$ml_rc" -eq 0 ]; then
    : > "$T/applied"
    cat "$T/apply.out"
    return 0
  fi
  cat "$T/apply.out"
  if mv "$T/armed" "$T/fired" 2>/dev/null; then
    sh "$T/restore.sh" 'a step failed'
    ml_unlock
    ml_kill_recorded "$T/sleep.pid" sleep
  fi
  return 0
}
