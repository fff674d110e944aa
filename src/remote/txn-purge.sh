# shellcheck shell=sh
# $S/txn/ID/confirm.sh of a `remove`: what its confirmation does once it has renamed armed to
# disarmed. The router kept the removal (nothing multilink owns is left but files): the
# dead-man timer is woken, then the boot hook goes (ml_purge_files), the run folder, and the
# state folder: renamed aside in one step (from then on the router has nothing of
# multilink's, this transaction's folder and the lock included) and deleted. A state folder
# that holds someone else's files too keeps them, and one reached through a symbolic link
# keeps the link: only multilink's entries go, this transaction's folder last. Safe to run
# again: a later transaction (txn-lock.sh ml_settle) finishes a purge whose process died
# midway, and a remove deletes what an interrupted rename left beside the state folder
# (STATE.purge-ID).
# Sourced by txn-control.sh (no process of its own), run as a script by ml_settle.
# Parameters: ML_STATE, ML_TXN_DIR, ML_RUN, ML_PURGE_NAMES (multilink's entries of a state
# folder, from src/shell/layout.ts). Defined before this file: lib.sh, ml_purge_files.
S=$ML_STATE
T=$ML_TXN_DIR
# What multilink writes in its state folder (src/shell/layout.ts), with ml_write's .tmp files.

# ml_purge_ours NAME: NAME is one of multilink's entries.
ml_purge_ours() {
  case " $ML_PURGE_NAMES " in *" ${1%.tmp} "*) return 0 ;; esac
  return 1
}

# ml_purge_alone: the state folder holds nothing but multilink's entries.
ml_purge_alone() {
  for ml_pa in "$S"/* "$S"/.[!.]* "$S"/..?*; do
    [ -e "$ml_pa" ] || [ -L "$ml_pa" ] || continue
    ml_purge_ours "${ml_pa##*/}" || return 1
  done
  return 0
}

ml_purge() {
  ml_kill_recorded "$T/sleep.pid" sleep
  ml_purge_files
  rm -rf "$ML_RUN"
  [ -d "$S" ] || return 0
  ml_p_aside=$S.purge-${T##*/}
  # A state folder reached through a symbolic link keeps the link (the operator's) and its target.
  if [ ! -L "$S" ] && ml_purge_alone && mv "$S" "$ml_p_aside" 2>/dev/null; then
    rm -rf "$ml_p_aside"
    return 0
  fi
  for ml_p_n in $ML_PURGE_NAMES; do
    rm -rf "${S:?}/$ml_p_n" "${S:?}/$ml_p_n.tmp"
  done
  rmdir "$S" 2>/dev/null
  return 0
}
ml_purge
