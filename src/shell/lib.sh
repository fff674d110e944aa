# shellcheck shell=sh
# multilink's router-side library, put at the top of every script it runs on a router:
# environment, the iptables flavour, step runners, structured replies and bounded waits.
# Parameter: ML_IPTABLES (auto | legacy | nft, or none for scripts that do not use iptables).
PATH=/usr/sbin:/sbin:/usr/bin:/bin:$PATH
LC_ALL=C
export PATH LC_ALL
ml_failed=0

# Replies are machine-read: `@@ML-R KEY VALUE` lines, and sections (`@@ML NAME`, the body,
# `@@ML-rc CODE`). A value is one line; a body never has a line starting with @@ML.
ml_field() {
  case $2 in
    *"$ml_nl"*) printf '@@ML-R %s %s\n' "$1" "$(printf '%s' "$2" | tr '\n' ' ')" ;;
    *) printf '@@ML-R %s %s\n' "$1" "$2" ;;
  esac
}
ml_nl='
'
ml_body() {
  sed 's/^@@ML/ @@ML/'
}

# Chooses the iptables tools: ML_IPTABLES, or for auto the one the host's `iptables` uses.
# Falls back to plain iptables-save/-restore (OpenWrt, old distributions) only when they are
# of the wanted flavour.
ml_flavour() {
  ml_want=$ML_IPTABLES
  if [ "$ml_want" = auto ]; then
    case "$(iptables -V 2>/dev/null)" in
      *nf_tables*) ml_want=nft ;;
      *legacy*) ml_want=legacy ;;
      *) if command -v iptables-nft-save >/dev/null 2>&1; then ml_want=nft; else ml_want=legacy; fi ;;
    esac
  fi
  if command -v "iptables-$ml_want-save" >/dev/null 2>&1; then
    ML_SAVE="iptables-$ml_want-save"; ML_RESTORE="iptables-$ml_want-restore"
  else
    case "$(iptables-save -V 2>/dev/null)" in *nf_tables*) ml_have=nft ;; *) ml_have=legacy ;; esac
    if [ "$ml_have" != "$ml_want" ] || ! command -v iptables-save >/dev/null 2>&1; then
      echo "no iptables-$ml_want tools on this host" >&2
      return 1
    fi
    ML_SAVE=iptables-save; ML_RESTORE=iptables-restore
  fi
  ML_FLAVOUR=$ml_want
  # IPv6's tools of the same flavour, where the router has them (used only for IPv6 objects).
  ML_SAVE6=; ML_RESTORE6=
  if command -v "ip6tables-$ml_want-save" >/dev/null 2>&1; then
    ML_SAVE6="ip6tables-$ml_want-save"; ML_RESTORE6="ip6tables-$ml_want-restore"
  elif command -v ip6tables-save >/dev/null 2>&1; then
    case "$(ip6tables-save -V 2>/dev/null)" in *nf_tables*) ml_have6=nft ;; *) ml_have6=legacy ;; esac
    [ "$ml_have6" = "$ml_want" ] && { ML_SAVE6=ip6tables-save; ML_RESTORE6=ip6tables-restore; }
  fi
}
# ml_need6: the IPv6 tools are there, or says which are missing and fails.
ml_need6() {
  [ -n "$ML_SAVE6" ] && return 0
  echo "no ip6tables-$ML_FLAVOUR tools on this host: a link with gateway6 needs them (Debian: apt-get install iptables; OpenWrt: opkg install ip6tables-zz-legacy or ip6tables-nft)" >&2
  return 1
}
# The flavour chosen (legacy or nft; none on a router without iptables), for the gather.
ml_flavour_name() {
  echo "$ML_FLAVOUR"
}
# A router without iptables of any kind (stock OpenWrt since 22.03: nftables only) holds no
# ML_ chain: its saves print nothing, and a restore that would make something fails, naming
# the package. Only the nft backend runs there (the plan decides; plan/backend.ts).
ml_iptables_absent() {
  ! command -v iptables-save >/dev/null 2>&1 && ! command -v iptables-nft-save >/dev/null 2>&1 &&
    ! command -v iptables-legacy-save >/dev/null 2>&1
}
ml_no_save() {
  return 0
}
ml_no_restore() {
  if grep -q -e '^:' -e '^-[AIN] ' 2>/dev/null; then
    echo "$ML_NO_IPTABLES" >&2
    return 1
  fi
  return 0
}
ML_NO_IPTABLES='no iptables on this host (Debian: apt-get install iptables; OpenWrt: opkg install iptables-nft ip6tables-nft, or apk add iptables-nft ip6tables-nft)'
if [ "$ML_IPTABLES" != none ]; then
  if ml_iptables_absent; then
    ML_FLAVOUR=none; ML_SAVE=ml_no_save; ML_RESTORE=ml_no_restore; ML_SAVE6=ml_no_save; ML_RESTORE6=ml_no_restore
  else
    ml_flavour || exit 90
  fi
fi

# One table as iptables-save prints it, without the comment lines (they carry a date) and
# chain counters, so the same rules always print the same bytes.
ml_save() {
  ml_o=$("$ML_SAVE" -t "$1") || return $?
  printf '%s\n' "$ml_o" | sed -e '/^#/d' -e 's/ \[[0-9]*:[0-9]*\]$//'
}
# ml_save6 TABLE: the same for IPv6 (ip6tables).
ml_save6() {
  ml_need6 || return 1
  ml_o=$("$ML_SAVE6" -t "$1") || return $?
  printf '%s\n' "$ml_o" | sed -e '/^#/d' -e 's/ \[[0-9]*:[0-9]*\]$//'
}
# ml_save_sections TABLE...: what ml_save prints for each TABLE, as the gather's sections
# `@@ML iptables TABLE`, from one iptables-save of every table (a table it does not print is
# empty): one run of the tool, not one per table. A failed save fails every section.
# ml_save_sections6 TABLE...: IPv6's, as sections `@@ML ip6tables TABLE`.
ml_save_sections() {
  ml_family_sections iptables "$ML_SAVE" "$@"
}
ml_save_sections6() {
  if ml_need6 2>/dev/null; then ml_family_sections ip6tables "$ML_SAVE6" "$@"; return; fi
  for ml_fs_t in "$@"; do
    echo "@@ML ip6tables $ml_fs_t"
    ml_need6 2>&1
    echo "@@ML-rc 1"
  done
}
ml_family_sections() {
  ml_fs_label=$1; ml_fs_save=$2; shift 2
  ml_o=$("$ml_fs_save")
  ml_rc=$?
  printf '%s\n' "$ml_o" | awk -v want="$*" -v rc="$ml_rc" -v label="$ml_fs_label" '
    BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) keep[w[i]] = 1 }
    /^#/ { next }
    /^\*/ { t = substr($0, 2) }
    t in keep { sub(/ \[[0-9]*:[0-9]*\]$/, ""); out[t] = out[t] $0 "\n" }
    END { for (i = 1; i <= n; i++) { print "@@ML " label " " w[i]; if (rc == 0) printf "%s", out[w[i]]; print "@@ML-rc " rc } }'
}
# The same with packet and byte counters (-c), for status.
ml_save_counters() {
  ml_o=$("$ML_SAVE" -c -t "$1") || return $?
  printf '%s\n' "$ml_o" | sed -e '/^#/d'
}
ml_save_counters6() {
  ml_need6 || return 1
  ml_o=$("$ML_SAVE6" -c -t "$1") || return $?
  printf '%s\n' "$ml_o" | sed -e '/^#/d'
}
# iptables-restore --noflush of a payload file, waiting at most 20 s for the xtables lock.
ml_restore() {
  "$ML_RESTORE" --noflush -w 20 < "$1"
}
# ip6tables-restore --noflush of a payload file.
ml_restore6() {
  ml_need6 || return 1
  "$ML_RESTORE6" --noflush -w 20 < "$1"
}

ml_step_failed() {
  printf '@@ML step-failed %s\n' "$1"
  printf '%s\n' "$3" | ml_body
  printf '@@ML-rc %s\n' "$2"
}
# ml_unless_fired DESCRIPTION: once the dead-man timer has fired (the file ML_FIRED exists),
# reports the step as not run and exits 3: nothing more runs, the prior state is being restored.
ml_unless_fired() {
  if [ -n "${ML_FIRED:-}" ] && [ -e "$ML_FIRED" ]; then
    ml_step_failed "$1" 124 'not run: the dead-man timer fired and restored the prior state'
    exit 3
  fi
}
# ml_step DESCRIPTION COMMAND...: runs COMMAND; if it fails, reports the step (description,
# exit code, stderr) and exits 3. Nothing runs once the dead-man timer has fired (ml_unless_fired).
ml_step() {
  ml_desc=$1; shift
  ml_unless_fired "$ml_desc"
  ml_err=$("$@" 2>&1 >/dev/null)
  ml_rc=$?
  if [ "$ml_rc" -ne 0 ]; then
    ml_step_failed "$ml_desc" "$ml_rc" "$ml_err"
    exit 3
  fi
}
# ml_ip_steps COMMANDS: `ip -4` commands (one a line, the words after `ip -4`, none of them
# quoted or holding what ip's batch reader takes apart) as steps, in one process where ip
# reads -batch (iproute2), else one by one (BusyBox ip refuses -batch before doing anything).
# A failing command is reported as ml_step reports it (`ip WORDS`, as `multilink render` names
# it, with ip's error), and nothing after it runs. ml_ip_steps6: the same with `ip -6`.
ml_ip_steps() {
  ml_ip_family_steps -4 "$1"
}
ml_ip_steps6() {
  ml_ip_family_steps -6 "$1"
}
ml_ip_family_steps() {
  ml_ipf=$1; shift
  ml_unless_fired "ip ${1%%"$ml_nl"*}"
  ml_err=$(printf '%s\n' "$1" | ip "$ml_ipf" -batch - 2>&1 >/dev/null)
  ml_rc=$?
  [ "$ml_rc" -ne 0 ] || return 0
  case $ml_err in
    *"Command failed -:"*)
      ml_ipn=${ml_err##*Command failed -:}
      ml_ipn=${ml_ipn%%[!0-9]*}
      ml_ipi=0
      while IFS= read -r ml_ipl; do
        ml_ipi=$((ml_ipi + 1))
        if [ "$ml_ipi" = "$ml_ipn" ]; then ml_step_failed "ip $ml_ipl" "$ml_rc" "${ml_err%"${ml_nl}Command failed -:"*}"; exit 3; fi
      done <<ML_IP_EOF
$1
ML_IP_EOF
      ml_step_failed "ip $ml_ipf -batch" "$ml_rc" "$ml_err"
      exit 3 ;;
    *BusyBox*|*[Uu]sage:*|*"invalid option"*|*"unrecognized option"*) ;;
    *) ml_step_failed "ip $ml_ipf -batch" "$ml_rc" "$ml_err"; exit 3 ;;
  esac
  while IFS= read -r ml_ipl; do
    set -f
    # shellcheck disable=SC2086 # the command's words (checked by multilink; globbing is off)
    set -- $ml_ipl
    set +f
    ml_step "ip $ml_ipl" ip "$ml_ipf" "$@"
  done <<ML_IP_EOF
$1
ML_IP_EOF
}
# ml_try DESCRIPTION COMMAND...: for restores: a failing step is reported and remembered
# (ml_tried_all fails afterwards), and the script goes on with the rest.
ml_try() {
  ml_desc=$1; shift
  ml_err=$("$@" 2>&1 >/dev/null)
  ml_rc=$?
  if [ "$ml_rc" -ne 0 ]; then
    ml_step_failed "$ml_desc" "$ml_rc" "$ml_err"
    ml_failed=1
  fi
  return 0
}
ml_tried_all() {
  [ "$ml_failed" = 0 ]
}

# ml_sync PATH...: PATH's data (a folder: its entries) on the disk before what follows. A rename
# that commits a file comes after it: with delayed allocation (ext4, UBIFS) a power cut can
# otherwise keep the rename and lose the data, leaving the file empty. sync takes files on
# coreutils >= 8.24 and BusyBox >= 1.26; older ones sync everything (or refuse the arguments:
# then everything is synced).
ml_sync() {
  sync -- "$@" 2>/dev/null || sync
}
# ml_write FILE: stdin to FILE, atomically (a temporary file, synced, renamed over it).
ml_write() {
  cat > "$1.tmp" && ml_sync "$1.tmp" && mv -f "$1.tmp" "$1"
}
# ml_sysctl KEY VALUE: writes VALUE to /proc/sys/KEY (KEY with '/' separators).
ml_sysctl() {
  printf '%s\n' "$2" > "/proc/sys/$1"
}
# ml_read FILE: its content, or the absent marker when it cannot be read.
ml_read() {
  if [ -r "$1" ]; then
    while IFS= read -r ml_rl || [ -n "$ml_rl" ]; do printf '%s\n' "$ml_rl"; done < "$1"
  else
    echo '@@ML-absent'
  fi
}
# ml_wait_while TENTHS COMMAND...: while COMMAND succeeds, poll every 0.1 s, at most TENTHS times.
ml_wait_while() {
  ml_n=$1; shift
  while "$@" && [ "$ml_n" -gt 0 ]; do
    sleep 0.1 2>/dev/null || sleep 1
    ml_n=$((ml_n - 1))
  done
}
# A process is named by its pid and its start time (clock ticks after boot: field 22 of
# /proc/PID/stat), so a pid the kernel has since given to another process is never taken for
# the one recorded. ml_start PID: sets ml_st to the start time of process PID; fails when it is
# gone or a zombie. No command is forked.
ml_start() {
  ml_st=
  [ -n "$1" ] || return 1
  { read -r ml_st < "/proc/$1/stat"; } 2>/dev/null || return 1
  ml_st=${ml_st##*) }
  set -f
  # shellcheck disable=SC2086 # split on purpose: the fields of /proc/PID/stat
  set -- $ml_st
  set +f
  [ "$1" != Z ] || return 1
  ml_st=${20}
}
# ml_alive PID START: process PID runs and is the one that started at START.
ml_alive() {
  ml_al_start=$2
  ml_start "$1" && [ "$ml_st" = "$ml_al_start" ]
}
# ml_record_pid FILE PID: records "PID START" in FILE, for ml_alive and ml_kill_recorded (one
# short write: a reader sees it whole or empty).
ml_record_pid() {
  ml_start "$2" || return 1
  printf '%s %s\n' "$2" "$ml_st" > "$1"
}
# ml_clock: sets ml_clock_s to the seconds since boot (the lock's clock: its records name the
# boot), or since the epoch where /proc/uptime cannot be read.
ml_clock() {
  if { read -r ml_clock_s _ < /proc/uptime; } 2>/dev/null; then ml_clock_s=${ml_clock_s%%.*}; else ml_clock_s=$(date +%s); fi
}
# ml_centis [FILE]: sets ml_cs to hundredths of a second since boot (/proc/uptime, or FILE of
# the same form, read by the shell: its arithmetic is 64 bits where awk's %d is not, so a
# router up for more than 248.5 days counts on), or since the epoch where that cannot be read.
# shellcheck disable=SC2120 # FILE: for tests; the monitor and the watchdog read /proc/uptime
ml_centis() {
  if { read -r ml_cs _ < "${1:-/proc/uptime}"; } 2>/dev/null; then
    case $ml_cs in
      *.??) ml_cs=${ml_cs%.*}${ml_cs#*.} ;;
      *.?) ml_cs=${ml_cs%.*}${ml_cs#*.}0 ;;
      *) ml_cs=${ml_cs%%.*}00 ;;
    esac
    # No leading zeros: the shell would read the number as octal.
    ml_cs=${ml_cs#"${ml_cs%%[!0]*}"}
    ml_cs=${ml_cs:-0}
  else
    ml_cs=$(($(date +%s) * 100))
  fi
}
# ml_runs_as PID START TEXT: ml_alive, and its command line holds TEXT (read by the shell, its
# NUL separators dropped or ended at: TEXT is the program's name or the start of its arguments).
ml_runs_as() {
  ml_alive "$1" "$2" || return 1
  ml_ra_cmd=
  { IFS= read -r ml_ra_cmd < "/proc/$1/cmdline"; } 2>/dev/null
  case $ml_ra_cmd in *"$3"*) return 0 ;; esac
  tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -q -F -- "$3"
}
# ml_kill_recorded FILE TEXT: TERM to the process FILE records (ml_record_pid), only while it
# is still that process (same start time) and its command line holds TEXT.
ml_kill_recorded() {
  { read -r ml_kp ml_ks < "$1"; } 2>/dev/null || return 0
  if ml_runs_as "$ml_kp" "$ml_ks" "$2"; then kill "$ml_kp" 2>/dev/null; fi
  return 0
}
# The deploy lock: epochs $ML_STATE/locks/N, each made whole at once (a folder renamed into
# place with its owner record). The newest epoch is held while it is not released and one of
# its processes (pid.* files: "PID START") runs in this boot; without /proc its lease decides.
# ml_epoch_held DIR.
ml_epoch_held() {
  [ -e "$1/released" ] && return 1
  { read -r ml_eh_boot < /proc/sys/kernel/random/boot_id; } 2>/dev/null || ml_eh_boot=
  ml_eh_lease=0; ml_eh_owner_boot=
  while read -r ml_eh_k ml_eh_v; do
    case $ml_eh_k in boot) ml_eh_owner_boot=$ml_eh_v ;; lease) ml_eh_lease=$ml_eh_v ;; esac
  done 2>/dev/null < "$1/owner" || return 1
  [ "$ml_eh_owner_boot" = "$ml_eh_boot" ] || return 1
  if [ ! -r /proc/self/stat ]; then
    ml_clock
    [ "$ml_clock_s" -lt "$ml_eh_lease" ]
    return
  fi
  for ml_eh_f in "$1"/pid.*; do
    { read -r ml_eh_p ml_eh_s < "$ml_eh_f"; } 2>/dev/null || continue
    ml_alive "$ml_eh_p" "$ml_eh_s" && return 0
  done
  return 1
}
# ml_highest DIR: sets ml_hi to the highest number that names an entry of DIR (0: none).
ml_highest() {
  ml_hi=0
  for ml_h in "$1"/*; do
    ml_h=${ml_h##*/}
    case $ml_h in ''|*[!0-9]*) continue ;; esac
    [ "$ml_h" -gt "$ml_hi" ] && ml_hi=$ml_h
  done
  return 0
}
# ml_newest_epoch: sets ml_epoch_n to the newest epoch's number in ML_STATE/locks (0: none yet).
ml_newest_epoch() {
  ml_highest "$ML_STATE/locks"
  ml_epoch_n=$ml_hi
}
# ml_owner FILE: sets ml_o_id, ml_o_holder, ml_o_planby from an epoch's owner record.
# shellcheck disable=SC2034 # ml_o_holder: read by txn-lock.sh
ml_owner() {
  ml_o_id=; ml_o_holder=; ml_o_planby=0
  while read -r ml_o_k ml_o_v; do
    case $ml_o_k in id) ml_o_id=$ml_o_v ;; holder) ml_o_holder=$ml_o_v ;; planby) ml_o_planby=$ml_o_v ;; esac
  done 2>/dev/null < "$1"
  [ -n "$ml_o_id" ]
}
# ml_overdue DIR: the epoch's holder is still waiting for its plan past its planby time (the
# plan deadline; ml_clock's seconds). Its plan is refused from then on (txn-begin.sh,
# txn-run.sh), so nothing waits on it: another deploy takes the lock, the monitor goes on.
ml_overdue() {
  ml_owner "$1/owner" || return 1
  [ -e "$ML_STATE/txn/$ml_o_id/received" ] && return 1
  ml_clock
  [ "$ml_clock_s" -gt "$ml_o_planby" ]
}
# ml_deploying: a deploy holds the lock of state folder ML_STATE now (the link monitor holds back
# its changes meanwhile). One overdue for its plan does not: failover never waits on a silent
# controller longer than its plan deadline. Once the plan was received the dead-man timer
# bounds the deploy (txn-run.sh).
ml_deploying() {
  ml_newest_epoch
  [ "$ml_epoch_n" -gt 0 ] && ml_epoch_held "$ML_STATE/locks/$ml_epoch_n" && ! ml_overdue "$ML_STATE/locks/$ml_epoch_n"
}
# ml_prune_txns: keeps the folders of the newest transactions of ML_STATE that ended (for a
# controller asking late): at eight, down to four. Run by every confirmation and by every deploy
# once it holds the lock and has settled what dead ones left (txn-begin.sh): a failed deploy's
# folder goes too, so at most eight that ended stay, whatever the outcomes.
ml_prune_txns() {
  ml_pt_n=0
  for ml_pt in "$ML_STATE"/txn/*/; do [ -d "$ml_pt" ] && ml_pt_n=$((ml_pt_n + 1)); done
  [ "$ml_pt_n" -ge 8 ] || return 0
  # shellcheck disable=SC2012 # newest first; the names are transaction ids
  ml_pt_old=$(ls -dt "$ML_STATE"/txn/*/ 2>/dev/null | sed 1,4d)
  # shellcheck disable=SC2086 # one path a line, without spaces (the state folder is checked)
  for ml_pt in $ml_pt_old; do
    ml_pt=${ml_pt%/}
    if [ -e "$ml_pt/result" ] || [ -e "$ml_pt/confirmed" ] || [ -e "$ml_pt/ended" ]; then rm -rf "$ml_pt"; fi
  done
  return 0
}
# ml_print_result FILE: a transaction's result file as a reply: its first word (restored,
# restore-failed) as the field txn, the rest of its first line as why, the other lines as
# the section restore-detail.
ml_print_result() {
  ml_field txn "$(sed -n '1s/ .*//p' "$1")"
  ml_field why "$(sed -n '1s/^[^ ]* //p' "$1")"
  echo '@@ML restore-detail'
  sed 1d "$1" | ml_body
  echo '@@ML-rc 0'
}
# ml_runs PID TEXT: whether process PID is alive and its command line contains TEXT.
ml_runs() {
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null && tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -q -- "$2"
}
