# shellcheck shell=sh
# The boot hook, $S/boot.sh: restores the last confirmed generation.
# It is the one current names. When current is empty or names no whole generation (a power cut
# soon after a change can leave files empty: what was written but not yet on the disk), the
# newest confirmed generation that is whole is restored instead, current is made to name it,
# and the log says so. Its state.sh also writes the ownership record (owned.json, owned.list)
# again, which the same power cut may have left empty.
# It holds the deploy lock while it chooses and restores: a deploy that came first (before
# this hook ran) is waited for, at most ML_BOOT_WAIT_S seconds, and then what it confirmed is
# what is restored; a deploy that comes meanwhile waits, and the monitor's chain changes too.
# Parameters: ML_STATE, ML_BOOT_WAIT_S. Defined before this file: lib.sh, txn-lock.sh (with
# the boot's own ML_TXN_ID, ML_HOLDER, ML_LEASE_S and ML_WAIT_S).
S=$ML_STATE

# ml_whole_gen DIR: the generation in DIR has its state.sh to the last line (every state.sh
# ends with that line) and its desired state.
ml_whole_gen() {
  [ -s "$1/desired.json" ] && [ "$(tail -n 1 "$1/state.sh" 2>/dev/null)" = 'ml_reset && ml_tried_all' ]
}
ml_say() {
  echo "multilink: $1" >&2
  logger -t multilink "$1" 2>/dev/null
  return 0
}

ml_boot() {
  # Never deployed here: nothing to restore, nothing to lock.
  [ -e "$S/current" ] || [ -d "$S/generations" ] || return 0
  ml_bw=0
  while :; do
    ml_lock >/dev/null
    ml_rc=$?
    # Taken; or the state folder cannot hold a lock (read-only?): restore without it.
    [ "$ml_rc" = 1 ] || break
    ml_bw=$((ml_bw + 1))
    if [ "$ml_bw" -ge "$ML_BOOT_WAIT_S" ]; then ml_say "a deploy still holds the lock after $ML_BOOT_WAIT_S s: restoring anyway"; break; fi
    sleep 1
  done
  # shellcheck disable=SC2034 # read by ml_unlock (txn-lock.sh)
  [ "$ml_rc" = 0 ] || ml_epoch=

  ml_gen=
  { read -r ml_gen < "$S/current"; } 2>/dev/null
  case $ml_gen in *[!0-9]*) ml_gen= ;; esac
  if [ -z "$ml_gen" ] || ! ml_whole_gen "$S/generations/$ml_gen"; then
    ml_pick=
    for ml_g in "$S"/generations/*; do
      ml_n=${ml_g##*/}
      case $ml_n in ''|*[!0-9]*) continue ;; esac
      if [ ! -e "$ml_g/confirmed" ] || ! ml_whole_gen "$ml_g"; then continue; fi
      if [ -z "$ml_pick" ] || [ "$ml_n" -gt "$ml_pick" ]; then ml_pick=$ml_n; fi
    done
    # Never confirmed here: nothing to restore.
    [ -n "$ml_pick" ] || { [ -z "$ml_gen" ] || ml_say "generation $ml_gen (current) is not whole, and no other confirmed generation is: nothing restored"; ml_unlock; return 0; }
    if [ -n "$ml_gen" ]; then
      ml_say "generation $ml_gen (current) is not whole (a power cut?): restoring generation $ml_pick, the newest confirmed one that is"
    elif [ -e "$S/current" ]; then
      ml_say "$S/current names no generation (a power cut?): restoring generation $ml_pick, the newest confirmed one that is whole"
    else
      ml_say "$S/current is missing: restoring generation $ml_pick, the newest confirmed one that is whole"
    fi
    { echo "$ml_pick" > "$S/current.tmp" && ml_sync "$S/current.tmp" && mv -f "$S/current.tmp" "$S/current"; } 2>/dev/null
    ml_gen=$ml_pick
  fi
  sh "$S/generations/$ml_gen/state.sh"
  ml_rc=$?
  ml_unlock
  return "$ml_rc"
}
ml_boot
