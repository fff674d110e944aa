# shellcheck shell=sh
# $S/txn/ID/restore.sh WHY: makes everything multilink owns exactly the prior state again,
# verifies it against the gather the plan was made from, records the verdict in result
# (first line `restored WHY` or `restore-failed WHY`, then the details) and prints it.
# Run only by whoever renamed armed to fired. Safe to run again.
# Parameters: ML_STATE, ML_TXN_DIR. Defined before this file: lib.sh, monitor control,
# ml_gather, ml_filter, ml_reset.
S=$ML_STATE
T=$ML_TXN_DIR
ml_why=${1:-restore}
ml_r_gen=
{ read -r ml_r_gen < "$T/gen"; } 2>/dev/null
( ml_reset && ml_tried_all ) > "$T/reset.out" 2>&1
ml_rc=$?
# Its generation was never confirmed: it goes (only a generation number is ever removed).
case $ml_r_gen in ''|*[!0-9]*) ;; *) rm -rf "${S:?}/generations/$ml_r_gen" ;; esac
if [ "$ml_rc" -eq 0 ] && [ "$(ml_gather | ml_filter)" = "$(ml_filter < "$T/prior.gather")" ]; then
  printf 'restored %s\n' "$ml_why" > "$T/result.tmp"
else
  { printf 'restore-failed %s\n' "$ml_why"; echo 'the owned state matches neither the prior nor the compiled state'; cat "$T/reset.out"; } > "$T/result.tmp"
fi
mv -f "$T/result.tmp" "$T/result"
ml_print_result "$T/result"
