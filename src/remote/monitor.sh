# shellcheck shell=sh
# The link monitor: a daemon on the router using only ping, iproute2, the iptables tools and
# (when present) conntrack, all of which OpenWrt's BusyBox userland has. Every interval:
# - a `gateway: auto` link's table follows the interface's default route in main (DHCP,
#   PPP); a link without one is down;
# - with probes, each target is pinged through each link in parallel (bound to the link's
#   interface: an `oif` rule sends such sockets to the link's table; iputils ping also marks
#   them), and consecutive failed and good rounds take a link out and put it back.
# When the set of healthy links changes it loads the balancing chain multilink precompiled
# for that set (one iptables-restore --noflush) and deletes only the failed link's conntrack
# entries, so its flows move and nothing else is flushed.
# Parameters: ML_STATE, ML_TARGETS (empty: no probes), ML_QUORUM, ML_DOWN_AFTER, ML_UP_AFTER,
# ML_INTERVAL, ML_WAIT, ML_N, ML_MASK, ML_LINKS. Defined before this file: lib.sh, ml_link K
# (sets ml_name, ml_if, ml_mark, ml_table, ml_gw: fixed, none or auto) and ml_balance MASK.
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
# The state file gather and status read: `mask N`, `links A B`, `link NAME up|down SINCE`, and
# for auto links `gateway NAME via G|dev|-`.
ml_write_state() {
  {
    echo "mask $(ml_mask)"
    echo "links $ML_LINKS"
    ml_w=1
    while [ "$ml_w" -le "$ML_N" ]; do
      ml_link "$ml_w"
      eval "ml_u=\$up_$ml_w; ml_s=\$since_$ml_w; ml_g=\$gw_$ml_w"
      if [ "$ml_u" = 1 ]; then echo "link $ml_name up $ml_s"; else echo "link $ml_name down $ml_s"; fi
      [ "$ml_gw" = auto ] && echo "gateway $ml_name ${ml_g:--}"
      ml_w=$((ml_w + 1))
    done
  } > "$M/state.tmp" && mv -f "$M/state.tmp" "$M/state"
}
# While a deploy holds the lock, changes wait: the deploy plans with the state it gathered.
ml_load() {
  ml_deploying && return 1
  ml_balance "$1" > "$M/balance.restore" || return 1
  ml_restore "$M/balance.restore"
}
# The interface's default route in main, as `via GATEWAY` or `dev` (point-to-point); empty: none.
ml_learn() {
  ip -4 route show table main exact 0/0 dev "$1" 2>/dev/null | awk 'NR == 1 { for (i = 1; i < NF; i++) if ($i == "via") { print "via " $(i + 1); exit } print "dev"; exit }'
}
# Makes table ml_table hold the learned default route (or nothing) for link ml_k.
ml_follow() {
  ml_want=$(ml_learn "$ml_if")
  ml_had=; eval "ml_had=\$gw_$ml_k"
  [ "$ml_want" = "$ml_had" ] && return 0
  case "$ml_want" in
    "via "*) ip -4 route replace default via "${ml_want#via }" dev "$ml_if" table "$ml_table" ;;
    dev) ip -4 route replace default dev "$ml_if" table "$ml_table" ;;
    *) ip -4 route flush table "$ml_table" 2>/dev/null ;;
  esac
  ml_log "link $ml_name gateway ${ml_want:-none} (was ${ml_had:-none})"
  eval "gw_$ml_k=\$ml_want"
  ml_gw_changed=1
}
if ping -V 2>&1 | grep -q iputils; then ml_iputils=1; else ml_iputils=; fi
# BusyBox ping takes whole seconds.
ml_wait_s=${ML_WAIT%%.*}
[ "${ml_wait_s:-0}" -ge 1 ] 2>/dev/null || ml_wait_s=1
ml_probe() {
  if [ -n "$ml_iputils" ]; then
    ping -n -q -c 1 -W "$ML_WAIT" -m "$ml_mark" -I "$ml_if" "$1" >/dev/null 2>&1
  else
    ping -q -c 1 -W "$ml_wait_s" -I "$ml_if" "$1" >/dev/null 2>&1
  fi
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
  # gw_K starts unknown (-), so the first round sets the table whatever it holds.
  eval "up_$ml_k=$ml_u; fail_$ml_k=0; ok_$ml_k=0; since_$ml_k=$(ml_now); gw_$ml_k=-"
  ml_k=$((ml_k + 1))
done
ml_pending=1
ml_started=
while :; do
  [ "$ml_pending" = 1 ] && ml_load "$(ml_mask)" && ml_pending=0
  ml_gw_changed=0
  ml_k=1; ml_pids=
  while [ "$ml_k" -le "$ML_N" ]; do
    ml_link "$ml_k"; ml_t=0
    [ "$ml_gw" = auto ] && ml_follow
    for ml_target in $ML_TARGETS; do
      ml_t=$((ml_t + 1)); rm -f "$M/probe.$ml_k.$ml_t"
      ( ml_probe "$ml_target" && : > "$M/probe.$ml_k.$ml_t" ) &
      ml_pids="$ml_pids $!"
    done
    ml_k=$((ml_k + 1))
  done
  if [ -z "$ml_started" ]; then
    ml_started=1
    ml_write_state
    ml_log "monitor started (links $ML_LINKS, mask $(ml_mask))"
  fi
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
    ml_link "$ml_k"
    eval "ml_u=\$up_$ml_k; ml_f=\$fail_$ml_k; ml_s=\$ok_$ml_k; ml_g=\$gw_$ml_k"
    if [ "$ml_gw" = auto ] && [ -z "$ml_g" ]; then
      # No default route for the interface (lease lost, PPP down): down at once.
      ml_s=0; ml_f=$ML_DOWN_AFTER; ml_why="no default route on $ml_if"
    elif [ -z "$ML_TARGETS" ]; then
      ml_s=$ML_UP_AFTER; ml_f=0; ml_why="default route on $ml_if"
    else
      ml_ok=0; ml_t=0
      for ml_target in $ML_TARGETS; do
        ml_t=$((ml_t + 1))
        [ -e "$M/probe.$ml_k.$ml_t" ] && ml_ok=$((ml_ok + 1))
      done
      if [ "$ml_ok" -ge "$ML_QUORUM" ]; then ml_s=$((ml_s + 1)); ml_f=0; else ml_f=$((ml_f + 1)); ml_s=0; fi
      ml_why="$ml_f failed rounds"
      [ "$ml_s" -gt 0 ] && ml_why="$ml_s good rounds"
    fi
    if [ "$ml_u" = 1 ] && [ "$ml_f" -ge "$ML_DOWN_AFTER" ]; then
      ml_u=0; ml_changed=1; ml_down="$ml_down $ml_mark"
      eval "since_$ml_k=$(ml_now)"
      ml_log "link $ml_name down ($ml_why)"
    elif [ "$ml_u" = 0 ] && [ "$ml_s" -ge "$ML_UP_AFTER" ]; then
      ml_u=1; ml_changed=1
      eval "since_$ml_k=$(ml_now)"
      ml_log "link $ml_name up ($ml_why)"
    fi
    eval "up_$ml_k=$ml_u; fail_$ml_k=$ml_f; ok_$ml_k=$ml_s"
    ml_k=$((ml_k + 1))
  done
  if [ "$ml_changed" = 1 ] || [ "$ml_gw_changed" = 1 ]; then ml_write_state; fi
  if [ "$ml_changed" = 1 ]; then
    if ml_load "$(ml_mask)"; then ml_pending=0; else ml_pending=1; fi
    # Only the failed link's connections are dropped, so its UDP flows and tunnels move.
    if command -v conntrack >/dev/null 2>&1; then
      for ml_m in $ml_down; do conntrack -D -m "$ml_m/$ML_MASK" >/dev/null 2>&1; done
    fi
  fi
  wait "$ml_sleep"
done
