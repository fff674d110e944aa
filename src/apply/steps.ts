// A plan's operations as the one function, ml_apply_steps, that applies them on the router,
// in the order modules → sysctls → routes and rules → one iptables-restore → link monitor.
// A failing step reports its command, exit code and stderr, and stops.
import type { DesiredState } from '../model/desired.js';
import type { OwnedRecord } from '../model/facts.js';
import type { PlanOps } from '../model/plan.js';
import { ownedFileWrites } from '../render/owned-files.js';
import { renderPlan, type Action } from '../render/ops.js';
import { StateLayout } from '../shell/layout.js';
import { ipBatchable, ipSteps, lines, step, writeFile } from '../shell/lib.js';
import { sh, type Sh } from '../shell/sh.js';

export function ownedUnion(a: OwnedRecord | null, b: OwnedRecord): OwnedRecord {
  if (!a) return b;
  const chains = [...a.chains, ...b.chains].filter((c, i, all) => all.findIndex((d) => d.table === c.table && d.name === c.name && d.family === c.family) === i);
  return {
    tables: [...new Set([...a.tables, ...b.tables])].sort((x, y) => x - y),
    priorities: [...new Set([...a.priorities, ...b.priorities])].sort((x, y) => x - y),
    chains,
    sysctls: { ...b.sysctls, ...a.sysctls },
    ...(a.ipv6 || b.ipv6 ? { ipv6: true as const } : {}),
  };
}

function sameRecord(a: OwnedRecord, b: OwnedRecord): boolean {
  const key = (r: OwnedRecord): string =>
    JSON.stringify({ ...r, chains: [...r.chains].sort((x, y) => `${x.family ?? 4} ${x.table} ${x.name}`.localeCompare(`${y.family ?? 4} ${y.table} ${y.name}`)), sysctls: Object.entries(r.sysctls).sort() });
  return key(a) === key(b);
}

const run = (a: Action): Sh => (a.description === undefined ? a.command : step(a.description, a.command));

/**
 * Actions in order; runs of ip steps that ip's batch reader takes as they are become one
 * ml_ip_steps (one ip process for a first deploy's rules or routes, not one each).
 */
function runAll(actions: readonly Action[]): Sh[] {
  const out: Sh[] = [];
  let batch: string[][] = [];
  let family: 4 | 6 = 4;
  const flush = (): void => {
    if (batch.length > 0) out.push(ipSteps(batch, family));
    batch = [];
  };
  for (const a of actions) {
    if (a.ip && a.description !== undefined && ipBatchable(a.ip)) {
      // One batch is one family's ip process.
      if (batch.length > 0 && (a.family ?? 4) !== family) flush();
      family = a.family ?? 4;
      batch.push(a.ip);
      continue;
    }
    flush();
    out.push(run(a));
  }
  flush();
  return out;
}

export interface ApplyInput {
  ops: PlanOps;
  desired: DesiredState;
  /** Ownership record live before the apply: the intent record written first is the union. */
  ownedBefore: OwnedRecord | null;
}

/** The nft transaction: its payload written, then one `nft -f` (all of it or nothing). */
function nftSteps(payload: string, file: string): Sh[] {
  return [writeFile(file, payload.replace(/\n$/, '')), step(`nft -f ${file}`, sh`nft -f ${file}`)];
}

/** Shell function ml_apply_steps; needs lib.sh, the monitor control functions and ml_install_boot before it. */
export function applyStepsFunction({ ops, desired, ownedBefore }: ApplyInput): Sh {
  const layout = new StateLayout(desired.settings.stateDir);
  const r = renderPlan(ops, desired);
  const union = ownedUnion(ownedBefore, ops.owned);
  // Unchanged (a weight change): not written at all.
  const write = ownedBefore === null || !sameRecord(ownedBefore, ops.owned);
  // The state folder exists: the transaction holds its lock there.
  const body = lines(
    // Record the union first: if anything below fails, the next run still knows what it made.
    ...(write && !sameRecord(union, ops.owned) ? ownedFileWrites(layout.dir, union).map(run) : []),
    ...r.modules.map(run),
    ...r.sysctls.map(run),
    ...runAll(r.routes),
    ...runAll(r.rules),
    ...(r.nft && !r.nftLast ? nftSteps(r.nft, layout.nftPayload) : []),
    ...(r.iptables
      ? [writeFile(layout.iptablesPayload, r.iptables.replace(/\n$/, '')), step(`iptables-restore --noflush < ${layout.iptablesPayload}`, sh`ml_restore ${layout.iptablesPayload}`)]
      : []),
    ...(r.ip6tables
      ? [writeFile(layout.ip6tablesPayload, r.ip6tables.replace(/\n$/, '')), step(`ip6tables-restore --noflush < ${layout.ip6tablesPayload}`, sh`ml_restore6 ${layout.ip6tablesPayload}`)]
      : []),
    ...(r.nft && r.nftLast ? nftSteps(r.nft, layout.nftPayload) : []),
    ...r.monitor.map(run),
    ops.bootHook && step('install the boot hook', sh`ml_install_boot`),
    ...(write ? ownedFileWrites(layout.dir, ops.owned).map(run) : []),
    sh`ml_field applied yes`,
  );
  return sh`ml_apply_steps() {
${body}
}`;
}
