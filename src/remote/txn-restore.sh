# shellcheck shell=sh
# $S/txn/restore.sh WHY: makes everything multilink owns exactly the prior state again,
# verifies it against the gather taken before the change, records the verdict in txn/result
# (first line `restored WHY` or `restore-failed WHY`, then the details) and prints it.
# Parameters: ML_STATE. Defined before this file: lib.sh, monitor control, ml_gather,
# ml_filter, ml_reset.
S=$ML_STATE
T=$S/txn
ml_why=${1:-restore}
( ml_reset && ml_tried_all ) > "$T/reset.out" 2>&1
ml_rc=$?
ml_gen=$(cat "$T/generation" 2>/dev/null)
[ -n "$ml_gen" ] && rm -rf "$S/generations/$ml_gen"
if [ "$ml_rc" -eq 0 ] && [ "$(ml_gather | ml_filter)" = "$(ml_filter < "$T/prior.gather")" ]; then
  printf 'restored %s\n' "$ml_why" | ml_write "$T/result"
else
  { printf 'restore-failed %s\n' "$ml_why"; echo 'the owned state matches neither the prior nor the compiled state'; cat "$T/reset.out"; } | ml_write "$T/result"
fi
ml_print_result "$T/result"
