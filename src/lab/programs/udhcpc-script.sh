#!/bin/sh
# multilink lab: the event script of the DHCP client (BusyBox udhcpc) on a router's DHCP
# uplink. Like OpenWrt's netifd or Debian's clients, it puts the lease's address on the
# interface and keeps a default route for that interface in the main table, with a metric
# after the router's own default (ML_DHCP_METRIC, default 10), replaced when the gateway or
# the subnet changes on renewal. udhcpc sets $interface, $ip, $mask (prefix length), $router.
# shellcheck disable=SC2154
metric=${ML_DHCP_METRIC:-10}
case "$1" in
  deconfig|leasefail|nak)
    ip -4 route flush dev "$interface" 2>/dev/null
    ip -4 addr flush dev "$interface" 2>/dev/null
    ip link set "$interface" up
    ;;
  bound|renew)
    # A new address (another subnet) replaces the old one; the same one is left alone, so
    # connections using it are not disturbed by a plain renewal.
    if ! ip -4 -o addr show dev "$interface" | grep -q " inet $ip/$mask "; then
      ip -4 route flush dev "$interface" 2>/dev/null
      ip -4 addr flush dev "$interface" 2>/dev/null
      ip -4 addr add "$ip/$mask" dev "$interface"
    fi
    # $router is a list of gateways: the first one is used.
    # shellcheck disable=SC2086
    set -- $router
    if [ -n "${1:-}" ]; then
      ip -4 route replace default via "$1" dev "$interface" metric "$metric"
    fi
    ;;
esac
exit 0
