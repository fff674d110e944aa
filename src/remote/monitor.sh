# shellcheck shell=sh
# The link monitor: a daemon on the router using only ping, iproute2, the iptables tools and
# (when present) conntrack, all of which OpenWrt's BusyBox userland has. Every interval:
# - each link's table is checked and put back when the kernel emptied it (monitor-tables.sh);
#   a `gateway: auto` link's table follows the interface's default route in main (DHCP,
#   PPP); a link without one, without its device, or whose route cannot be put back is down;
# - with probes, each target is pinged through each link in parallel (bound to the link's
#   interface: an `oif` rule sends such sockets to the link's table, or where the router's ip
#   makes none (BusyBox) the nft table's mangle_output marks them; iputils ping also marks
#   them), and consecutive failed and good rounds take a link out and put it back. A probe
#   that has not answered ML_WAIT after the round's start is killed: it failed.
# When the set of healthy links changes it loads the balancing chain multilink precompiled
# for that set (one iptables-restore --noflush) and then deletes only the failed link's
# conntrack entries, so its flows move and nothing else is flushed. While a deploy holds the
# lock the load waits, and so does the deletion: it comes once the chain is in force.
# What it records (log, syslog, history, probe statistics) is in monitor-record.sh; how a
# round waits for its probes, bounded, in monitor-round.sh.
# Its script, pid and saved weights are in the state folder's monitor/ ($M, written when it
# starts or changes); what it rewrites every few seconds (state, probes, log, history,
# measurements) is in the run folder ML_RUN ($R, a RAM disk), so flash is not worn.
# Parameters: ML_STATE, ML_RUN, ML_TARGETS (empty: no probes), ML_QUORUM, ML_DOWN_AFTER, ML_UP_AFTER,
# ML_INTERVAL, ML_WAIT, ML_N, ML_MASK, ML_LINKS, ML_STREAM (set: sub-second probes, kept by
# monitor-stream.sh, with ML_IVL_CS and ML_TOL_CS), and monitor-record.sh's. Defined before this
# file: lib.sh, ml_link K (sets ml_name, ml_if, ml_mark, ml_table, ml_gw: fixed, none or auto,
# ml_via: the fixed gateway, ml_rpf: the interface's rp_filter), ml_probe TARGET FILE (one
# ping through link ml_k, in the background), ml_balance MASK, ml_tier MASK (the tier whose
# links share new connections), monitor-record.sh, monitor-round.sh and monitor-tables.sh.
# shellcheck disable=SC2154
S=$ML_STATE
M=$S/monitor
R=$ML_RUN

ml_mask() {
  ml_m=0; ml_k=1
  while [ "$ml_k" -le "$ML_N" ]; do
    eval "ml_u=\$up_$ml_k"
    [ "$ml_u" = 1 ] && ml_m=$((ml_m | (1 << (ml_k - 1))))
    ml_k=$((ml_k + 1))
  done
  echo "$ml_m"
}
# The state file gather and status read: `mask N`, `links A B`, `link NAME up|down SINCE`, for
# auto links `gateway NAME via G|dev|-`, and with probes `probe NAME KEY=VALUE…`.
ml_write_state() {
  {
    echo "mask $(ml_mask)"
    echo "links $ML_LINKS"
    ml_w=1
    while [ "$ml_w" -le "$ML_N" ]; do
      ml_link "$ml_w"
      ml_sb=; eval "ml_u=\$up_$ml_w; ml_s=\$since_$ml_w; ml_sb=\$sinceup_$ml_w; ml_g=\$gw_$ml_w"
      if [ "$ml_u" = 1 ]; then echo "link $ml_name up $ml_s $ml_sb"; else echo "link $ml_name down $ml_s $ml_sb"; fi
      [ "$ml_gw" = auto ] && echo "gateway $ml_name ${ml_g:--}"
      ml_w=$((ml_w + 1))
    done
    ml_probe_lines
    if [ -n "$ML_HAS6" ]; then ml_v6_state_lines; fi
  } > "$R/state.tmp" && mv -f "$R/state.tmp" "$R/state"
}
# The balancing chain's payload for the healthy-link MASK: precompiled by multilink, or with
# method adaptive computed here from the weights learnt so far.
ml_payload() {
  if [ -n "$ML_ADAPT" ]; then ml_adaptive_chain "$1"; else ml_balance "$1"; fi
}
# The balancing chain of FAMILY (4 or 6) in force, one rule a line: iptables-save's -A lines,
# or with the nft backend (ML_NFT) the rules of table inet multilink's chain as nft lists them.
ml_chain_live() {
  if [ -n "$ML_NFT" ]; then
    if [ "$1" = 6 ]; then ml_c="ML6_${ML_CHAIN#ML_}"; else ml_c=$ML_CHAIN; fi
    nft -s list chain inet multilink "$ml_c" 2>/dev/null | awk '/^\t\t/ { sub(/^\t+/, ""); print }'
  elif [ "$1" = 6 ]; then ml_save6 mangle | grep "^-A $ML_CHAIN "
  else ml_save mangle | grep "^-A $ML_CHAIN "; fi
}
# The rules a payload FILE loads, as ml_chain_live prints them.
ml_chain_want() {
  if [ -n "$ML_NFT" ]; then sed -n 's/^add rule inet multilink [A-Za-z0-9_]* //p' "$1"; else grep "^-A $ML_CHAIN " "$1"; fi
}
# ml_load_file FAMILY FILE: one transaction, nft -f or iptables-restore --noflush.
ml_load_file() {
  if [ -n "$ML_NFT" ]; then nft -f "$2"; elif [ "$1" = 6 ]; then ml_restore6 "$2"; else ml_restore "$2"; fi
}
# While a deploy holds the lock, changes wait: the deploy plans with the state it gathered.
ml_load() {
  ml_deploying && return 1
  ml_payload "$1" > "$R/balance.restore" || return 1
  ml_load_file 4 "$R/balance.restore" || return 1
  ml_flush_out "$1"
}
# Links taken out (numbers) whose conntrack entries are still to be deleted. Deleted while the
# old chain is in force, their flows would be made again at once on the dead link, by that
# chain, and stay there: so only once a chain without them is in force (ml_load).
ml_flush_links=
# ml_flush_out MASK: the chain for MASK is in force: each waiting link MASK leaves out loses its
# conntrack entries (only its own, by mark), so its UDP flows and tunnels move. Without the
# conntrack tool (ML_RESET_DOWN, the nft backend) the table's set ML_DOWN gets the marks of
# every link MASK leaves out instead: their connections' packets are rejected (ml_reset_down).
ml_flush_out() {
  if [ -n "${ML_RESET_DOWN:-}" ]; then
    ml_reset_down "$1"
  elif command -v conntrack >/dev/null 2>&1; then
    for ml_fk in $ml_flush_links; do
      [ $(( ($1 >> (ml_fk - 1)) & 1 )) = 0 ] || continue
      ml_link "$ml_fk"
      conntrack -D -m "$ml_mark/$ML_MASK" >/dev/null 2>&1
    done
  fi
  ml_flush_links=
  return 0
}
# ml_reset_down MASK: the set ML_DOWN holds the marks of the links MASK leaves out, in one
# transaction: a TCP connection made on one of them is reset at its next packet (the client
# reconnects at once, balanced onto a live link); any other (UDP) gets an ICMP port unreachable
# for each packet, so a connected socket sees an error and a new one is balanced anew. A flow
# that ignores it and keeps its port stays refused until it is silent for conntrack's timeout.
ml_reset_down() {
  ml_rd=; ml_rk=1
  while [ "$ml_rk" -le "$ML_N" ]; do
    if [ $(( ($1 >> (ml_rk - 1)) & 1 )) = 0 ]; then ml_link "$ml_rk"; ml_rd="$ml_rd${ml_rd:+, }$ml_mark"; fi
    ml_rk=$((ml_rk + 1))
  done
  {
    echo 'flush set inet multilink ML_DOWN'
    [ -z "$ml_rd" ] || echo "add element inet multilink ML_DOWN { $ml_rd }"
  } | nft -f - >/dev/null 2>&1
  return 0
}
# Whether the balancing chain in force is already the one for MASK: then it is not reloaded
# (a reload restarts the counters nth balances by).
ml_in_force() {
  ml_payload "$1" > "$R/balance.want" || return 1
  [ "$(ml_chain_live 4)" = "$(ml_chain_want "$R/balance.want")" ]
}

# --- method adaptive: weights learnt from what each link's connections carry ---------------
# $R/weights holds `weight K SHARE` per link; $R/adaptive the last measurement, for status.
# The weights are saved to $M/weights every ML_ADAPT_SAVE updates and when the monitor is
# stopped (a deploy, a reboot's TERM): a reboot resumes from them.
# Parameters: ML_ADAPT (non-empty: on), ML_ADAPT_ROUNDS (monitor rounds per update),
# ML_ADAPT_PARAMS (adaptive.awk's `param` lines), ML_ADAPT_START (`K:WEIGHT …`, the
# playbook's), ML_MARK_STEP and ML_MARK_ROOM (link k is marked k × step). Defined before this
# file: ml_adapt_static (the chain's fixed input lines), ml_adapt_program (adaptive.awk).
# Learning resumes from the last estimates (a restart, a reboot) unless the links or the
# playbook's weights changed: then it starts again from those.
ml_adapt_fits() { [ -r "$1" ] && [ "$(sed -n 's/^start //p' "$1")" = "$ML_LINKS / $ML_ADAPT_START" ]; }
ml_adapt_init() {
  ml_adapt_fits "$R/weights" && return 0
  if ml_adapt_fits "$M/weights"; then cp "$M/weights" "$R/weights" && return 0; fi
  { echo "start $ML_LINKS / $ML_ADAPT_START"; for ml_kw in $ML_ADAPT_START; do echo "weight ${ml_kw%%:*} ${ml_kw#*:}"; done; } > "$R/weights.tmp" && mv -f "$R/weights.tmp" "$R/weights"
}
ml_adapt_saved=0
ml_adapt_save() {
  [ -n "$ML_ADAPT" ] && [ -r "$R/weights" ] || return 0
  cp "$R/weights" "$M/weights.tmp" && mv -f "$M/weights.tmp" "$M/weights"
  ml_adapt_saved=0
}
ml_adaptive_chain() {
  {
    ml_adapt_static
    ml_w=1
    while [ "$ml_w" -le "$ML_N" ]; do
      eval "ml_u=\$up_$ml_w"
      # Before the first verdict every link counts as healthy.
      echo "link $ml_w weight $(sed -n "s/^weight $ml_w //p" "$R/weights") healthy $(( ($1 >> (ml_w - 1)) & 1 ))"
      ml_w=$((ml_w + 1))
    done
  } | awk -v mode=chain "$ml_awk"
}
# Bytes through a link's interface (received and sent) and the time, in hundredths of a second.
ml_bytes() {
  echo $(( $(cat "/sys/class/net/$1/statistics/rx_bytes" 2>/dev/null || echo 0) + $(cat "/sys/class/net/$1/statistics/tx_bytes" 2>/dev/null || echo 0) ))
}
# `K COUNT` for each link with connections that can carry its traffic (adaptive.awk).
ml_conns() {
  { cat /proc/net/nf_conntrack 2>/dev/null || conntrack -L 2>/dev/null; } |
    awk -v mode=conns -v step="$ML_MARK_STEP" -v room="$ML_MARK_ROOM" "$ml_awk"
}
ml_adapt_count=0
ml_samples=0
# While a round waits for its interval, the active connections per link are sampled five
# times a second into $R/conns.sum: short downloads on a fast link end between samples a
# second apart, and one count that catches them would stand for the whole second.
ml_adapt_sample_until() {
  while kill -0 "$1" 2>/dev/null; do
    ml_conns >> "$R/conns.sum"
    ml_samples=$((ml_samples + 1))
    sleep 0.2 2>/dev/null || break
  done
}
# Every ML_ADAPT_ROUNDS rounds the weights are updated with each link's rate over the period
# and its connections averaged over the samples.
ml_adapt_round() {
  ml_adapt_count=$((ml_adapt_count + 1))
  [ "$ml_adapt_count" -ge "$ML_ADAPT_ROUNDS" ] || return 0
  awk -v n="$ml_samples" '{ s[$1] += $2 } END { for (k in s) printf "%s %.2f\n", k, (n > 0 ? s[k] / n : 0) }' "$R/conns.sum" > "$R/conns"
  : > "$R/conns.sum"
  ml_samples=0
  ml_adapt_count=0
  ml_centis
  ml_t1=$ml_cs
  {
    echo "$ML_ADAPT_PARAMS"
    ml_w=1
    while [ "$ml_w" -le "$ML_N" ]; do
      ml_link "$ml_w"
      ml_b1=$(ml_bytes "$ml_if")
      ml_b0=; ml_t0=; eval "ml_b0=\${bytes_$ml_w:-}; ml_t0=\${centis_$ml_w:-}; ml_u=\$up_$ml_w"
      eval "bytes_$ml_w=$ml_b1; centis_$ml_w=$ml_t1"
      ml_rate=0
      if [ -n "$ml_b0" ] && [ "$ml_t1" -gt "$ml_t0" ]; then ml_rate=$(( (ml_b1 - ml_b0) * 100 / (ml_t1 - ml_t0) )); fi
      ml_c=$(awk -v k="$ml_w" '$1 == k { print $2 }' "$R/conns")
      echo "link $ml_w weight $(sed -n "s/^weight $ml_w //p" "$R/weights") healthy $ml_u rate $ml_rate conns ${ml_c:-0}"
      ml_w=$((ml_w + 1))
    done
  } > "$R/adaptive.in"
  { sed -n '/^start /p' "$R/weights"; awk -v mode=weights "$ml_awk" < "$R/adaptive.in"; } > "$R/weights.tmp" && mv -f "$R/weights.tmp" "$R/weights"
  ml_changed_at=$(sed -n 's/^changed //p' "$R/adaptive" 2>/dev/null)
  if ! ml_in_force "$(ml_mask)"; then
    if ml_load "$(ml_mask)"; then ml_changed_at=$(ml_now); else ml_pending=1; fi
  fi
  ml_adapt_report > "$R/adaptive.tmp" && mv -f "$R/adaptive.tmp" "$R/adaptive"
  ml_weights_event "$R/weights"
  ml_adapt_saved=$((ml_adapt_saved + 1))
  [ "$ml_adapt_saved" -ge "$ML_ADAPT_SAVE" ] && ml_adapt_save
}
# $R/adaptive, for status: when measured, when the chain in force last changed, and per link
# `link K weight LEARNT cap BYTES_PER_S rate BYTES_PER_S conns N` (what it was measured with).
ml_adapt_report() {
  echo "at $(ml_now)"
  [ -n "$ml_changed_at" ] && echo "changed $ml_changed_at"
  awk '
    { split("", f); for (i = 3; i < NF; i += 2) f[$i] = $(i + 1) }
    FNR == NR { if ($1 == "weight") { w[$2] = $3; c[$2] = $5 } next }
    $1 == "link" { printf "link %s weight %s cap %s rate %s conns %s\n", $2, w[$2], c[$2], f["rate"], f["conns"] }
  ' "$R/weights" "$R/adaptive.in"
}
# shellcheck disable=SC2034 # ml_probe reads it
if ping -V 2>&1 | grep -q iputils; then ml_iputils=1; else ml_iputils=; fi
# Where sleep takes no fraction (a BusyBox built without it), the round's bound (ml_round_wait)
# is whole seconds.
if ! sleep 0.001 2>/dev/null; then
  ml_bound_s=${ML_WAIT%%.*}
  [ "${ml_bound_s:-0}" -ge 1 ] 2>/dev/null || ml_bound_s=1
fi

( umask 077; mkdir -p "$R" ) || exit 1
# Probe answers of an earlier configuration (it may have had more targets) are not this one's.
rm -f "$R"/probe.* "$R"/probe6.* "$R"/reply.* "$R"/ping.*
echo $$ > "$M/pid"
trap 'ml_adapt_save; ml_stream_stop; rm -f "$M/pid"; exit 0' TERM INT
ml_saved=; ml_saved6=
if [ -r "$R/state" ] && [ "$(sed -n 's/^links //p' "$R/state")" = "$ML_LINKS" ]; then
  ml_saved=$(sed -n 's/^mask //p' "$R/state")
  ml_saved6=$(sed -n 's/^mask6 //p' "$R/state")
fi
ml_k=1
while [ "$ml_k" -le "$ML_N" ]; do
  ml_u=1
  case "$ml_saved" in ''|*[!0-9]*) ;; *) ml_u=$(( (ml_saved >> (ml_k - 1)) & 1 )) ;; esac
  # A link whose health the saved state gives keeps its since; the others start now.
  ml_link "$ml_k"
  ml_stamp
  # shellcheck disable=SC2034 # ml_sw and ml_su are read by the eval below
  if [ -n "$ml_saved" ] && ml_kept_since link "$ml_name" "$ml_u"; then ml_sw=$ml_ksw; ml_su=$ml_ksu; fi
  # gw_K starts unknown (-), so the first round sets the table whatever it holds.
  eval "up_$ml_k=$ml_u; fail_$ml_k=0; ok_$ml_k=0; since_$ml_k=\$ml_sw; sinceup_$ml_k=\$ml_su; gw_$ml_k=-"
  ml_k=$((ml_k + 1))
done
if [ -n "$ML_ADAPT" ]; then ml_awk=$(ml_adapt_program); ml_adapt_init; fi
if [ -n "$ML_HAS6" ]; then ml_v6_init "$ml_saved6"; fi
ml_pending=1
ml_in_force "$(ml_mask)" && ml_pending=0
# The set of the links out is the monitor's (a new table starts it empty): filled at once when
# the chain in force is already its own, else with the chain's load.
if [ "$ml_pending" = 0 ] && [ -n "${ML_RESET_DOWN:-}" ]; then ml_reset_down "$(ml_mask)"; fi
# A chain to load at the start (after a reboot, a restore, a deploy that loaded its own): the
# connections made meanwhile on links the saved state has down are deleted once it is in force.
if [ "$ml_pending" = 1 ]; then
  ml_k=1
  while [ "$ml_k" -le "$ML_N" ]; do
    eval "ml_u=\$up_$ml_k"
    [ "$ml_u" = 1 ] || ml_flush_links="$ml_flush_links $ml_k"
    ml_k=$((ml_k + 1))
  done
fi
ml_started=
# With ML_STREAM (monitor-stream.sh) the guard and the tables are kept once a second, not at
# every round: the probes alone need the interval. ml_house says when (always without it).
ml_house=1; ml_house_at=
while :; do
  # Its script gone (`multilink remove`, or a stop that missed a monitor still starting, before
  # it wrote its pid): nothing is left for it to keep.
  [ -f "$M/monitor.sh" ] || { ml_stream_stop; exit 0; }
  if [ -n "$ML_STREAM" ]; then
    ml_uptime; ml_house=0
    if [ -z "$ml_house_at" ] || [ $((ml_up - ml_house_at)) -ge 100 ]; then ml_house=1; ml_house_at=$ml_up; fi
  fi
  [ "$ml_house" = 1 ] && ml_guard
  [ "$ml_pending" = 1 ] && ml_load "$(ml_mask)" && ml_pending=0
  ml_gw_changed=0
  ml_k=1; ml_probes=
  while [ "$ml_k" -le "$ML_N" ]; do
    ml_link "$ml_k"; ml_t=0
    [ "$ml_house" = 1 ] && ml_table_keep
    for ml_target in $ML_TARGETS; do
      ml_t=$((ml_t + 1))
      if [ -n "$ML_STREAM" ]; then ml_stream_keep "4_${ml_k}_$ml_t" 4 "$ml_target"; continue; fi
      ml_probe "$ml_target" "$R/probe.$ml_k.$ml_t"
      ml_probes="$ml_probes probe.$ml_k.$ml_t:$!"
    done
    if [ -n "$ML_HAS6" ]; then ml_v6_probes; fi
    ml_k=$((ml_k + 1))
  done
  if [ -z "$ml_started" ]; then
    ml_started=1
    ml_write_state
    ml_log "monitor started (links $ML_LINKS, mask $(ml_mask))"
    ml_tier_was=$(ml_tier "$(ml_mask)")
  fi
  # The interval runs beside the probes, and a round's verdict is taken as soon as its probes
  # are back, at most ML_WAIT (less than the interval) after they started: a link is out
  # within interval × (down_after - 1) + ML_WAIT of its first failed probe.
  if [ -z "$ML_STREAM" ]; then
    sleep "$ML_INTERVAL" &
    ml_sleep=$!
    # shellcheck disable=SC2086
    ml_round_wait $ml_probes
  else
    # The verdicts are taken now; the next round comes at the earliest moment one would change.
    ml_uptime
    # shellcheck disable=SC2034 # ml_stream_link lowers it, ml_stream_sleep reads it
    ml_next=$((ml_up + ML_IVL_CS))
  fi
  ml_probes=
  ml_changed=0; ml_down=
  ml_k=1
  while [ "$ml_k" -le "$ML_N" ]; do
    ml_link "$ml_k"
    eval "ml_u=\$up_$ml_k; ml_f=\$fail_$ml_k; ml_s=\$ok_$ml_k; ml_g=\$gw_$ml_k; ml_tb=\$tb_$ml_k"
    if [ "$ml_tb" != ok ]; then
      # No device (a PPP session ended), or a table that cannot hold the link's route: its
      # connections would leave by main's default route. Down at once, with or without probes.
      ml_s=0; ml_f=$ML_DOWN_AFTER; ml_why="no device $ml_if"
      [ "$ml_tb" = broken ] && ml_why="table $ml_table cannot hold its route"
    elif [ "$ml_gw" = auto ] && [ -z "$ml_g" ]; then
      # No default route for the interface (lease lost, PPP down): down at once.
      ml_s=0; ml_f=$ML_DOWN_AFTER; ml_why="no default route on $ml_if"
    elif [ -z "$ML_TARGETS" ]; then
      ml_s=$ML_UP_AFTER; ml_f=0; ml_why="default route on $ml_if"
    elif [ -n "$ML_STREAM" ]; then
      # Lost probes in a row (counted from the last reply), and answers one after the other.
      ml_stream_link 4 "$ml_k" "$ML_TARGETS" "$ML_QUORUM"
      ml_probe_stats "$ml_k" "$ml_st" "$ml_ans" "$ml_rtt_us"
      ml_f=$ml_lost
      if [ "$ml_f" -gt 0 ]; then ml_s=0; else ml_s=$((ml_s + ml_new)); fi
      ml_why="$ml_f probes lost in a row"
      [ "$ml_f" = 0 ] && ml_why="$ml_s probes answered in a row"
    else
      ml_ok=0; ml_t=0
      for ml_target in $ML_TARGETS; do
        ml_t=$((ml_t + 1))
        [ -e "$R/probe.$ml_k.$ml_t" ] && ml_ok=$((ml_ok + 1))
      done
      ml_probe_stats "$ml_k" "$ml_t" "$ml_ok"
      if [ "$ml_ok" -ge "$ML_QUORUM" ]; then ml_s=$((ml_s + 1)); ml_f=0; else ml_f=$((ml_f + 1)); ml_s=0; fi
      ml_why="$ml_f failed rounds"
      [ "$ml_s" -gt 0 ] && ml_why="$ml_s good rounds"
    fi
    if [ "$ml_u" = 1 ] && [ "$ml_f" -ge "$ML_DOWN_AFTER" ]; then
      ml_u=0; ml_changed=1; ml_down="$ml_down $ml_k"
      ml_stamp; eval "since_$ml_k=\$ml_sw; sinceup_$ml_k=\$ml_su"
      ml_note "$ml_name" up down "$ml_why"
    elif [ "$ml_u" = 0 ] && [ "$ml_s" -ge "$ML_UP_AFTER" ]; then
      ml_u=1; ml_changed=1
      ml_stamp; eval "since_$ml_k=\$ml_sw; sinceup_$ml_k=\$ml_su"
      ml_note "$ml_name" down up "$ml_why"
    fi
    eval "up_$ml_k=$ml_u; fail_$ml_k=$ml_f; ok_$ml_k=$ml_s"
    ml_k=$((ml_k + 1))
  done
  if [ -n "$ML_HAS6" ]; then ml_v6_round; fi
  if [ "$ml_changed" = 1 ] || [ "$ml_gw_changed" = 1 ] || { [ -n "$ML_TARGETS" ] && ml_stats_due; }; then ml_write_state; fi
  [ -n "$ML_ADAPT" ] && [ "$ml_changed" = 0 ] && ml_adapt_round
  if [ "$ml_changed" = 1 ]; then
    # The failed links' connections go once the new chain is in force (now, or when a
    # deploy's lock is released: ml_load).
    ml_flush_links="$ml_flush_links $ml_down"
    if ml_load "$(ml_mask)"; then ml_pending=0; else ml_pending=1; fi
    ml_record_notes
    ml_tier_now=$(ml_tier "$(ml_mask)")
    [ "$ml_tier_now" != "$ml_tier_was" ] && ml_tier_event "$ml_tier_was" "$ml_tier_now"
    ml_tier_was=$ml_tier_now
  fi
  # Streaming: the next round comes when a lost count would grow, at most an interval on.
  [ -n "$ML_STREAM" ] && ml_stream_sleep
  [ -n "$ML_ADAPT" ] && ml_adapt_sample_until "$ml_sleep"
  wait "$ml_sleep"
done
