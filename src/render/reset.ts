// ml_reset: makes everything multilink owns on a router exactly a snapshot, whatever state
// it is in now (after a failed or half-finished apply, after a reboot). iptables: one
// iptables-restore --noflush transaction that unhooks and drops whatever ML_ chains exist
// at run time and recreates the snapshot's, jump rules at their old positions.
import { NETFILTER_TABLES, type NetfilterTable } from '../model/desired.js';
import type { OwnedSnapshot, ResetScope } from '../model/snapshot.js';
import { RunLayout, StateLayout } from '../shell/layout.js';
import { lines, tryStep, writeFile } from '../shell/lib.js';
import { sh, withHeredoc, type Sh } from '../shell/sh.js';
import { appendLines, declareLine, insertLine } from './iptables-restore.js';
import { routeAddFromShow, routeFlushCommand, ruleAddFromShow, rulesClearOwned } from './ip.js';
import { ownedFileWrites } from './owned-files.js';
import { sysctlWriteCommand } from './sysctl.js';

/** Prints, for the live table on stdin, the lines that empty/unhook/drop every ML_ chain not kept. */
const CLEAR_AWK = `/^:ML_/ { name = substr($1, 2); print ":" name " - [0:0]"; if (index(keep, " " name " ") == 0) drop[n++] = name; next }
/^-A / && $2 !~ /^ML_/ && / -[jg] ML_/ { sub(/^-A /, "-D "); print; next }
END { for (i = 0; i < n; i++) print "-X " drop[i] }`;

/** The snapshot's chains and jumps, the jumps inserted at their recorded positions. */
export function snapshotTableLines(s: OwnedSnapshot, table: NetfilterTable): string[] {
  const chains = s.chains.filter((c) => c.table === table);
  const out = chains.map((c) => declareLine(c.name));
  for (const c of chains) out.push(...appendLines(c.name, c.rules));
  const jumps = s.jumps.filter((j) => j.table === table);
  // Ascending: every rule before a jump's position (other people's, earlier jumps) is back by then.
  const placed = jumps.filter((j) => j.position !== undefined).sort((a, b) => a.position! - b.position!);
  for (const j of placed) out.push(insertLine(j.chain, j.rule, j.position));
  for (const j of jumps.filter((x) => x.position === undefined).reverse()) out.push(insertLine(j.chain, j.rule));
  return out;
}

/** Shell function ml_reset; needs lib.sh and the monitor control functions before it. */
export function resetFunction(s: OwnedSnapshot, scope: ResetScope, stateDir: string, runDir: string): Sh {
  const layout = new StateLayout(stateDir);
  const ipt = layout.resetPayload;
  const iptables = NETFILTER_TABLES.map((table) => {
    const keep = ` ${s.chains.filter((c) => c.table === table).map((c) => c.name).join(' ')} `;
    const target = snapshotTableLines(s, table).join('\n');
    return sh`ml_cur=$(ml_save ${table}) || return 1
{ echo ${`*${table}`}; printf '%s\\n' "$ml_cur" | awk -v keep=${keep} ${CLEAR_AWK}
${target ? withHeredoc(sh`  cat`, target) : sh`  :`}
  echo COMMIT; } >> ${ipt}`;
  });
  const monitor = s.monitorScript
    ? lines(sh`mkdir -p ${layout.monitorDir}`, tryStep(`write ${layout.monitorScript}`, writeFile(layout.monitorScript, s.monitorScript.replace(/\n$/, ''))), tryStep('start the link monitor', sh`ml_monitor_start`))
    : sh`rm -rf ${layout.monitorDir} ${new RunLayout(runDir).dir}`;
  const body = lines(
    sh`mkdir -p ${layout.dir} && : > ${ipt}`,
    ...iptables,
    tryStep('iptables-restore --noflush (reset)', sh`ml_restore ${ipt}`),
    // Its own rules only, by their full selectors: a foreign rule at one of these priorities stays.
    rulesClearOwned(scope.priorities, scope.tables),
    ...s.rules.map((r) => tryStep(`ip rule add priority ${r.priority} ${r.text}`, ruleAddFromShow(r.priority, r.text))),
    ...scope.tables.map(routeFlushCommand),
    ...s.routes.map((r) => tryStep(`ip route add ${r.text} table ${r.table}`, routeAddFromShow(r.table, r.text))),
    ...s.sysctls.map((x) => tryStep(`sysctl ${x.key}=${x.value}`, sysctlWriteCommand(x.key, x.value))),
    ...(s.owned ? ownedFileWrites(stateDir, s.owned).map((w) => tryStep(w.description, w.command)) : [sh`rm -f ${layout.owned} ${layout.ownedList}`]),
    // The monitor last, so it starts on the restored chains; its saved link states are kept.
    sh`ml_monitor_stop`,
    monitor,
  );
  return sh`ml_reset() {
${body}
}`;
}
