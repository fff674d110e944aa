# shellcheck shell=sh
# The transaction on the router, started by one exec. It runs the apply detached from the
# SSH session, so a dropped connection cannot leave a half-applied router:
#   lock → refuse a stale plan → new generation → arm the dead-man timer → apply (detached;
#   any failing step restores the snapshot and verifies it) → report how the apply went.
# The controller then confirms over a NEW connection (txn-control.sh disarm) or asks for an
# immediate restore (txn-control.sh restore). Whoever renames txn/armed first wins.
# Parameters: ML_STATE, ML_TXN_ID, ML_HOLDER, ML_LEASE_S, ML_CONFIRM_S.
# Defined before this file: lib.sh, ml_gather, ml_filter, ml_write_txn_files (prior.gather,
# restore.sh, apply.sh into $S/txn) and ml_write_generation DIR (the generation's files).
S=$ML_STATE
T=$S/txn
umask 077
mkdir -p "$S/generations" "$T" || exit 3

ml_now=$(date +%s)
if ! mkdir "$S/lock" 2>/dev/null; then
  ml_exp=$(cat "$S/lock/expires" 2>/dev/null)
  ml_who=$(cat "$S/lock/holder" 2>/dev/null)
  ml_tp=$(cat "$T/timer.pid" 2>/dev/null)
  # Stale: its lease ran out and no dead-man timer of its transaction is alive.
  if [ -n "$ml_exp" ] && [ "$ml_now" -gt "$ml_exp" ] && ! { [ -n "$ml_tp" ] && [ -e "$T/armed" ] && kill -0 "$ml_tp" 2>/dev/null; }; then
    ml_field stale-lock "$ml_who"
    rm -rf "$S/lock"
    mkdir "$S/lock" 2>/dev/null || { ml_field locked "another deploy took the lock just now"; exit 4; }
  else
    ml_field locked "$ml_who"
    exit 4
  fi
fi
printf '%s\n' "$ML_HOLDER" > "$S/lock/holder"
echo $((ml_now + ML_LEASE_S)) > "$S/lock/expires"

ml_write_txn_files || { rm -rf "$S/lock"; exit 3; }
# Terraform's rule: a plan made against facts that are no longer true is refused.
if [ "$(ml_gather | ml_filter)" != "$(ml_filter < "$T/prior.gather")" ]; then
  rm -rf "$S/lock"
  ml_field stale-plan yes
  exit 5
fi

ml_gen=0
for ml_g in "$S"/generations/*; do
  ml_g=${ml_g##*/}
  case $ml_g in ''|*[!0-9]*) continue ;; esac
  [ "$ml_g" -gt "$ml_gen" ] && ml_gen=$ml_g
done
ml_gen=$((ml_gen + 1))
mkdir -p "$S/generations/$ml_gen" || exit 3
rm -f "$T/armed" "$T/fired" "$T/disarmed" "$T/result" "$T/apply.done" "$T/apply.out" "$T/sleep.pid" "$T/timer.pid"
echo "$ml_gen" > "$T/generation"
printf '%s\n' "$ML_TXN_ID" > "$T/id"
ml_write_generation "$S/generations/$ml_gen" || exit 3
ml_field generation "$ml_gen"

if command -v setsid >/dev/null 2>&1; then ml_detach=setsid; else ml_detach=; fi
touch "$T/armed"
# The dead-man timer: unless the controller renames txn/armed first, restore the prior state.
# shellcheck disable=SC2016
$ml_detach sh -c 'sleep "$1" & echo $! > "$2/txn/sleep.pid"; wait $!; if mv "$2/txn/armed" "$2/txn/fired" 2>/dev/null; then sh "$2/txn/restore.sh" "no confirmation within $1 s" > "$2/txn/deadman.out" 2>&1; rm -rf "$2/lock"; fi' ml-deadman "$ML_CONFIRM_S" "$S" </dev/null >/dev/null 2>&1 &
echo $! > "$T/timer.pid"
$ml_detach sh "$T/apply.sh" </dev/null > "$T/apply.out" 2>&1 &
ml_not_applied() { [ ! -e "$T/apply.done" ]; }
ml_wait_while 36000 ml_not_applied
cat "$T/apply.out"
