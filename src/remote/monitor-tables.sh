# shellcheck shell=sh
# What each link's routing table holds, kept by the link monitor every round: the kernel
# empties a table behind multilink's back when the link's device is deleted and made again
# (a PPP reconnect) or loses its address (OpenWrt's ifup, a DHCP re-lease), and nothing else
# puts the route back. A table should hold `default via GATEWAY dev IF` (a fixed gateway),
# `default dev IF` (`gateway: none`) or, for `gateway: auto`, what the interface's default
# route in main says now. It costs one `ip route show table T` per link and round (iproute2
# and BusyBox ip print these routes alike); ip changes a table only to repair it.
# Defined before this file: lib.sh (ml_deploying), monitor-record.sh (ml_log) and ml_link K
# (ml_name, ml_if, ml_table, ml_gw: fixed, none or auto, ml_via: the fixed gateway, ml_rpf:
# the interface's rp_filter). Per link K it keeps gw_K (auto: what was learnt) and tb_K (the
# table this round: ok; absent: no such device; broken: its route is missing and ip refused
# to put it back).
# shellcheck disable=SC2154

# The table primitives take the family first (4 or 6: `ip -4` or `ip -6`), so IPv4's and IPv6's
# tables (monitor6.sh) are kept by the same code.
# ml_learn F IF: the interface's default route in main, as `via GATEWAY` or `dev`
# (point-to-point); empty: none.
ml_learn() {
  if [ "$1" = 6 ]; then ml_any=::/0; else ml_any=0/0; fi
  ip -"$1" route show table main exact "$ml_any" dev "$2" 2>/dev/null | awk 'NR == 1 { for (i = 1; i < NF; i++) if ($i == "via") { print "via " $(i + 1); exit } print "dev"; exit }'
}
# ml_route_put F WANT (`via GATEWAY` or `dev`): puts that route into table ml_table (replacing
# its default route).
ml_route_put() {
  case "$2" in
    "via "*) ip -"$1" route replace default via "${2#via }" dev "$ml_if" table "$ml_table" ;;
    *) ip -"$1" route replace default dev "$ml_if" table "$ml_table" ;;
  esac
}
# ml_table_holds F WANT: sets ml_route to the route WANT stands for in link ml_k's table, and
# says whether table ml_table holds it, whatever ip prints after it (scope link, linkdown,
# metric). An empty table that never held a route makes iproute2 fail: it does not hold it either.
ml_table_holds() {
  case "$2" in
    "via "*) ml_route="default $2 dev $ml_if" ;;
    *) ml_route="default dev $ml_if" ;;
  esac
  ml_rt=$(ip -"$1" route show table "$ml_table" 2>/dev/null) || return 1
  case "$ml_nl$ml_rt$ml_nl" in
    *"$ml_nl$ml_route "*|*"$ml_nl$ml_route$ml_nl"*) return 0 ;;
  esac
  return 1
}
# ml_sysctl_keep FILE VALUE WHAT: a link's sysctl (a file of /proc/sys) back at VALUE, logged
# as WHAT, when a device made again (PPP) started with the kernel's defaults (conf/default).
# cat, not read: a sysctl file answers only a read from its start, and the shell's read takes a
# byte at a time (this runs only for a repair).
ml_sysctl_keep() {
  ml_sk_now=$(cat "$1" 2>/dev/null) || return 0
  [ "$ml_sk_now" = "$2" ] && return 0
  { echo "$2" > "$1"; } 2>/dev/null && ml_log "link $ml_name $ml_if $3 restored: $2 (was $ml_sk_now)"
}
# `gateway: auto`: when the interface's default route in main changed, table ml_table is made
# to hold the new one (or nothing) and ml_fresh is set.
ml_follow() {
  ml_want=$(ml_learn 4 "$ml_if")
  ml_had=; eval "ml_had=\$gw_$ml_k"
  [ "$ml_want" = "$ml_had" ] && return 0
  if [ -n "$ml_want" ]; then
    ml_route_put 4 "$ml_want"
  else
    ip -4 route flush table "$ml_table" 2>/dev/null
  fi
  ml_log "link $ml_name gateway ${ml_want:-none} (was ${ml_had:-none})"
  eval "gw_$ml_k=\$ml_want"
  # shellcheck disable=SC2034 # monitor.sh writes its state file when it is set
  ml_gw_changed=1
  ml_fresh=1
}
# A device made again (PPP): the link's rp_filter, which multilink sets, is put back too.
ml_dev_settings() {
  [ -n "$ml_rpf" ] || return 0
  ml_sysctl_keep "/proc/sys/net/ipv4/conf/$ml_if/rp_filter" "$ml_rpf" rp_filter
}
# Puts ml_route back into table ml_table, once per repair in the log; unless a deploy holds the
# lock (it may be changing this very table: its confirmation checks what it set). A route ip
# refuses (the gateway not on the link now, the device down) makes the table broken.
ml_table_repair() {
  ml_deploying && return 0
  ml_dev_settings
  if ml_err=$(ml_route_put 4 "$ml_want" 2>&1); then
    ml_log "link $ml_name table $ml_table restored: $ml_route"
  else
    ml_tb=broken
    [ "$ml_tb_was" = broken ] || ml_log "link $ml_name table $ml_table lacks $ml_route and ip refuses it: ${ml_err%%"$ml_nl"*}"
  fi
}
# Link ml_k's table this round (tb_K), repaired when the kernel emptied it.
ml_table_keep() {
  ml_tb=ok; ml_fresh=0
  ml_tb_was=; eval "ml_tb_was=\${tb_$ml_k:-ok}"
  case "$ml_gw" in
    auto) ml_follow; eval "ml_want=\$gw_$ml_k" ;;
    none) ml_want=dev ;;
    *) ml_want="via $ml_via" ;;
  esac
  if [ ! -e "/sys/class/net/$ml_if" ]; then
    ml_tb=absent
  elif [ -n "$ml_want" ] && [ "$ml_fresh" = 0 ]; then
    ml_table_holds 4 "$ml_want" || ml_table_repair
  fi
  eval "tb_$ml_k=$ml_tb"
}
