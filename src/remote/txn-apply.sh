# shellcheck shell=sh
# $S/txn/apply.sh: runs the plan's steps detached from the SSH session. If a step failed and
# the dead-man timer has not fired yet, restore the prior state at once.
# Parameters: ML_STATE. Defined before this file: lib.sh, monitor control, ml_apply_steps.
S=$ML_STATE
T=$S/txn
# Read by ml_step (lib.sh): once the timer fired, no further step runs.
# shellcheck disable=SC2034
ML_FIRED=$T/fired
trap '' HUP PIPE
umask 077
( ml_apply_steps ) > "$T/steps.out" 2>&1
cat "$T/steps.out"
if ! grep -q '^@@ML-R applied' "$T/steps.out"; then
  if mv "$T/armed" "$T/fired" 2>/dev/null; then
    ml_kill_pidfiles "$T/sleep.pid" "$T/timer.pid"
    sh "$T/restore.sh" "a step failed"
    rm -rf "$S/lock"
  fi
fi
touch "$T/apply.done"
