#!/bin/sh
# multilink: restore the last confirmed uplink balancing state
### BEGIN INIT INFO
# Provides:          multilink
# Required-Start:    $network
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:
# Short-Description: multilink uplink balancing
### END INIT INFO
# Parameter: ML_STATE. START is read by OpenWrt's rc.common-style tools.
# shellcheck disable=SC2034
START=99
case "$1" in
  start|boot|"") sh "$ML_STATE/boot.sh" ;;
  *) exit 0 ;;
esac
