# shellcheck shell=sh
# The link monitor's probe round, bounded: whatever a probe does (a ping that waits forever for
# a lost reply, as iputils before s20190324 does with -W under a second; one that hangs), the
# round's verdict comes at most ML_WAIT after its probes started, and a probe still running
# then is killed and counts as failed. It costs one process and its sleep per round, not one
# per probe.
# Parameters (set before monitor.sh): ML_WAIT; ml_bound_s (monitor.sh: ML_WAIT, or whole
# seconds where sleep takes no fraction; default ML_WAIT); and R, the monitor's run folder.
# A probe is named `FILE:PID`: its ping's pid and the file in $R it writes its summary into
# (probe.K.T for IPv4 target T through link K, probe6.K.T for IPv6).
# shellcheck disable=SC2154

# ml_cut PROBE...: kills each probe (`FILE:PID`, or a bare PID) that is still running as a child
# of this monitor: once a probe has ended and been reaped, its pid may name another process.
# No command is forked.
ml_cut() {
  for ml_c in "$@"; do
    ml_c=${ml_c#*:}
    { read -r ml_cs < "/proc/$ml_c/stat"; } 2>/dev/null || continue
    set -f
    # shellcheck disable=SC2086 # split on purpose: the fields of /proc/PID/stat
    set -- ${ml_cs##*) }
    set +f
    [ "$2" = "$$" ] && kill -9 "$ml_c" 2>/dev/null
  done
  return 0
}

# ml_bound PROBE...: run in the background; ML_WAIT later, cuts the probes still running.
# Ended before (TERM: every probe was back), it ends its sleep too.
ml_bound() {
  trap 'kill "$ml_bs" 2>/dev/null; exit 0' TERM
  sleep "${ml_bound_s:-$ML_WAIT}" &
  ml_bs=$!
  wait "$ml_bs" && ml_cut "$@"
}

# ml_round_wait PROBE...: waits for the round's probes, at most ML_WAIT; a probe's file stays
# only for an answered probe (holding ping's summary, with the round-trip time).
ml_round_wait() {
  [ "$#" -gt 0 ] || return 0
  ml_bound "$@" &
  ml_bounder=$!
  for ml_rw in "$@"; do
    # 2>/dev/null: no shell's note of a probe the bound killed.
    wait "${ml_rw#*:}" 2>/dev/null || rm -f "$R/${ml_rw%%:*}"
  done
  kill "$ml_bounder" 2>/dev/null
  wait "$ml_bounder" 2>/dev/null
  return 0
}
