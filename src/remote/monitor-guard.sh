# shellcheck shell=sh
# The link monitor's guard: multilink's rules deleted or flushed by another tool (`nft flush
# ruleset`, `fw4 flush`, an iptables-restore without --noflush, a hand-made `nft delete
# table`) are put back from the last confirmed generation (its netfilter.sh) within a round,
# and said so: monitor log, syslog, $R/restored (read by `multilink status`). A tool that
# keeps deleting them is not fought: after ML_GUARD_MAX restores within a minute the guard
# stops and says so; `multilink drift` shows the rest. Once they are back (a deploy) it resumes.
# Needs lib.sh, monitor-record.sh and ml_deploying; parameters ML_NFT, ML_CHAIN, ML_GUARD and
# ML_GUARD6 (the jump lines iptables-save and ip6tables-save must show, `|`-separated), ML_STATE.
ML_GUARD_MAX=3
ml_guard_times=
ml_guard_off=

# ml_guard_missing WANT SAVE: whether SAVE's output lacks one of WANT's lines.
ml_guard_missing() {
  [ -n "$1" ] || return 1
  ml_gs=$("$2" 2>/dev/null) || return 1
  printf '%s\n' "$ml_gs" | awk -v want="$1" '
    BEGIN { n = split(want, w, "|"); for (i = 1; i <= n; i++) need[w[i]] = 1 }
    ($0 in need) { delete need[$0] }
    END { for (k in need) exit 0; exit 1 }'
}

# ml_guard_lost: whether multilink's netfilter objects are gone.
ml_guard_lost() {
  if [ -n "$ML_NFT" ]; then
    nft list chain inet multilink "$ML_CHAIN" >/dev/null 2>&1 && return 1
    return 0
  fi
  # shellcheck disable=SC2153 # lib.sh sets ML_SAVE
  ml_guard_missing "$ML_GUARD" "$ML_SAVE" && return 0
  [ -n "$ML_SAVE6" ] && ml_guard_missing "$ML_GUARD6" "$ML_SAVE6" && return 0
  return 1
}

# ml_guard: one check; when the rules are gone and no deploy holds the lock, the current
# generation's netfilter part is made again and the balancing chain reloaded (ml_pending).
ml_guard() {
  if [ -n "$ml_guard_off" ]; then
    # Stopped: until a deploy (or a hand) puts them back, which a deploy that changes nothing
    # of the monitor does without restarting it; then it guards again, counting afresh.
    ml_guard_lost && return 0
    ml_guard_off=; ml_guard_times=
    ml_log "guard resumed: multilink's rules are back"
    return 0
  fi
  ml_guard_lost || return 0
  ml_deploying && return 0
  ml_gen=$(cat "$ML_STATE/current" 2>/dev/null) || return 0
  case $ml_gen in ''|*[!0-9]*) return 0 ;; esac
  ml_gfile="$ML_STATE/generations/$ml_gen/netfilter.sh"
  # A generation made before the guard existed has no netfilter.sh: the next deploy brings it.
  [ -r "$ml_gfile" ] || return 0
  read -r ml_gup _ < /proc/uptime
  ml_gup=${ml_gup%%.*}
  ml_gkept=; ml_gn=1
  for ml_gt in $ml_guard_times; do
    if [ "$((ml_gup - ml_gt))" -lt 60 ]; then ml_gkept="$ml_gkept $ml_gt"; ml_gn=$((ml_gn + 1)); fi
  done
  ml_guard_times="$ml_gkept $ml_gup"
  if [ "$ml_gn" -gt "$ML_GUARD_MAX" ]; then
    ml_guard_off=1
    ml_log "guard stopped: multilink's rules were deleted again after $ML_GUARD_MAX restores within a minute; another tool removes them (multilink drift shows what is missing)"
    ml_syslog "guard stopped: multilink's rules keep being deleted by another tool"
    return 0
  fi
  if ml_gout=$(sh "$ml_gfile" 2>&1); then
    # shellcheck disable=SC2034 # monitor.sh loads the balancing chain for the links up now
    ml_pending=1
    ml_log "restored generation $ml_gen's rules after a foreign flush"
    ml_syslog "restored generation $ml_gen's rules after a foreign flush"
    echo "restored $(ml_now) generation $ml_gen" > "$R/restored"
  else
    ml_log "restoring generation $ml_gen's rules after a foreign flush failed: $(printf '%s' "$ml_gout" | tail -n 1)"
  fi
}
