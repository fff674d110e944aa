// A plan's operations as the commands and payloads that reach the router. Apply wraps each
// command in a step runner; `multilink render` prints the same commands and payload.
import { familyOf, type DesiredState, type Family } from '../model/desired.js';
import type { MonitorOps, PlanOps } from '../model/plan.js';
import { RunLayout, StateLayout } from '../shell/layout.js';
import { writeFile } from '../shell/lib.js';
import { sh, type Sh } from '../shell/sh.js';
import { ipCommand, routeDelFromShow, routeFlushCommand, routeReplaceWords, ruleAddWords, ruleDelFromShow } from './ip.js';
import { tableOpsPayload } from './iptables-restore.js';
import { nftOpsScript } from './nft.js';
import { monitorScript } from './monitor.js';
import { sysctlWriteCommand } from './sysctl.js';

/** One command; with a description it runs as a step (a failure stops the apply), without one it may fail. */
export interface Action {
  description?: string;
  command: Sh;
  /** Its words after `ip -4` when it is one ip command (a step that may join others in one ip process). */
  ip?: string[];
  /** 6: the ip command is `ip -6`. */
  family?: 6;
}

export interface RenderedPlan {
  modules: Action[];
  sysctls: Action[];
  /** Routes replaced first, so a table never goes empty under traffic, then stale ones removed. */
  routes: Action[];
  rules: Action[];
  /** The one iptables-restore --noflush payload ('' when iptables does not change). */
  iptables: string;
  /** The one ip6tables-restore --noflush payload ('' when ip6tables does not change). */
  ip6tables: string;
  /** The one `nft -f` transaction on table inet multilink ('' when it does not change). */
  nft: string;
  /** The nft transaction runs after iptables' (the table is removed: iptables takes over first), else before. */
  nftLast: boolean;
  monitor: Action[];
}

/** `ip -4 WORDS…` as a step, named as `multilink render` prints it, and joinable into one ip process. */
function ipStep(words: string[], family: Family = 4): Action {
  if (family === 6) return { description: `ip -6 ${words.join(' ')}`, command: ipCommand(words, 6), ip: words, family: 6 };
  return { description: `ip ${words.join(' ')}`, command: ipCommand(words), ip: words };
}

function monitorActions(ops: MonitorOps, desired: DesiredState): Action[] {
  const s = new StateLayout(desired.settings.stateDir);
  const out: Action[] = [];
  if (ops.stop || ops.remove || ops.write) out.push({ command: sh`ml_monitor_stop` });
  const run = new RunLayout(desired.settings.runDir);
  if (ops.remove) out.push({ command: sh`rm -rf ${s.monitorDir} ${run.dir}` });
  if (ops.resetState) out.push({ command: sh`rm -f ${run.monitorState}` });
  if (ops.write) {
    out.push({ command: sh`mkdir -p ${s.monitorDir}` });
    out.push({ description: `write ${s.monitorScript}`, command: writeFile(s.monitorScript, monitorScript(desired).replace(/\n$/, '')) });
  }
  if (ops.start) out.push({ description: 'start the link monitor', command: sh`ml_monitor_start` });
  return out;
}

export function renderPlan(ops: PlanOps, desired: DesiredState): RenderedPlan {
  return {
    modules: ops.modules.map((m) => ({ description: `modprobe ${m}`, command: sh`modprobe ${m}` })),
    sysctls: ops.sysctls.map((s) => ({ description: `sysctl ${s.key}=${s.value}`, command: sysctlWriteCommand(s.key, s.value) })),
    routes: [
      ...ops.routesReplace.map((r) => ipStep(routeReplaceWords(r), familyOf(r))),
      // The replace above may already have taken this route's place; what remains is checked after.
      ...ops.routesDelete.map((d) => ({ command: routeDelFromShow(d.table, d.text, familyOf(d)) })),
      ...ops.routesFlush.map((t) => ({ command: routeFlushCommand(t) })),
      ...(ops.routesFlush6 ?? []).map((t) => ({ command: routeFlushCommand(t, 6) })),
    ],
    rules: [
      ...ops.rulesDelete.map((r) => ({ command: ruleDelFromShow(r.priority, r.text, familyOf(r)) })),
      ...ops.rulesAdd.map((r) => ipStep(ruleAddWords(r), familyOf(r))),
    ],
    iptables: tableOpsPayload(ops.iptables.filter((t) => familyOf(t) === 4)),
    ip6tables: tableOpsPayload(ops.iptables.filter((t) => familyOf(t) === 6)),
    nft: ops.nft ? nftOpsScript(ops.nft) : '',
    nftLast: Boolean(ops.nft?.dropTable),
    monitor: ops.monitor ? monitorActions(ops.monitor, desired) : [],
  };
}
