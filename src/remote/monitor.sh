# shellcheck shell=sh
# The link monitor: a daemon on the router using only ping, the iptables tools and (when
# present) conntrack. Every interval it probes each target through each link in parallel
# (ping -m MARK -I IFACE, so the probe leaves through that link whatever the balance says),
# counts consecutive failures and successes per link, and when a link goes down or comes
# back it loads the balancing chain multilink precompiled for the new set of healthy links
# (one iptables-restore --noflush) and deletes only the failed link's conntrack entries, so
# its flows move and nothing else is flushed.
# Parameters: ML_STATE, ML_TARGETS, ML_QUORUM, ML_DOWN_AFTER, ML_UP_AFTER, ML_INTERVAL,
# ML_WAIT, ML_N, ML_MASK, ML_LINKS. Defined before this file: lib.sh, ml_link K (sets
# ml_name, ml_if, ml_mark) and ml_balance MASK (prints the restore payload for that set).
# shellcheck disable=SC2154
S=$ML_STATE
M=$S/monitor

ml_now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
ml_log() { echo "$(ml_now) $*" >> "$M/log"; }
ml_mask() {
  ml_m=0; ml_k=1
  while [ "$ml_k" -le "$ML_N" ]; do
    eval "ml_u=\$up_$ml_k"
    [ "$ml_u" = 1 ] && ml_m=$((ml_m | (1 << (ml_k - 1))))
    ml_k=$((ml_k + 1))
  done
  echo "$ml_m"
}
ml_write_state() {
  {
    echo "mask $(ml_mask)"
    echo "links $ML_LINKS"
    ml_k=1
    while [ "$ml_k" -le "$ML_N" ]; do
      ml_link "$ml_k"
      eval "ml_u=\$up_$ml_k; ml_s=\$since_$ml_k"
      if [ "$ml_u" = 1 ]; then echo "link $ml_name up $ml_s"; else echo "link $ml_name down $ml_s"; fi
      ml_k=$((ml_k + 1))
    done
  } | ml_write "$M/state"
}
# While a deploy holds the lock, changes wait: the deploy plans with the state it gathered.
ml_load() {
  [ -d "$S/lock" ] && return 1
  ml_balance "$1" > "$M/balance.restore" || return 1
  "$ML_RESTORE" --noflush -w < "$M/balance.restore"
}

echo $$ > "$M/pid"
trap 'rm -f "$M/pid"; exit 0' TERM INT
ml_saved=
if [ -r "$M/state" ] && [ "$(sed -n 's/^links //p' "$M/state")" = "$ML_LINKS" ]; then
  ml_saved=$(sed -n 's/^mask //p' "$M/state")
fi
ml_k=1
while [ "$ml_k" -le "$ML_N" ]; do
  ml_u=1
  case "$ml_saved" in ''|*[!0-9]*) ;; *) ml_u=$(( (ml_saved >> (ml_k - 1)) & 1 )) ;; esac
  eval "up_$ml_k=$ml_u; fail_$ml_k=0; ok_$ml_k=0; since_$ml_k=$(ml_now)"
  ml_k=$((ml_k + 1))
done
ml_write_state
ml_pending=1
ml_log "monitor started (links $ML_LINKS, mask $(ml_mask))"
while :; do
  [ "$ml_pending" = 1 ] && ml_load "$(ml_mask)" && ml_pending=0
  ml_k=1; ml_pids=
  while [ "$ml_k" -le "$ML_N" ]; do
    ml_link "$ml_k"; ml_t=0
    for ml_target in $ML_TARGETS; do
      ml_t=$((ml_t + 1)); rm -f "$M/probe.$ml_k.$ml_t"
      ( ping -n -q -c 1 -W "$ML_WAIT" -m "$ml_mark" -I "$ml_if" "$ml_target" >/dev/null 2>&1 && : > "$M/probe.$ml_k.$ml_t" ) &
      ml_pids="$ml_pids $!"
    done
    ml_k=$((ml_k + 1))
  done
  # The interval runs beside the probes, and a round's verdict is taken as soon as its probes
  # are back (at most ML_WAIT, less than the interval): a link is out within
  # interval × (down_after - 1) + ML_WAIT of its first failed probe.
  sleep "$ML_INTERVAL" &
  ml_sleep=$!
  # shellcheck disable=SC2086
  wait $ml_pids
  ml_changed=0; ml_down=
  ml_k=1
  while [ "$ml_k" -le "$ML_N" ]; do
    ml_ok=0; ml_t=0
    for ml_target in $ML_TARGETS; do
      ml_t=$((ml_t + 1))
      [ -e "$M/probe.$ml_k.$ml_t" ] && ml_ok=$((ml_ok + 1))
    done
    eval "ml_u=\$up_$ml_k; ml_f=\$fail_$ml_k; ml_s=\$ok_$ml_k"
    if [ "$ml_ok" -ge "$ML_QUORUM" ]; then ml_s=$((ml_s + 1)); ml_f=0; else ml_f=$((ml_f + 1)); ml_s=0; fi
    ml_link "$ml_k"
    if [ "$ml_u" = 1 ] && [ "$ml_f" -ge "$ML_DOWN_AFTER" ]; then
      ml_u=0; ml_changed=1; ml_down="$ml_down $ml_mark"
      eval "since_$ml_k=$(ml_now)"
      ml_log "link $ml_name down ($ml_f failed rounds)"
    elif [ "$ml_u" = 0 ] && [ "$ml_s" -ge "$ML_UP_AFTER" ]; then
      ml_u=1; ml_changed=1
      eval "since_$ml_k=$(ml_now)"
      ml_log "link $ml_name up ($ml_s good rounds)"
    fi
    eval "up_$ml_k=$ml_u; fail_$ml_k=$ml_f; ok_$ml_k=$ml_s"
    ml_k=$((ml_k + 1))
  done
  if [ "$ml_changed" = 1 ]; then
    ml_write_state
    if ml_load "$(ml_mask)"; then ml_pending=0; else ml_pending=1; fi
    # Only the failed link's connections are dropped, so its UDP flows and tunnels move.
    if command -v conntrack >/dev/null 2>&1; then
      for ml_m in $ml_down; do conntrack -D -m "$ml_m/$ML_MASK" >/dev/null 2>&1; done
    fi
  fi
  wait "$ml_sleep"
done
