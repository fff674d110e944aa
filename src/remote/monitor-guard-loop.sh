# shellcheck shell=sh
# The guard-only monitor: for a play without `health`, `gateway: auto` or method adaptive it
# probes nothing and keeps no link state; every ML_INTERVAL it only looks whether another tool
# flushed multilink's netfilter objects and puts the generation's back (monitor-guard.sh). It
# is started, stopped, restarted at boot and removed exactly as the link monitor is (its
# script is $M/monitor.sh, its pid $M/pid).
# Parameters: ML_STATE, ML_RUN, ML_INTERVAL and monitor-guard.sh's. Defined before this file:
# lib.sh, monitor-record.sh, monitor-guard.sh.
# shellcheck disable=SC2154
M=$ML_STATE/monitor
R=$ML_RUN

( umask 077; mkdir -p "$R" ) || exit 1
echo $$ > "$M/pid"
trap 'rm -f "$M/pid"; exit 0' TERM INT
ml_log "guard started (no link monitor: only multilink's netfilter objects are watched, every ${ML_INTERVAL} s)"
while :; do
  # Its script gone (`multilink remove`): nothing is left for it to keep.
  [ -f "$M/monitor.sh" ] || exit 0
  ml_guard
  sleep "$ML_INTERVAL" &
  wait $!
done
