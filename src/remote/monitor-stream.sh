# shellcheck shell=sh
# The link monitor's probes at sub-second intervals (ML_STREAM set: `interval` under 1 s). A
# ping per round and target and link would fork four processes a second per probe; instead
# each target has one long-lived ping per link (`ping -i`, which iputils and BusyBox take),
# whose per-reply lines a reader reads as they come, writing the reply's time (the uptime, in
# centiseconds) and round-trip time into $R/reply.KEY. No process is started per probe.
# - A reply missing for an interval counts as a lost probe: at a time NOW the probes a target
#   lost in a row are (NOW - LAST - ML_TOL_CS) / ML_IVL_CS, LAST its last reply (or the start
#   of its first ping): ML_TOL_CS is the lateness a reply may have (jitter), not its
#   round-trip time, which LAST already includes.
# - A ping that ended (its device gone, the route refused) is started again, at most once a
#   second per target; the lost count goes on from the last reply.
# - The monitor wakes at the next moment a count would grow (ml_next, and 30 ms to gather
#   targets due together), at most an interval later: with replies coming, just after each
#   round of them, so a dead link's third lost probe is counted ML_TOL_CS + 30 ms after it was due.
# A probe is named by a KEY: F_K_T, family F (4 or 6), link K, target T. Per key: sp_KEY (its
# reader's pid), ss_KEY (when it started, for the throttle), s0_KEY (when the first started:
# LAST until a reply comes), sl_KEY (the last reply counted); the ping writes its pid into
# $R/ping.KEY. Ping and reader are the monitor's children (a background pipeline).
# Parameters: ML_IVL_CS, ML_TOL_CS; R. Defined before this file: ml_stream_ping F TARGET (execs
# ping through link ml_k, one reply line each), ml_link K.
# shellcheck disable=SC2154,SC2034

# ml_uptime: ml_up = the uptime in centiseconds (lib.sh's ml_centis: /proc/uptime read by the
# shell, no fork, whatever number of decimals it has).
ml_uptime() {
  ml_centis
  ml_up=$ml_cs
}

# ml_stream_read FILE: ping's lines on stdin; each reply rewrites FILE as `UPTIME_CS RTT N`
# (RTT in ms as ping printed it, N the replies so far: a monitor that wakes late still counts
# each). iputils and BusyBox both print `… bytes from …: … time=T ms`.
ml_stream_read() {
  ml_sn=0
  while IFS= read -r ml_sl; do
    case $ml_sl in *" bytes from "*"time="*) ;; *) continue ;; esac
    ml_uptime
    ml_sn=$((ml_sn + 1))
    ml_sr=${ml_sl##*time=}
    echo "$ml_up ${ml_sr%% *} $ml_sn" > "$1"
  done
}

# ml_stream_start KEY F TARGET: a ping to TARGET through link ml_k (family F) and its reader, in
# the background, both children of the monitor; $! is the reader's pid. The pipeline's first
# part reads its own pid (/proc/self is the shell that opens it) before it becomes the ping.
ml_stream_start() {
  { read -r ml_self _ < /proc/self/stat; echo "$ml_self" > "$R/ping.$1"; ml_stream_ping "$2" "$3"; } 2>/dev/null | ml_stream_read "$R/reply.$1" &
  eval "sp_$1=$!; ss_$1=$ml_up; s0_$1=\${s0_$1:-$ml_up}"
  case " $ml_skeys " in *" $1 "*) ;; *) ml_skeys="$ml_skeys $1" ;; esac
}
ml_skeys=

# ml_live PID [PARENT]: PID runs (not a zombie) and, with PARENT, is its child. Reads /proc only.
# Called for every probe at every round: parameter expansion only (state, then parent, after
# the command's closing parenthesis).
ml_live() {
  { read -r ml_ls < "/proc/$1/stat"; } 2>/dev/null || return 1
  ml_ls=${ml_ls##*) }
  case $ml_ls in Z*) return 1 ;; esac
  ml_ls=${ml_ls#* }
  [ -z "${2:-}" ] || [ "${ml_ls%% *}" = "$2" ]
}

# ml_stream_end KEY: the key's ping (if it is still this monitor's child) and reader end, and
# are reaped.
ml_stream_end() {
  eval "ml_sp=\${sp_$1:-}"
  [ -n "$ml_sp" ] || return 0
  ml_pp=; { read -r ml_pp < "$R/ping.$1"; } 2>/dev/null
  case $ml_pp in ''|*[!0-9]*) ml_pp= ;; *) ml_live "$ml_pp" "$$" && kill "$ml_pp" 2>/dev/null ;; esac
  ml_live "$ml_sp" "$$" && kill "$ml_sp" 2>/dev/null
  eval "sp_$1="
  # The shell waits for the whole pipeline: only once the ping is known to have ended (a
  # ping no longer its child, or not known, is left to the process group's end).
  [ -n "$ml_pp" ] && ! ml_live "$ml_pp" "$$" && wait "$ml_sp" 2>/dev/null
  return 0
}

# ml_stream_keep KEY F TARGET: the key's ping runs; one that ended is reaped and started again,
# at most once a second. Needs ml_up (ml_uptime) and ml_link for the key's link.
ml_stream_keep() {
  ml_sp=; ml_ss=0; eval "ml_sp=\${sp_$1:-}; ml_ss=\${ss_$1:-0}"
  if [ -n "$ml_sp" ]; then
    ml_live "$ml_sp" "$$" && return 0
    [ $((ml_up - ml_ss)) -ge 100 ] || return 0
    ml_stream_end "$1"
  fi
  ml_stream_start "$1" "$2" "$3"
}

# ml_stream_stop: every ping and reader ends.
ml_stream_stop() {
  for ml_sv in $ml_skeys; do ml_stream_end "$ml_sv"; done
  return 0
}

# ml_ms_us MS: ml_us = MS (ping's `0.186`, `12.3`, `103`) in whole microseconds.
ml_ms_us() {
  ml_mi=${1%%.*}; ml_mf=
  case $1 in *.*) ml_mf=${1#*.} ;; esac
  ml_mf=${ml_mf}000; ml_mf=${ml_mf%"${ml_mf#???}"}
  ml_mi=${ml_mi#"${ml_mi%%[!0]*}"}; ml_mf=${ml_mf#"${ml_mf%%[!0]*}"}
  case $ml_mi$ml_mf in *[!0-9]*) ml_us=; return 0 ;; esac
  ml_us=$(( ${ml_mi:-0} * 1000 + ${ml_mf:-0} ))
}

# ml_stream_link F K TARGETS QUORUM: link K's family-F probes now (ml_up): ml_lost, the probes
# lost in a row by the QUORUM-th best target (the link answers while QUORUM targets do);
# ml_ans, the targets that lost none; ml_new, the replies the QUORUM-th best target had since
# the last call; ml_rtt_us, the mean round-trip time of the targets' latest replies, when new
# (empty: none). Lowers ml_next to the earliest moment one of these targets' count grows.
ml_stream_link() {
  ml_sl_f=$1; ml_sl_k=$2; ml_sl_q=$4
  ml_ans=0; ml_fresh=0; ml_sum=0; ml_lv=; ml_nv=; ml_st=0
  for ml_target in $3; do
    ml_st=$((ml_st + 1))
    ml_key=${ml_sl_f}_${ml_sl_k}_$ml_st
    ml_last=; ml_rtt=; ml_n=; ml_seen=; ml_s0=; ml_sn0=0; { read -r ml_last ml_rtt ml_n < "$R/reply.$ml_key"; } 2>/dev/null
    eval "ml_seen=\${sl_$ml_key:-}; ml_sn0=\${sn_$ml_key:-0}; ml_s0=\${s0_$ml_key:-$ml_up}"
    case $ml_last$ml_n in ''|*[!0-9]*) ml_last=$ml_s0; ml_n=$ml_sn0 ;; esac
    # Replies since the last call (a ping started again counts from 1).
    ml_nn=0
    if [ "$ml_last" != "$ml_seen" ] && [ "$ml_last" != "$ml_s0" ]; then
      eval "sl_$ml_key=$ml_last; sn_$ml_key=$ml_n"
      ml_nn=$((ml_n - ml_sn0))
      [ "$ml_nn" -gt 0 ] || ml_nn=$ml_n
      ml_ms_us "$ml_rtt"
      if [ -n "$ml_us" ]; then ml_fresh=$((ml_fresh + 1)); ml_sum=$((ml_sum + ml_us)); fi
    fi
    ml_nv="$ml_nv $ml_nn"
    ml_late=$((ml_up - ml_last - ML_TOL_CS))
    ml_l=0
    [ "$ml_late" -ge 0 ] && ml_l=$((ml_late / ML_IVL_CS))
    [ "$ml_l" = 0 ] && ml_ans=$((ml_ans + 1))
    ml_lv="$ml_lv $ml_l"
    ml_due=$((ml_last + (ml_l + 1) * ML_IVL_CS + ML_TOL_CS))
    [ "$ml_due" -lt "$ml_next" ] && ml_next=$ml_due
  done
  ml_rtt_us=
  [ "$ml_fresh" -gt 0 ] && ml_rtt_us=$((ml_sum / ml_fresh))
  # The QUORUM-th smallest count: the least X that QUORUM targets lost at most X of; and the
  # QUORUM-th largest number of new replies: the most that QUORUM targets each had.
  ml_pick 1 "$ml_lv" "$ml_sl_q"; ml_lost=$ml_pk
  ml_pick -1 "$ml_nv" "$ml_sl_q"; ml_new=$ml_pk
}

# ml_pick S LIST Q: ml_pk = the Q-th smallest of LIST (numbers) for S 1, the Q-th largest for
# S -1: the first X, in that order, that Q of them reach; 0 for an empty LIST.
ml_pick() {
  ml_pk=
  for ml_x in $2; do
    ml_c=0
    for ml_y in $2; do [ $(( (ml_y - ml_x) * $1 )) -le 0 ] && ml_c=$((ml_c + 1)); done
    if [ "$ml_c" -ge "$3" ] && { [ -z "$ml_pk" ] || [ $(( (ml_x - ml_pk) * $1 )) -lt 0 ]; }; then ml_pk=$ml_x; fi
  done
  ml_pk=${ml_pk:-0}
}

# ml_stream_sleep: starts the sleep until 30 ms after ml_next (at least 20 ms, at most an
# interval from ml_up) in the background: ml_sleep its pid. The 30 ms gather targets whose
# replies come a little apart into one round, not one round each.
ml_stream_sleep() {
  ml_d=$((ml_next + 3 - ml_up))
  [ "$ml_d" -lt 2 ] && ml_d=2
  [ "$ml_d" -gt "$ML_IVL_CS" ] && ml_d=$ML_IVL_CS
  ml_dc=$((ml_d % 100))
  [ "$ml_dc" -lt 10 ] && ml_dc=0$ml_dc
  # A sleep without fractions (a BusyBox built so: monitor.sh sets ml_bound_s) would fail at
  # once and the loop would spin: whole seconds then, slower but bounded.
  if [ -n "${ml_bound_s:-}" ]; then sleep 1 & else sleep "$((ml_d / 100)).$ml_dc" & fi
  ml_sleep=$!
}
