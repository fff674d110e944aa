// Renders ml_reset: makes everything multilink owns on a router exactly a snapshot,
// whatever state it is in now (after a failed or half-finished apply, after a reboot).
// iptables: one iptables-restore --noflush transaction that unhooks and drops whatever ML_
// chains exist at run time and recreates the snapshot's, jump rules at their old positions.
import type { NetfilterTable } from '../model/desired.js';
import { NETFILTER_TABLES } from '../model/desired.js';
import { OWNED_FILE, OWNED_LIST } from '../facts/owned.js';
import { sysctlPath, isSysctlKey } from '../facts/sysctl.js';
import { quote } from '../quote.js';
import type { OwnedSnapshot, ResetScope } from './snapshot.js';
import { heredoc, ownedFilesSteps, writeFileStep } from './script.js';
import { MONITOR_DIR, MONITOR_SCRIPT } from './monitor-script.js';
import { startMonitorLines, stopMonitorLines } from './monitor-steps.js';

/** Prints, for the live table on stdin, the lines that flush/unhook/drop every ML_ chain not kept. */
const CLEAR_AWK = `/^:ML_/ { name = substr($1, 2); print ":" name " - [0:0]"; if (index(keep, " " name " ") == 0) drop[n++] = name; next }
/^-A / && $2 !~ /^ML_/ && / -[jg] ML_/ { sub(/^-A /, "-D "); print; next }
END { for (i = 0; i < n; i++) print "-X " drop[i] }`;

function targetLines(s: OwnedSnapshot, table: NetfilterTable): string[] {
  const chains = s.chains.filter((c) => c.table === table);
  const lines = chains.map((c) => `:${c.name} - [0:0]`);
  for (const c of chains) for (const r of c.rules) lines.push(`-A ${c.name} ${r}`);
  const jumps = s.jumps.filter((j) => j.table === table);
  const placed = jumps.filter((j) => j.position !== undefined).sort((a, b) => a.position! - b.position!);
  for (const j of placed) lines.push(`-I ${j.chain} ${j.position} ${j.rule}`);
  for (const j of jumps.filter((x) => x.position === undefined).reverse()) lines.push(`-I ${j.chain} 1 ${j.rule}`);
  return lines;
}

function ruleWords(text: string): string {
  return text.split(/\s+/).filter(Boolean).map(quote).join(' ');
}

/** Shell function ml_reset; needs the flavour prelude, ml_save and ml_step defined before it. */
export function resetFunction(s: OwnedSnapshot, scope: ResetScope, stateDir: string): string {
  const ipt = quote(`${stateDir}/reset.ipt`);
  const lines: string[] = ['ml_reset() {', `  : > ${ipt}`];
  for (const table of NETFILTER_TABLES) {
    const keep = ` ${s.chains.filter((c) => c.table === table).map((c) => c.name).join(' ')} `;
    const target = targetLines(s, table).join('\n');
    const doc = heredoc(target);
    lines.push(
      `  ml_cur=$(ml_save ${table}) || return 1`,
      `  { echo '*${table}'; printf '%s\\n' "$ml_cur" | awk -v keep=${quote(keep)} ${quote(CLEAR_AWK)}`,
      ...(target ? [`    cat ${doc.open}\n${target}\n${doc.close}`] : []),
      `    echo COMMIT; } >> ${ipt}`,
    );
  }
  lines.push(`  ml_step 'iptables-restore --noflush (reset)' sh -c '"$1" --noflush -w 20 < "$2"' sh "$ML_RESTORE" ${ipt}`);
  for (const p of scope.priorities) {
    lines.push(`  ml_n=0; while [ "$ml_n" -lt 100 ] && ip -4 rule del priority ${p} 2>/dev/null; do ml_n=$((ml_n + 1)); done`);
  }
  for (const r of s.rules) lines.push(`  ml_step ${quote(`ip rule add priority ${r.priority} ${r.text}`)} ip -4 rule add priority ${r.priority} ${ruleWords(r.text)}`);
  for (const t of scope.tables) lines.push(`  ip -4 route flush table ${t} 2>/dev/null || true`);
  for (const r of s.routes) lines.push(`  ml_step ${quote(`ip route add ${r.text} table ${r.table}`)} ip -4 route add ${ruleWords(r.text)} table ${r.table}`);
  for (const x of s.sysctls) {
    if (!isSysctlKey(x.key)) throw new Error(`invalid sysctl key ${JSON.stringify(x.key)}`);
    lines.push(`  ml_step ${quote(`sysctl ${x.key}=${x.value}`)} sh -c 'printf "%s\\n" "$1" > "$2"' sh ${quote(x.value)} ${quote(sysctlPath(x.key))}`);
  }
  if (s.owned) lines.push(...ownedFilesSteps(stateDir, s.owned));
  else lines.push(`  rm -f ${quote(`${stateDir}/${OWNED_FILE}`)} ${quote(`${stateDir}/${OWNED_LIST}`)}`);
  // The monitor last, so it starts on the restored chains; its saved link states are kept.
  lines.push(...stopMonitorLines(stateDir).map((l) => `  ${l}`));
  const dir = `${stateDir}/${MONITOR_DIR}`;
  if (s.monitorScript) {
    lines.push(`  mkdir -p ${quote(dir)}`, writeFileStep(`${dir}/${MONITOR_SCRIPT}`, s.monitorScript.replace(/\n$/, ''), `write ${dir}/${MONITOR_SCRIPT}`));
    lines.push(`  ml_step 'start the link monitor' sh -c ${quote(startMonitorLines(stateDir).join('\n'))}`);
  } else {
    lines.push(`  rm -rf ${quote(dir)}`);
  }
  lines.push('}');
  return lines.join('\n');
}
