# shellcheck shell=sh
# The deploy lock, and settling what dead transactions left behind.
# A lock is an epoch folder $S/locks/N made whole at once: prepared beside it with its owner
# record and the holder's pid file, then renamed into place (a rename onto an existing epoch
# moves ours inside it instead, which is how a second taker finds it lost). The newest epoch is
# held while it is not released and a process it records runs (lib.sh ml_epoch_held): a dead
# holder frees it at once. A holder that waited longer than its owner record's `planby` for
# its plan (a controller gone silent) frees it too (lib.sh ml_overdue): that is the plan
# deadline, and a plan that comes later is refused (txn-begin.sh, txn-run.sh).
# Every transaction has a folder $S/txn/ID; it has ended once it holds `result` (restored or
# not), `confirmed` or `ended` (never armed). Whoever takes the lock first brings every
# transaction that has not ended to an end (ml_settle_all): their processes are dead by then.
# Parameters: ML_STATE, ML_TXN_ID, ML_HOLDER, ML_LEASE_S, ML_WAIT_S. Defined before this file: lib.sh.
# shellcheck disable=SC2154 # ml_epoch_n: set by ml_newest_epoch (lib.sh)

# ml_ended T: the transaction in folder T has reached its end.
ml_ended() {
  [ -e "$1/result" ] || [ -e "$1/confirmed" ] || [ -e "$1/ended" ]
}

# ml_settle T WHY: brings transaction T, whose processes are dead, to its end, and reports it
# as the section `recovered ID`: its first line what became of it, then the restore's details.
ml_settle() {
  ml_s_t=$1
  if [ -e "$ml_s_t/disarmed" ]; then
    # Confirmed by its controller, which died while finishing: finish it.
    ml_s_gen=$(cat "$ml_s_t/gen" 2>/dev/null)
    sh "$ml_s_t/confirm.sh" >/dev/null 2>&1
    # A remove's confirmation takes the state folder with it (txn-purge.sh).
    if [ -d "$ml_s_t" ]; then ml_s_what="confirmed generation $ml_s_gen"; else ml_s_what='confirmed a remove: the state folder is gone'; fi
  elif mv "$ml_s_t/armed" "$ml_s_t/fired" 2>/dev/null || [ -e "$ml_s_t/fired" ]; then
    sh "$ml_s_t/restore.sh" "$2" >/dev/null 2>&1
    ml_s_what=
  else
    # Never armed: nothing of it reached what multilink owns, but its generation folder.
    ml_s_gen=$(cat "$ml_s_t/gen" 2>/dev/null)
    case $ml_s_gen in ''|*[!0-9]*) ;; *) rm -rf "${ML_STATE:?}/generations/$ml_s_gen" ;; esac
    printf '%s\n' "$2" > "$ml_s_t/ended"
    ml_s_what="abandoned before it was armed"
  fi
  echo "@@ML recovered ${ml_s_t##*/}"
  if [ -n "$ml_s_what" ]; then echo "$ml_s_what"; else ml_body < "$ml_s_t/result"; fi
  echo '@@ML-rc 0'
}

# ml_settle_all WHY: every transaction that has not ended, newest first (by epoch).
ml_settle_all() {
  while :; do
    ml_sa_pick=; ml_sa_best=-1
    for ml_sa_t in "$ML_STATE"/txn/*; do
      [ -d "$ml_sa_t" ] || continue
      [ "${ml_sa_t##*/}" != "$ML_TXN_ID" ] || continue
      ml_ended "$ml_sa_t" && continue
      { read -r ml_sa_e < "$ml_sa_t/epoch"; } 2>/dev/null || ml_sa_e=0
      case $ml_sa_e in ''|*[!0-9]*) ml_sa_e=0 ;; esac
      [ "$ml_sa_e" -gt "$ml_sa_best" ] && { ml_sa_best=$ml_sa_e; ml_sa_pick=$ml_sa_t; }
    done
    [ -n "$ml_sa_pick" ] || return 0
    ml_settle "$ml_sa_pick" "$1"
    # A transaction that cannot be brought to an end is not tried forever.
    ml_ended "$ml_sa_pick" || [ ! -d "$ml_sa_pick" ] || printf 'unsettled %s\n' "$1" > "$ml_sa_pick/ended"
  done
}

# An earlier multilink's lock ($S/lock with holder and expires): honoured until it expires.
ml_legacy_lock() {
  [ -d "$ML_STATE/lock" ] || return 0
  ml_l_exp=$(cat "$ML_STATE/lock/expires" 2>/dev/null)
  case $ml_l_exp in
    ''|*[!0-9]*) ;;
    *) if [ "$(date +%s)" -le "$ml_l_exp" ]; then
         ml_field locked "$(cat "$ML_STATE/lock/holder" 2>/dev/null) (an earlier multilink version)"
         return 1
       fi ;;
  esac
  rm -rf "$ML_STATE/lock"
}

# ml_lock: takes the next epoch for ML_TXN_ID unless the newest one is held (then prints the
# field `locked HOLDER` and fails). Sets ml_epoch to the epoch's folder.
ml_lock() {
  [ -d "$ML_STATE/locks" ] && [ -d "$ML_STATE/txn" ] || mkdir -p "$ML_STATE/locks" "$ML_STATE/txn" || return 2
  ml_legacy_lock || return 1
  ml_k_try=0
  while [ "$ml_k_try" -lt 3 ]; do
    ml_k_try=$((ml_k_try + 1))
    ml_newest_epoch
    ml_k_e=$ML_STATE/locks/$ml_epoch_n
    if [ "$ml_epoch_n" -gt 0 ] && ml_epoch_held "$ml_k_e" && ! ml_overdue "$ml_k_e"; then
      ml_owner "$ml_k_e/owner"
      ml_field locked "${ml_o_holder:-holder unknown}"
      return 1
    fi
    ml_k_next=$ML_STATE/locks/$((ml_epoch_n + 1))
    ml_k_tmp=$ML_STATE/locks/.new.$$
    [ ! -e "$ml_k_tmp" ] || rm -rf "$ml_k_tmp"
    mkdir "$ml_k_tmp" || return 2
    { read -r ml_k_boot < /proc/sys/kernel/random/boot_id; } 2>/dev/null || ml_k_boot=
    ml_clock
    printf 'id %s\nboot %s\nlease %s\nplanby %s\nholder %s\n' "$ML_TXN_ID" "$ml_k_boot" "$((ml_clock_s + ML_LEASE_S))" "$((ml_clock_s + ML_WAIT_S))" "$ML_HOLDER" > "$ml_k_tmp/owner" || return 2
    ml_record_pid "$ml_k_tmp/pid.main" $$ || return 2
    if mv "$ml_k_tmp" "$ml_k_next" 2>/dev/null && ml_owner "$ml_k_next/owner" && [ "$ml_o_id" = "$ML_TXN_ID" ]; then
      ml_epoch=$ml_k_next
      ml_prune_epochs "$((ml_epoch_n + 1))"
      return 0
    fi
    # Another deploy made that epoch first: ours went inside its folder.
    rm -rf "$ml_k_next/.new.$$" "$ml_k_tmp"
  done
  ml_field locked 'another deploy took the lock at the same moment'
  return 1
}

# ml_prune_epochs NEWEST: every fourth epoch, drops those more than four older than NEWEST
# (an epoch keeps the plan it received: small routers keep their state folder in RAM).
ml_prune_epochs() {
  [ $(($1 % 4)) -eq 0 ] || return 0
  ml_pe_old=
  for ml_pe in "$ML_STATE"/locks/*; do
    ml_pe_n=${ml_pe##*/}
    case $ml_pe_n in ''|*[!0-9]*) continue ;; esac
    [ "$ml_pe_n" -lt "$(($1 - 4))" ] && ml_pe_old="$ml_pe_old $ml_pe"
  done
  # shellcheck disable=SC2086 # paths without spaces: multilink checks the state folder's name
  [ -z "$ml_pe_old" ] || rm -rf $ml_pe_old
}

# ml_unlock: releases the epoch this script took.
ml_unlock() {
  [ -n "${ml_epoch:-}" ] && : > "$ml_epoch/released"
}

# ml_receive SECONDS FILE: the rest of stdin (the controller's answer) into FILE, waiting at
# most SECONDS (a whole number); fails when the time ran out first (FILE then holds what came,
# never whole: ml_whole). The bound is the router's own, whatever timeout(1) it has: OpenWrt has
# none, BusyBox's exits 143 where coreutils' exits 124. cat reads in the background (from fd 3:
# a background command's stdin is /dev/null otherwise) while a watchdog (ml_watchdog) keeps the
# time; whichever ends first ends the other. Nothing of it outlives the call by more than one
# short sleep, even when it is killed.
ml_receive() {
  { cat > "$2" <&3 3<&- 2>/dev/null & } 3<&0
  ml_rv_cat=$!
  ml_start "$ml_rv_cat" || ml_st=
  ( ml_watchdog "$1" "$ml_rv_cat" "$ml_st" ) </dev/null >/dev/null 2>&1 &
  ml_rv_dog=$!
  ml_start "$ml_rv_dog" || ml_st=
  ml_rv_dog_st=$ml_st
  wait "$ml_rv_cat"
  ml_rv_rc=$?
  if [ -z "$ml_rv_dog_st" ] || ml_alive "$ml_rv_dog" "$ml_rv_dog_st"; then kill "$ml_rv_dog" 2>/dev/null; fi
  wait "$ml_rv_dog"
  # 143: cat ended by the watchdog's TERM.
  [ "$ml_rv_rc" -ne 143 ]
}
# ml_watchdog SECONDS PID START, in a subshell: TERM to process PID once SECONDS have passed
# while it is still the one that started at START (without /proc: while it runs). It polls the
# clock between short sleeps (0.1 s; 1 s where sleep takes no fraction), never one long sleep:
# killed any way, it leaves at most one short sleep behind. Ended by TERM (its caller, once cat
# is done) it KILLs its sleep first (a TERM could reach it before its exec, and be lost), while
# that is still its sleep; a TERM that comes while the sleep is being started is held until
# its pid is known.
ml_watchdog() {
  ml_wd_stop=; ml_wd_step=0.1
  ml_centis
  ml_wd_end=$((ml_cs + $1 * 100))
  while if [ -n "$3" ]; then ml_alive "$2" "$3"; else kill -0 "$2" 2>/dev/null; fi; do
    if [ "$ml_cs" -ge "$ml_wd_end" ]; then kill "$2" 2>/dev/null; exit 0; fi
    trap 'ml_wd_stop=1' TERM
    sleep "$ml_wd_step" &
    ml_wd_sl=$!
    ml_start "$ml_wd_sl" || ml_st=
    ml_wd_st=$ml_st
    trap 'ml_wd_quit' TERM
    [ -z "$ml_wd_stop" ] || ml_wd_quit
    # A sleep that refused the fraction failed at once.
    wait "$ml_wd_sl" || ml_wd_step=1
    ml_centis
  done
}
ml_wd_quit() {
  if [ -n "$ml_wd_st" ] && ml_alive "$ml_wd_sl" "$ml_wd_st"; then kill -9 "$ml_wd_sl" 2>/dev/null; fi
  exit 0
}
ml_whole() {
  [ "$(tail -n 1 "$1" 2>/dev/null)" = "# ml-end $ML_TXN_ID" ]
}
