# shellcheck shell=sh
# What the link monitor records, each in a bounded place, so a router's RAM or flash never
# fills: its own log (rotated at a fixed size), events for the router's syslog (tag
# multilink, through logger: OpenWrt's logread shows them), the last state changes of each
# link (a small ring in its folder, read by `multilink status`), and per-link probe
# statistics (written to the state file with the link states).
# Parameters (set before monitor.sh): ML_LOG_MAX (bytes the log may reach before it becomes
# log.1), ML_HISTORY (changes kept per link), ML_STATS_EVERY (rounds between state file
# writes for the statistics alone), ML_LINKS; and R, the monitor's run folder. Needs lib.sh.
# shellcheck disable=SC2154

ml_now() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# ml_stamp: when a link's health changes, as the state file keeps it: ml_sw, the wall clock
# (UTC), or "-" while it is not yet set (a year before 2021: no NTP answer yet after a boot;
# OpenWrt starts from its build date, Debian from 1970 without an RTC), and ml_su, whole
# seconds since boot. Durations are counted from the uptime: status corrects the time of a
# change recorded before NTP stepped the clock, and says when the clock is still not set.
ml_stamp() {
  ml_sw=$(ml_now)
  case $ml_sw in 19*|200*|201*|2020-*) ml_sw=- ;; esac
  ml_centis
  ml_su=$((ml_cs / 100))
}

# ml_kept_since KIND NAME UP(1|0): a restarted monitor keeps when a link's health last
# changed, from the state file it finds (same boot: its uptime is not ahead of ours; same
# health): sets ml_ksw and ml_ksu and succeeds. KIND is link or link6. Needs ml_stamp first.
ml_kept_since() {
  ml_ksw=; ml_ksu=
  if [ "$3" = 1 ]; then ml_kh=up; else ml_kh=down; fi
  [ -r "$R/state" ] || return 1
  while read -r ml_k1 ml_k2 ml_k3 ml_k4 ml_k5 _; do
    if [ "$ml_k1" = "$1" ] && [ "$ml_k2" = "$2" ] && [ "$ml_k3" = "$ml_kh" ]; then ml_ksw=$ml_k4; ml_ksu=$ml_k5; fi
  done < "$R/state"
  case $ml_ksu in ''|*[!0-9]*) return 1 ;; esac
  [ -n "$ml_ksw" ] && [ "$ml_ksu" -le "$ml_su" ]
}

# ml_log TEXT: a line "TIME TEXT" in $R/log. A line that would take the log past ML_LOG_MAX
# bytes starts a new one and the old one becomes log.1 (replacing the one before): the two
# never hold more than 2 × ML_LOG_MAX. The size is counted here, not asked of the file system
# at every line (LC_ALL=C from lib.sh: ${#x} counts bytes).
ml_log() {
  ml_line="$(ml_now) $*"
  if [ -z "${ml_log_size:-}" ]; then
    ml_log_size=0
    if [ -f "$R/log" ]; then ml_log_size=$(wc -c < "$R/log"); fi
  fi
  ml_log_size=$((ml_log_size + ${#ml_line} + 1))
  if [ "$ml_log_size" -gt "$ML_LOG_MAX" ]; then
    mv -f "$R/log" "$R/log.1" 2>/dev/null
    ml_log_size=$((${#ml_line} + 1))
  fi
  printf '%s\n' "$ml_line" >> "$R/log"
}

# ml_syslog TEXT: TEXT to the router's syslog, tagged multilink, where it has logger. Detached
# (the subshell returns at once, logger is left to init): a syslog daemon that stops reading
# its socket must not hold up a failover.
ml_syslog() {
  command -v logger >/dev/null 2>&1 || return 0
  ( logger -t multilink -p daemon.notice -- "$*" </dev/null >/dev/null 2>&1 & )
}

# ml_history LINK FROM TO WHY: a line "TIME LINK FROM TO WHY" in $R/history, which keeps the
# last ML_HISTORY lines of each link in ML_LINKS (lines of links no longer played go).
ml_history() {
  printf '%s %s %s %s %s\n' "$(ml_now)" "$1" "$2" "$3" "$4" >> "$R/history"
  awk -v n="$ML_HISTORY" -v links=" $ML_LINKS " '
    index(links, " " $2 " ") { c[$2]++; keep[NR] = $0; who[NR] = $2 }
    END { for (i = 1; i <= NR; i++) if ((i in keep) && c[who[i]]-- <= n) print keep[i] }
  ' "$R/history" > "$R/history.tmp" && mv -f "$R/history.tmp" "$R/history"
}

# ml_event LINK FROM TO WHY: a link changed state: the log, the history ring and syslog.
ml_event() {
  ml_log "link $1 $3 ($4)"
  ml_history "$1" "$2" "$3" "$4"
  ml_syslog "link $1 $3 ($4)"
}

# ml_note LINK FROM TO WHY: a change, recorded (ml_event) by ml_record_notes once the new
# chain is loaded: the failover does not wait for the few processes recording takes.
ml_note() {
  ml_notes=$((${ml_notes:-0} + 1))
  eval "ml_nl_$ml_notes=\$1; ml_nf_$ml_notes=\$2; ml_nt_$ml_notes=\$3; ml_nw_$ml_notes=\$4"
}
ml_record_notes() {
  ml_i=1
  while [ "$ml_i" -le "${ml_notes:-0}" ]; do
    eval "ml_event \"\$ml_nl_$ml_i\" \"\$ml_nf_$ml_i\" \"\$ml_nt_$ml_i\" \"\$ml_nw_$ml_i\""
    ml_i=$((ml_i + 1))
  done
  ml_notes=0
}

# ml_tier_event FROM TO: the tier whose links share new connections changed (a backup tier
# took over, or handed back): the log and syslog.
ml_tier_event() {
  ml_log "tier $2 in use (was tier $1)"
  ml_syslog "tier $2 in use (was tier $1)"
}

# ml_weights_event FILE: method adaptive learnt new weights (FILE: `weight K SHARE …` per link
# in ML_LINKS order). A change of 5 points or more in any link's share since the last one
# told goes to the log and syslog ("weights learnt: dsl 18%, cable 33%, lte 49%"); the first
# call only remembers where learning stands, and smaller moves (every period has some) are
# not told.
ml_weights_event() {
  ml_pct=$(awk '$1 == "weight" { printf "%s%d", (n++ ? " " : ""), $3 * 100 + 0.5 }' "$1")
  if [ -z "${ml_told:-}" ]; then ml_told=$ml_pct; return 0; fi
  awk -v a="$ml_told" -v b="$ml_pct" 'BEGIN { n = split(a, x, " "); split(b, y, " "); for (i = 1; i <= n; i++) if (x[i] - y[i] >= 5 || y[i] - x[i] >= 5) exit 0; exit 1 }' || return 0
  ml_told=$ml_pct
  ml_told_text=$(awk -v names="$ML_LINKS" -v p="$ml_pct" 'BEGIN { n = split(names, a, " "); split(p, b, " "); for (i = 1; i <= n; i++) printf "%s%s %s%%", (i > 1 ? ", " : ""), a[i], b[i] }')
  ml_log "weights learnt: $ml_told_text"
  ml_syslog "weights learnt: $ml_told_text"
}

# ml_probe_stats K SENT ANSWERED [RTT_US]: a round of link K's probes into its statistics: probes
# sent and lost since the monitor started, and the round-trip time (µs, from the answers ping
# printed into $R/probe.K.T for T up to SENT: files of more targets, from an earlier
# configuration, are not read; streaming probes (ML_STREAM) give it as RTT_US, empty for no new
# answer) and loss (per mille) smoothed over rounds (each round weighs 1/4).
ml_probe_stats() {
  if [ -n "${ML_STREAM:-}" ]; then ml_rtt=${4:-}; else ml_probe_rtt "$@"; fi
  ml_probe_count "$@"
}
ml_probe_rtt() {
  ml_rtt=$(awk -F'= ' -v max="$2" '{ t = FILENAME; sub(/.*\./, "", t) } t + 0 > max { next } /min\/avg\/max/ { split($2, v, "/"); s += v[2]; n++ } END { if (n) printf "%d\n", s * 1000 / n }' "$R/probe.$1".* 2>/dev/null)
}
ml_probe_count() {
  eval "ml_ps=\${psent_$1:-0}; ml_pl=\${plost_$1:-0}; ml_pr=\${prtt_$1:-}; ml_pm=\${ploss_$1:-}"
  ml_lp=$(( ($2 - $3) * 1000 / $2 ))
  ml_ps=$((ml_ps + $2)); ml_pl=$((ml_pl + $2 - $3))
  if [ -z "$ml_pm" ]; then ml_pm=$ml_lp; else ml_pm=$(( (ml_pm * 3 + ml_lp) / 4 )); fi
  if [ -n "$ml_rtt" ]; then
    if [ -z "$ml_pr" ]; then ml_pr=$ml_rtt; else ml_pr=$(( (ml_pr * 3 + ml_rtt) / 4 )); fi
  fi
  eval "psent_$1=\$ml_ps; plost_$1=\$ml_pl; prtt_$1=\$ml_pr; ploss_$1=\$ml_pm"
}

# ml_probe_lines: the state file's statistics, `probe NAME sent=N lost=N rtt_us=N|- loss_pm=N`
# per probed link (nothing without probes). Fields are key=value so more can follow.
# shellcheck disable=SC2153,SC2154 # ML_N and ml_link's ml_name: monitor.sh's (the guard-only monitor has neither)
ml_probe_lines() {
  ml_q=1
  while [ "$ml_q" -le "$ML_N" ]; do
    eval "ml_ps=\${psent_$ml_q:-}; ml_pl=\${plost_$ml_q:-0}; ml_pr=\${prtt_$ml_q:-}; ml_pm=\${ploss_$ml_q:-0}"
    if [ -n "$ml_ps" ]; then
      ml_link "$ml_q"
      echo "probe $ml_name sent=$ml_ps lost=$ml_pl rtt_us=${ml_pr:--} loss_pm=$ml_pm"
    fi
    ml_q=$((ml_q + 1))
  done
}

# ml_stats_due: true every ML_STATS_EVERY calls (one per round): the state file is rewritten
# for fresh statistics that often, not at every round.
ml_stats_due() {
  ml_stats_n=$((${ml_stats_n:-0} + 1))
  [ "$ml_stats_n" -ge "$ML_STATS_EVERY" ] || return 1
  ml_stats_n=0
}
