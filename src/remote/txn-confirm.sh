# shellcheck shell=sh
# $S/txn/ID/confirm.sh: what a confirmation does once it has renamed armed to disarmed: the
# generation becomes confirmed and current, old generations and transaction folders go, the
# lock is released and the dead-man timer woken. Safe to run again (a later deploy finishes
# a confirmation whose controller died midway). Sourced by txn-control.sh (no process of its
# own), run as a script by txn-lock.sh's ml_settle.
# Parameters: ML_STATE, ML_TXN_DIR, ML_KEEP. Defined before this file: lib.sh.
S=$ML_STATE
T=$ML_TXN_DIR

ml_confirm() {
  ml_c_gen=; ml_c_ep=
  { read -r ml_c_gen < "$T/gen"; read -r ml_c_ep < "$T/epoch"; } 2>/dev/null
  case $ml_c_gen in ''|*[!0-9]*) echo "no generation for $T" >&2; return 1 ;; esac
  : > "$S/generations/$ml_c_gen/confirmed"
  # The generation, its mark and the new pointer on the disk before the rename that commits
  # them, and the rename itself before the deploy is told: a power cut leaves current naming a
  # whole generation, this one or the one before.
  echo "$ml_c_gen" > "$S/current.tmp" && ml_sync "$S/generations/$ml_c_gen" "$S/current.tmp" && mv -f "$S/current.tmp" "$S/current" && ml_sync "$S"
  # Keep the newest ML_KEEP generations.
  while :; do
    ml_c_n=0; ml_c_min=
    for ml_c_g in "$S"/generations/*; do
      ml_c_g=${ml_c_g##*/}
      case $ml_c_g in ''|*[!0-9]*) continue ;; esac
      ml_c_n=$((ml_c_n + 1))
      if [ -z "$ml_c_min" ] || [ "$ml_c_g" -lt "$ml_c_min" ]; then ml_c_min=$ml_c_g; fi
    done
    [ "$ml_c_n" -gt "$ML_KEEP" ] || break
    rm -rf "${S:?}/generations/$ml_c_min"
  done
  : > "$T/confirmed"
  [ -z "$ml_c_ep" ] || : > "$S/locks/$ml_c_ep/released"
  ml_kill_recorded "$T/sleep.pid" sleep
  ml_prune_txns
}
ml_confirm
