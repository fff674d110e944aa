// The link monitor: a POSIX sh daemon on the router using only ping, the iptables tools
// and (when present) conntrack. Every interval it probes each target through each link in
// parallel (ping -m MARK -I IFACE, so the probe leaves through that link whatever the
// balance says), counts consecutive failures and successes per link, and when a link goes
// down or comes back it loads the balancing chain multilink precompiled for the new set of
// healthy links (one iptables-restore --noflush) and deletes only the failed link's
// conntrack entries, so its flows move and nothing else is flushed.
import { createHash } from 'node:crypto';
import type { DesiredState, MonitorSpec } from '../model/desired.js';
import type { IptablesFlavour } from '../model/facts.js';
import { SCRIPT_HEADER, flavourPrelude } from '../facts/gather.js';
import { quote } from '../quote.js';
import { isIPv4 } from '../net/ipv4.js';
import { isInterfaceName } from '../net/names.js';
import { heredoc } from './script.js';
import { hex } from '../compile/iptables-text.js';

export const MONITOR_DIR = 'monitor';
export const MONITOR_SCRIPT = 'monitor.sh';
export const MONITOR_TAG = '# multilink-monitor';

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3).replace(/\.?0+$/, '');
}

function balanceFunction(m: MonitorSpec, chain: string): string {
  const cases = Object.entries(m.balance).map(([mask, rules]) => {
    const body = ['*mangle', `:${chain} - [0:0]`, ...rules.map((r) => `-A ${chain} ${r}`), 'COMMIT'].join('\n');
    const doc = heredoc(body);
    return `    ${mask}) cat ${doc.open}\n${body}\n${doc.close}\n    ;;`;
  });
  return `ml_balance() {\n  case "$1" in\n${cases.join('\n')}\n    *) return 1 ;;\n  esac\n}`;
}

function body(d: DesiredState, flavour: IptablesFlavour): string {
  const m = d.monitor!;
  for (const t of m.targets) if (!isIPv4(t)) throw new Error(`invalid health target ${t}`);
  for (const l of m.links) if (!isInterfaceName(l.interface)) throw new Error(`invalid interface ${l.interface}`);
  const dir = `${d.settings.stateDir}/${MONITOR_DIR}`;
  const wait = seconds(Math.max(200, Math.min(1000, m.intervalMs - 150)));
  // Decimal: iputils ping -m refuses hex; conntrack takes either.
  const links = m.links.map((l) => `${l.index}) ml_name=${quote(l.name)}; ml_if=${quote(l.interface)}; ml_mark=${l.mark} ;;`).join('\n    ');
  const names = m.links.map((l) => l.name).join(' ');
  return `${SCRIPT_HEADER}
${flavourPrelude(flavour)}
M=${quote(dir)}
S=${quote(d.settings.stateDir)}
ML_TARGETS=${quote(m.targets.join(' '))}
ML_QUORUM=${m.quorum}; ML_DOWN_AFTER=${m.downAfter}; ML_UP_AFTER=${m.upAfter}
ML_INTERVAL=${seconds(m.intervalMs)}; ML_WAIT=${wait}; ML_N=${m.links.length}; ML_MASK=${hex(d.settings.markMask)}
ML_LINKS=${quote(names)}
ml_link() {
  case "$1" in
    ${links}
  esac
}
${balanceFunction(m, d.balanceChain.name)}
ml_log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $*" >> "$M/log"; }
ml_now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
ml_mask() {
  ml_m=0; ml_k=1
  while [ "$ml_k" -le "$ML_N" ]; do
    eval "ml_u=\\$up_$ml_k"; [ "$ml_u" = 1 ] && ml_m=$((ml_m | (1 << (ml_k - 1))))
    ml_k=$((ml_k + 1))
  done
  echo "$ml_m"
}
ml_write_state() {
  { echo "mask $(ml_mask)"; echo "links $ML_LINKS"
    ml_k=1
    while [ "$ml_k" -le "$ML_N" ]; do
      ml_link "$ml_k"; eval "ml_u=\\$up_$ml_k; ml_s=\\$since_$ml_k"
      if [ "$ml_u" = 1 ]; then echo "link $ml_name up $ml_s"; else echo "link $ml_name down $ml_s"; fi
      ml_k=$((ml_k + 1))
    done; } > "$M/state.tmp" && mv -f "$M/state.tmp" "$M/state"
}
# While a deploy holds the lock, changes wait: the deploy plans with the state it gathered.
ml_load() {
  [ -d "$S/lock" ] && return 1
  ml_balance "$1" > "$M/balance.restore" || return 1
  "$ML_RESTORE" --noflush -w < "$M/balance.restore"
}
echo $$ > "$M/pid"
trap 'rm -f "$M/pid"; exit 0' TERM INT
ml_k=1
ml_saved=
if [ -r "$M/state" ] && [ "$(sed -n 's/^links //p' "$M/state")" = "$ML_LINKS" ]; then ml_saved=$(sed -n 's/^mask //p' "$M/state"); fi
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
  wait $ml_pids
  ml_changed=0; ml_down=
  ml_k=1
  while [ "$ml_k" -le "$ML_N" ]; do
    ml_ok=0; ml_t=0
    for ml_target in $ML_TARGETS; do ml_t=$((ml_t + 1)); [ -e "$M/probe.$ml_k.$ml_t" ] && ml_ok=$((ml_ok + 1)); done
    eval "ml_u=\\$up_$ml_k; ml_f=\\$fail_$ml_k; ml_s=\\$ok_$ml_k"
    if [ "$ml_ok" -ge "$ML_QUORUM" ]; then ml_s=$((ml_s + 1)); ml_f=0; else ml_f=$((ml_f + 1)); ml_s=0; fi
    ml_link "$ml_k"
    if [ "$ml_u" = 1 ] && [ "$ml_f" -ge "$ML_DOWN_AFTER" ]; then
      ml_u=0; ml_changed=1; ml_down="$ml_down $ml_mark"; eval "since_$ml_k=$(ml_now)"; ml_log "link $ml_name down ($ml_f failed rounds)"
    elif [ "$ml_u" = 0 ] && [ "$ml_s" -ge "$ML_UP_AFTER" ]; then
      ml_u=1; ml_changed=1; eval "since_$ml_k=$(ml_now)"; ml_log "link $ml_name up ($ml_s good rounds)"
    fi
    eval "up_$ml_k=$ml_u; fail_$ml_k=$ml_f; ok_$ml_k=$ml_s"
    ml_k=$((ml_k + 1))
  done
  if [ "$ml_changed" = 1 ]; then
    ml_write_state
    ml_load "$(ml_mask)" && ml_pending=0 || ml_pending=1
    # Only the failed link's connections are dropped, so its UDP flows and tunnels move.
    if command -v conntrack >/dev/null 2>&1; then
      for ml_m in $ml_down; do conntrack -D -m "$ml_m/$ML_MASK" >/dev/null 2>&1; done
    fi
  fi
  wait "$ml_sleep"
done`;
}

/** The script, its second line a tag naming the content (what gather reads to detect a change). */
export function monitorScript(d: DesiredState, flavour: IptablesFlavour): string {
  const text = body(d, flavour);
  const tag = createHash('sha256').update(text).digest('hex').slice(0, 16);
  return `#!/bin/sh\n${MONITOR_TAG} ${tag}\n${text}\n`;
}

export function monitorTag(script: string): string | undefined {
  return script.split('\n')[1]?.startsWith(MONITOR_TAG) ? script.split('\n')[1].slice(MONITOR_TAG.length + 1) : undefined;
}
