// ml_reset: makes everything multilink owns on a router exactly a snapshot, whatever state
// it is in now (after a failed or half-finished apply, after a reboot). iptables: one
// iptables-restore --noflush transaction that unhooks and drops whatever ML_ chains exist
// at run time and recreates the snapshot's, jump rules at their old positions.
import { familyOf, NETFILTER_TABLES, type Family, type NetfilterTable } from '../model/desired.js';
import type { OwnedSnapshot, ResetScope } from '../model/snapshot.js';
import { RESET_NFT_PAYLOAD, RESET_PAYLOAD, RESET_PAYLOAD6, RunLayout, StateLayout } from '../shell/layout.js';
import { lines, tryStep, writeFile } from '../shell/lib.js';
import { sh, withHeredoc, type Sh } from '../shell/sh.js';
import { appendLines, declareLine, insertLine } from './iptables-restore.js';
import { routeAddFromShow, routeFlushCommand, ruleAddFromShow, rulesClearOwned } from './ip.js';
import { ownedFileWrites } from './owned-files.js';
import { nftReplaceScript } from './nft.js';
import { sysctlWriteCommand } from './sysctl.js';

/** Prints, for the live table on stdin, the lines that empty/unhook/drop every ML_ chain not kept. */
const CLEAR_AWK = `/^:ML_/ { name = substr($1, 2); print ":" name " - [0:0]"; if (index(keep, " " name " ") == 0) drop[n++] = name; next }
/^-A / && $2 !~ /^ML_/ && / -[jg] ML_/ { sub(/^-A /, "-D "); print; next }
END { for (i = 0; i < n; i++) print "-X " drop[i] }`;

/** The snapshot's chains and jumps, the jumps inserted at their recorded positions. */
export function snapshotTableLines(s: OwnedSnapshot, table: NetfilterTable, family: Family = 4): string[] {
  const chains = s.chains.filter((c) => c.table === table && familyOf(c) === family);
  const out = chains.map((c) => declareLine(c.name));
  for (const c of chains) out.push(...appendLines(c.name, c.rules));
  const jumps = s.jumps.filter((j) => j.table === table && familyOf(j) === family);
  // Ascending: every rule before a jump's position (other people's, earlier jumps) is back by then.
  const placed = jumps.filter((j) => j.position !== undefined).sort((a, b) => a.position! - b.position!);
  for (const j of placed) out.push(insertLine(j.chain, j.rule, j.position));
  for (const j of jumps.filter((x) => x.position === undefined).reverse()) out.push(insertLine(j.chain, j.rule));
  return out;
}

/** Shell function ml_reset; needs lib.sh and the monitor control functions before it. */
/** Whether a reset to this snapshot within this scope touches IPv6 objects. */
export function resetsIpv6(s: OwnedSnapshot, scope: ResetScope): boolean {
  return Boolean(scope.ipv6 || s.owned?.ipv6 || s.chains.some((c) => c.family === 6) || s.rules.some((r) => r.family === 6) || s.routes.some((r) => r.family === 6));
}

/** The netfilter part of a reset for one family: the payload (in folder `dir`) built from the live tables, then restored. */
function netfilterReset(s: OwnedSnapshot, family: Family, dir: string): Sh[] {
  const ipt = `${dir}/${family === 6 ? RESET_PAYLOAD6 : RESET_PAYLOAD}`;
  const save = family === 6 ? sh`ml_save6` : sh`ml_save`;
  const tables = NETFILTER_TABLES.map((table) => {
    const keep = ` ${s.chains.filter((c) => c.table === table && familyOf(c) === family).map((c) => c.name).join(' ')} `;
    const target = snapshotTableLines(s, table, family).join('\n');
    return sh`ml_cur=$(${save} ${table}) || return 1
{ echo ${`*${table}`}; printf '%s\\n' "$ml_cur" | awk -v keep=${keep} ${CLEAR_AWK}
${target ? withHeredoc(sh`  cat`, target) : sh`  :`}
  echo COMMIT; } >> ${ipt}`;
  });
  const restore = family === 6 ? tryStep('ip6tables-restore --noflush (reset)', sh`ml_restore6 ${ipt}`) : tryStep('iptables-restore --noflush (reset)', sh`ml_restore ${ipt}`);
  return [sh`: > ${ipt}`, ...tables, restore];
}

/**
 * The nft part: the snapshot's table made anew in one `nft -f` (none: removed), on a router
 * that has nft; a snapshot that does not speak of nft leaves the table alone.
 */
function nftReset(s: OwnedSnapshot, dir: string): Sh[] {
  if (s.nft === undefined) return [];
  const payload = `${dir}/${RESET_NFT_PAYLOAD}`;
  return [
    sh`if command -v nft >/dev/null 2>&1; then`,
    writeFile(payload, nftReplaceScript(s.nft).replace(/\n$/, '')),
    tryStep('nft -f (reset)', sh`nft -f ${payload}`),
    sh`fi`,
  ];
}

/** Everything of the snapshot in netfilter, payloads built in `dir`: the nft table and each family's ML_ chains and jumps. */
function netfilterParts(s: OwnedSnapshot, scope: ResetScope, dir: string): Sh[] {
  const families: Family[] = resetsIpv6(s, scope) ? [4, 6] : [4];
  return [
    // The new owner of the balance first: nft before iptables is cleared, or after it is back.
    ...(s.nft ? nftReset(s, dir) : []),
    ...families.flatMap((f) => netfilterReset(s, f, dir)),
    ...(s.nft === null ? nftReset(s, dir) : []),
  ];
}

/**
 * Shell function ml_reset_netfilter: only the netfilter part of ml_reset, its payloads built
 * in `payloadDir`. The link monitor runs it (the generation's netfilter.sh) when another tool
 * flushed multilink's rules.
 */
export function netfilterResetFunction(s: OwnedSnapshot, scope: ResetScope, payloadDir: string): Sh {
  return sh`ml_reset_netfilter() {
${lines(sh`mkdir -p ${payloadDir}`, ...netfilterParts(s, scope, payloadDir))}
}`;
}

/**
 * `payloadDir`: where its iptables payloads are built (default the state folder): a
 * transaction's restore builds them in its own folder, so a restore and the boot hook's
 * generation never write the same file.
 */
export function resetFunction(s: OwnedSnapshot, scope: ResetScope, stateDir: string, runDir: string, payloadDir?: string): Sh {
  const layout = new StateLayout(stateDir);
  const payloads = payloadDir ?? layout.dir;
  const families: Family[] = resetsIpv6(s, scope) ? [4, 6] : [4];
  const monitor = s.monitorScript
    ? lines(sh`mkdir -p ${layout.monitorDir}`, tryStep(`write ${layout.monitorScript}`, writeFile(layout.monitorScript, s.monitorScript.replace(/\n$/, ''))), tryStep('start the link monitor', sh`ml_monitor_start`))
    : sh`rm -rf ${layout.monitorDir} ${new RunLayout(runDir).dir}`;
  const ip = (family: Family): string => (family === 6 ? 'ip -6' : 'ip');
  const body = lines(
    sh`mkdir -p ${layout.dir}`,
    ...netfilterParts(s, scope, payloads),
    // Its own rules only, by their full selectors: a foreign rule at one of these priorities stays.
    ...families.map((f) => rulesClearOwned(scope.priorities, scope.tables, f)),
    ...s.rules.map((r) => tryStep(`${ip(familyOf(r))} rule add priority ${r.priority} ${r.text}`, ruleAddFromShow(r.priority, r.text, familyOf(r)))),
    ...families.flatMap((f) => scope.tables.map((t) => routeFlushCommand(t, f))),
    ...s.routes.map((r) => tryStep(`${ip(familyOf(r))} route add ${r.text} table ${r.table}`, routeAddFromShow(r.table, r.text, familyOf(r)))),
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
