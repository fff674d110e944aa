# shellcheck shell=sh
# The link monitor's IPv6 side, for links with a gateway6: each such link has an IPv6 health of
# its own (an ISP whose IPv6 is broken keeps carrying IPv4, and the other way round), kept
# every round beside the IPv4 one:
# - its IPv6 table: `gateway6: auto` follows the interface's IPv6 default route in main (router
#   advertisements, DHCPv6, PPP; netifd's source-specific `default from P via G` too), a
#   fixed or `none` one is put back when the kernel emptied it; without a default route or
#   without its device the link is down for IPv6;
# - with IPv6 targets (ML_TARGETS6), each is pinged through each link (`ping -6 -I IF`: the oif
#   rule of `ip -6` sends it out of the link, from the link's own global address), and
#   consecutive failed and good rounds take the link's IPv6 out and put it back.
# When the set of links healthy for IPv6 changes, the IPv6 balancing chain precompiled for it
# is loaded (ml_balance6, one ip6tables-restore --noflush) and the failed link's IPv6
# conntrack entries are deleted.
# Parameters: ML_TARGETS6, ML_QUORUM6, ML_DOWN_AFTER, ML_UP_AFTER, ML_WAIT_S6. Defined before
# this file: lib.sh, monitor-record.sh, monitor-tables.sh (the table primitives, for both
# families), ml_link K (also ml_gw6: fixed, none, auto or empty for a link without IPv6;
# ml_via6: the fixed gateway) and ml_balance6 MASK6.
# State per link K: up6_K, since6_K, fail6_K, ok6_K, gw6_K (auto: what was learnt). It sets
# monitor.sh's ml_gw_changed when the state file is to be written.
# shellcheck disable=SC2154,SC2034

ml_v6_init() {
  ml_6k=1
  while [ "$ml_6k" -le "$ML_N" ]; do
    ml_6u=1
    case "${1:-}" in ''|*[!0-9]*) ;; *) ml_6u=$(( ($1 >> (ml_6k - 1)) & 1 )) ;; esac
    ml_link "$ml_6k"
    ml_stamp
    if [ -n "${1:-}" ] && ml_kept_since link6 "$ml_name" "$ml_6u"; then ml_sw=$ml_ksw; ml_su=$ml_ksu; fi
    eval "up6_$ml_6k=$ml_6u; fail6_$ml_6k=0; ok6_$ml_6k=0; since6_$ml_6k=\$ml_sw; sinceup6_$ml_6k=\$ml_su; gw6_$ml_6k=-"
    ml_6k=$((ml_6k + 1))
  done
  ml_pending6=1
}

# The mask of links healthy for IPv6 (links without a gateway6 never count).
ml_mask6() {
  ml_m6=0; ml_6k=1
  while [ "$ml_6k" -le "$ML_N" ]; do
    ml_link "$ml_6k"
    ml_6u=; eval "ml_6u=\$up6_$ml_6k"
    [ -n "$ml_gw6" ] && [ "$ml_6u" = 1 ] && ml_m6=$((ml_m6 | (1 << (ml_6k - 1))))
    ml_6k=$((ml_6k + 1))
  done
  echo "$ml_m6"
}

# Lines of the state file: `mask6 N`, and per IPv6 link `link6 NAME up|down SINCE` and, for
# gateway6: auto, `gateway6 NAME via G|dev|-`.
ml_v6_state_lines() {
  echo "mask6 $(ml_mask6)"
  ml_6k=1
  while [ "$ml_6k" -le "$ML_N" ]; do
    ml_link "$ml_6k"
    if [ -n "$ml_gw6" ]; then
      ml_6u=; ml_6s=; ml_6b=; ml_6g=; eval "ml_6u=\$up6_$ml_6k; ml_6s=\$since6_$ml_6k; ml_6b=\$sinceup6_$ml_6k; ml_6g=\$gw6_$ml_6k"
      if [ "$ml_6u" = 1 ]; then echo "link6 $ml_name up $ml_6s $ml_6b"; else echo "link6 $ml_name down $ml_6s $ml_6b"; fi
      [ "$ml_gw6" = auto ] && echo "gateway6 $ml_name ${ml_6g:--}"
    fi
    ml_6k=$((ml_6k + 1))
  done
}

# A device made again (PPP) starts with the kernel's accept_ra: with forwarding on, it would
# never learn a gateway. The 2 deploy set is put back (monitor-tables.sh ml_sysctl_keep).
ml_accept_ra() {
  ml_sysctl_keep "/proc/sys/net/ipv6/conf/$ml_if/accept_ra" 2 accept_ra
}

# Link ml_k's IPv6 table this round: sets ml_t6 to ok, absent (no device) or none (auto: no
# default route in main; or a route ip refuses). A deploy that holds the lock is not raced.
ml_table6_keep() {
  ml_t6=ok
  if [ ! -e "/sys/class/net/$ml_if" ]; then ml_t6=absent; return 0; fi
  case "$ml_gw6" in
    auto)
      ml_want6=$(ml_learn 6 "$ml_if")
      ml_had6=; eval "ml_had6=\$gw6_$ml_k"
      if [ "$ml_want6" != "$ml_had6" ] && ! ml_deploying; then
        if [ -n "$ml_want6" ]; then ml_route_put 6 "$ml_want6" 2>/dev/null; else ip -6 route flush table "$ml_table" 2>/dev/null; fi
        ml_log "link $ml_name IPv6 gateway ${ml_want6:-none} (was ${ml_had6:-none})"
        eval "gw6_$ml_k=\$ml_want6"
        ml_gw_changed=1
      fi
      # Only while none is learnt: a device made again may have lost its accept_ra.
      [ -n "$ml_want6" ] || { ml_accept_ra; ml_t6=none; return 0; } ;;
    none) ml_want6=dev ;;
    *) ml_want6="via $ml_via6" ;;
  esac
  ml_table_holds 6 "$ml_want6" && return 0
  ml_deploying && return 0
  if ml_route_put 6 "$ml_want6" 2>/dev/null; then ml_log "link $ml_name IPv6 table $ml_table restored: $ml_route"; else ml_t6=none; fi
}

# iputils since 2015 and BusyBox take `ping -6`; older iputils has ping6 (BusyBox may too).
if command -v ping6 >/dev/null 2>&1; then ml_ping6=ping6; else ml_ping6='ping -6'; fi

# Starts link ml_k's IPv6 probes, each a ping in the background, into probe6.K.T; they join
# the round's ml_probes, so the round waits for them as for IPv4's, at most ML_WAIT
# (monitor-round.sh): probe6.K.T is there after the round only for an answered probe.
ml_v6_probes() {
  [ -n "$ml_gw6" ] && [ -n "$ML_TARGETS6" ] || return 0
  ml_6t=0
  for ml_6target in $ML_TARGETS6; do
    ml_6t=$((ml_6t + 1))
    if [ -n "$ML_STREAM" ]; then ml_stream_keep "6_${ml_k}_$ml_6t" 6 "$ml_6target"; continue; fi
    # shellcheck disable=SC2086 # ml_ping6 is `ping -6` or `ping6`
    $ml_ping6 -q -c 1 -W "$ML_WAIT_S6" -w "$ML_WAIT_S6" -I "$ml_if" "$ml_6target" > "$R/probe6.$ml_k.$ml_6t" 2>/dev/null &
    ml_probes="$ml_probes probe6.$ml_k.$ml_6t:$!"
  done
}

# After a round's probes: every IPv6 link's verdict; a change loads the IPv6 chain for the new
# set of healthy links (or waits while a deploy holds the lock) and ends the failed links'
# IPv6 flows; the state file is written as soon as the chain is in force.
ml_v6_round() {
  ml_6changed=0; ml_6down=
  ml_k=1
  while [ "$ml_k" -le "$ML_N" ]; do
    ml_link "$ml_k"
    if [ -n "$ml_gw6" ]; then
      # Streaming (ML_STREAM): the table is kept once a second (ml_house), its verdict stays.
      if [ "$ml_house" = 1 ]; then ml_table6_keep; eval "t6_$ml_k=\$ml_t6"; else eval "ml_t6=\${t6_$ml_k:-ok}"; fi
      ml_6u=; ml_6f=; ml_6s=; eval "ml_6u=\$up6_$ml_k; ml_6f=\$fail6_$ml_k; ml_6s=\$ok6_$ml_k"
      if [ "$ml_t6" = absent ]; then
        ml_6s=0; ml_6f=$ML_DOWN_AFTER; ml_6why="no device $ml_if"
      elif [ "$ml_t6" != ok ]; then
        ml_6s=0; ml_6f=$ML_DOWN_AFTER; ml_6why="no IPv6 default route on $ml_if"
      elif [ -z "$ML_TARGETS6" ]; then
        ml_6s=$ML_UP_AFTER; ml_6f=0; ml_6why="IPv6 default route on $ml_if"
      elif [ -n "$ML_STREAM" ]; then
        ml_stream_link 6 "$ml_k" "$ML_TARGETS6" "$ML_QUORUM6"
        ml_6f=$ml_lost
        if [ "$ml_6f" -gt 0 ]; then ml_6s=0; else ml_6s=$((ml_6s + ml_new)); fi
        ml_6why="$ml_6f IPv6 probes lost in a row"
        [ "$ml_6f" = 0 ] && ml_6why="$ml_6s IPv6 probes answered in a row"
      else
        ml_6ok=0; ml_6t=0
        for ml_6target in $ML_TARGETS6; do
          ml_6t=$((ml_6t + 1))
          [ -e "$R/probe6.$ml_k.$ml_6t" ] && ml_6ok=$((ml_6ok + 1))
        done
        if [ "$ml_6ok" -ge "$ML_QUORUM6" ]; then ml_6s=$((ml_6s + 1)); ml_6f=0; else ml_6f=$((ml_6f + 1)); ml_6s=0; fi
        ml_6why="$ml_6f failed IPv6 rounds"
        [ "$ml_6s" -gt 0 ] && ml_6why="$ml_6s good IPv6 rounds"
      fi
      if [ "$ml_6u" = 1 ] && [ "$ml_6f" -ge "$ML_DOWN_AFTER" ]; then
        ml_6u=0; ml_6changed=1; ml_6down="$ml_6down $ml_k"
        ml_stamp; eval "since6_$ml_k=\$ml_sw; sinceup6_$ml_k=\$ml_su"
        ml_log "link $ml_name IPv6 down ($ml_6why)"; ml_syslog "link $ml_name IPv6 down ($ml_6why)"
      elif [ "$ml_6u" = 0 ] && [ "$ml_6s" -ge "$ML_UP_AFTER" ]; then
        ml_6u=1; ml_6changed=1
        ml_stamp; eval "since6_$ml_k=\$ml_sw; sinceup6_$ml_k=\$ml_su"
        ml_log "link $ml_name IPv6 up ($ml_6why)"; ml_syslog "link $ml_name IPv6 up ($ml_6why)"
      fi
      eval "up6_$ml_k=$ml_6u; fail6_$ml_k=$ml_6f; ok6_$ml_k=$ml_6s"
    fi
    ml_k=$((ml_k + 1))
  done
  [ "$ml_6changed" = 1 ] && { ml_pending6=1; ml_flush6_links="$ml_flush6_links $ml_6down"; }
  if [ "$ml_pending6" = 1 ] && ml_load6 "$(ml_mask6)"; then ml_pending6=0; fi
  [ "$ml_6changed" = 1 ] || return 0
  ml_write_state
  return 0
}

# Links taken out for IPv6 whose IPv6 conntrack entries are still to be deleted: once the chain
# without them is in force, never before (monitor.sh's ml_flush_links).
ml_flush6_links=
# Loads the IPv6 balancing chain for MASK6, unless a deploy holds the lock or it is in force;
# then the waiting links it leaves out lose their IPv6 flows.
ml_load6() {
  ml_deploying && return 1
  ml_balance6 "$1" > "$R/balance6.restore" || return 1
  if [ "$(ml_chain_live 6)" != "$(ml_chain_want "$R/balance6.restore")" ]; then ml_load_file 6 "$R/balance6.restore" || return 1; fi
  if command -v conntrack >/dev/null 2>&1; then
    for ml_6k in $ml_flush6_links; do
      [ $(( ($1 >> (ml_6k - 1)) & 1 )) = 0 ] || continue
      ml_link "$ml_6k"
      conntrack -D -f ipv6 -m "$ml_mark/$ML_MASK" >/dev/null 2>&1
    done
  fi
  ml_flush6_links=
  return 0
}
