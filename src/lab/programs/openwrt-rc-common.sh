#!/bin/sh
# multilink lab: a small stand-in for OpenWrt's /etc/rc.common. An init script starting with
# `#!/bin/sh /etc/rc.common` sets START/STOP and defines start() and stop() (boot() defaults
# to start); `/etc/init.d/NAME enable` links it into /etc/rc.d as S${START}NAME and
# K${STOP}NAME, and at boot every /etc/rc.d/S* is run with `boot`, as procd does.
# procd-managed services (USE_PROCD=1, procd_open_instance) are not emulated.
initscript=$1
action=${2:-help}
if [ "$#" -ge 2 ]; then shift 2; else shift "$#"; fi
name=${initscript##*/}
START=
STOP=
start() { return 0; }
stop() { return 0; }
boot() { start "$@"; }
restart() { stop "$@"; start "$@"; }
enable() {
  [ -n "$START" ] && ln -sf "../init.d/$name" "/etc/rc.d/S${START}${name}"
  [ -n "$STOP" ] && ln -sf "../init.d/$name" "/etc/rc.d/K${STOP}${name}"
  return 0
}
disable() { rm -f /etc/rc.d/S??"$name" /etc/rc.d/K??"$name"; }
enabled() { [ -x "/etc/rc.d/S${START}${name}" ]; }
# shellcheck disable=SC1090
. "$initscript"
case "$action" in
  start|stop|boot|restart|enable|disable|enabled) "$action" "$@" ;;
  *) echo "Syntax: $initscript [start|stop|restart|boot|enable|disable|enabled]" >&2; exit 1 ;;
esac
