# shellcheck shell=sh
# Starting and stopping the link monitor: under systemd where the router runs it
# (systemd-run, restarted if it dies), otherwise as a detached background process with a pid
# file in the state folder (a deploy restarts it if it died).
# Parameters: ML_STATE, ML_MONITOR_UNIT. Defined before this file: lib.sh. A pid read from
# its file is signalled only after a check of its command line and start time.

ml_monitor_no_pid() { [ ! -s "$ML_STATE/monitor/pid" ]; }

# ml_pgrp PID: its process group (the field after state and parent in /proc/PID/stat).
ml_pgrp() {
  { read -r ml_pg_s < "/proc/$1/stat"; } 2>/dev/null || return 1
  ml_pg_s=${ml_pg_s##*) }
  # shellcheck disable=SC2086 # split into its fields on purpose
  set -- $ml_pg_s
  echo "$3"
}

# ml_monitor_is PID: PID is this state folder's monitor: its command line runs our monitor.sh
# and, when its start was recorded (pid.start: "PID START"), it started then. A pid read from
# a file may have been given to another process since.
ml_monitor_is() {
  tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -q -F -- "$ML_STATE/monitor/monitor.sh" || return 1
  { read -r ml_mi_p ml_mi_s < "$ML_STATE/monitor/pid.start"; } 2>/dev/null || return 0
  [ "$ml_mi_p" != "$1" ] || ml_alive "$1" "$ml_mi_s"
}

ml_monitor_stop() {
  ml_md=$ML_STATE/monitor
  if [ "$(cat "$ml_md/manager" 2>/dev/null)" = systemd ]; then systemctl stop "$ML_MONITOR_UNIT" >/dev/null 2>&1; fi
  ml_mp=$(cat "$ml_md/pid" 2>/dev/null)
  if [ -n "$ml_mp" ] && ml_monitor_is "$ml_mp"; then
    # Started by setsid, it leads its own process group: its probes and the subshells that
    # wait for them go with it (a stopped monitor leaves nothing running). Otherwise only it.
    ml_mt=$ml_mp
    [ "$(ml_pgrp "$ml_mp")" = "$ml_mp" ] && ml_mt="-$ml_mp"
    kill -- "$ml_mt" 2>/dev/null
    ml_wait_while 50 ml_monitor_is "$ml_mp"
    if ml_monitor_is "$ml_mp"; then kill -9 -- "$ml_mt" 2>/dev/null; fi
  fi
  rm -f "$ml_md/pid" "$ml_md/pid.start"
}

ml_monitor_start() {
  ml_md=$ML_STATE/monitor
  if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
    systemctl reset-failed "$ML_MONITOR_UNIT" >/dev/null 2>&1
    systemd-run --quiet --unit="$ML_MONITOR_UNIT" --property=Restart=always --property=RestartSec=1 /bin/sh "$ml_md/monitor.sh" && echo systemd > "$ml_md/manager"
  else
    if command -v setsid >/dev/null 2>&1; then
      setsid sh "$ml_md/monitor.sh" </dev/null >/dev/null 2>&1 &
    else
      sh "$ml_md/monitor.sh" </dev/null >/dev/null 2>&1 &
    fi
    echo background > "$ml_md/manager"
  fi
  ml_wait_while 50 ml_monitor_no_pid
  [ -s "$ml_md/pid" ] || { echo "the link monitor did not start" >&2; return 1; }
  # Its start time, so that a later stop signals this process and no other with its pid.
  ml_record_pid "$ml_md/pid.start" "$(cat "$ml_md/pid")" || true
}
