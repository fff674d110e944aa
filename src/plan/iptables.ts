// Plans the ML_ chains and the jump rules into them, table by table. Only chains named ML_*
// and the jump rules that target them are multilink's; everything else is only read, to
// detect rules that would fight over the same mark bits.
import type { Diagnostics } from '../diagnostics.js';
import type { ChainSpec, DesiredState, JumpSpec, NetfilterTable } from '../model/desired.js';
import { familyField, NETFILTER_TABLES, type Family } from '../model/desired.js';
import { familyObject } from './family.js';
import type { LiveTable } from '../model/facts.js';
import type { Change, JumpOp, TableOps } from '../model/plan.js';
import { jumpTarget } from '../facts/iptables-save.js';

export interface IptablesPlan {
  changes: Change[];
  tables: TableOps[];
}

function liveJumps(live: LiveTable): JumpOp[] {
  return live.chains
    .filter((c) => !c.name.startsWith('ML_'))
    .flatMap((c) => c.rules.filter((r) => jumpTarget(r) !== undefined).map((rule) => ({ chain: c.name, rule })));
}

/** Mark values written by a foreign rule that touch bits multilink uses. */
function markClash(rule: string, mask: number): string | undefined {
  const xmark = /-j (?:CONN)?MARK --set-xmark (0x[0-9a-f]+)\/(0x[0-9a-f]+)/.exec(rule);
  if (xmark && (Number(xmark[2]) & mask) !== 0) return `sets mark bits ${xmark[2]}`;
  const conn = /-j CONNMARK --(?:save|restore)-mark --nfmask (0x[0-9a-f]+) --ctmask (0x[0-9a-f]+)/.exec(rule);
  if (conn && ((Number(conn[1]) | Number(conn[2])) & mask) !== 0) return `copies mark bits ${conn[1]}/${conn[2]}`;
  return undefined;
}

function checkForeignMarks(desired: DesiredState, table: NetfilterTable, live: LiveTable, diags: Diagnostics, family: Family): void {
  const mask = desired.settings.markMask;
  for (const chain of live.chains) {
    if (chain.name.startsWith('ML_')) continue;
    for (const rule of chain.rules) {
      const clash = markClash(rule, mask);
      if (clash) {
        diags.error(
          `a rule multilink does not own ${clash} that overlap multilink_mark_mask 0x${mask.toString(16)}: ${family === 6 ? 'ip6tables ' : ''}-t ${table} -A ${chain.name} ${rule}`,
          { host: desired.host, detail: 'choose a multilink_mark_mask that no other rule uses' },
        );
      }
    }
  }
}

function jumpKey(j: { chain: string; rule: string }): string {
  return `${j.chain} ${j.rule}`;
}

function planTable(
  desired: DesiredState,
  table: NetfilterTable,
  live: LiveTable,
  family: Family,
): { changes: Change[]; ops?: TableOps } {
  const obj = (o: string): string => familyObject(family, o);
  const changes: Change[] = [];
  const wanted: ChainSpec[] = desired.chains.filter((c) => c.table === table);
  const liveByName = new Map(live.chains.map((c) => [c.name, c]));
  const changed = wanted.filter((c) => {
    const l = liveByName.get(c.name);
    if (!l) {
      changes.push({ kind: 'iptables', op: 'create', object: obj(`${table} ${c.name}`), expected: c.rules.join('\n') });
      return true;
    }
    if (l.rules.join('\n') !== c.rules.join('\n')) {
      changes.push({ kind: 'iptables', op: 'update', object: obj(`${table} ${c.name}`), expected: c.rules.join('\n'), actual: l.rules.join('\n') });
      return true;
    }
    return false;
  });
  const wantedNames = new Set(wanted.map((c) => c.name));
  const stale = live.chains.filter((c) => c.name.startsWith('ML_') && !wantedNames.has(c.name));
  for (const c of stale) changes.push({ kind: 'iptables', op: 'delete', object: obj(`${table} ${c.name}`), actual: c.rules.join('\n') });

  const wantedJumps: JumpSpec[] = desired.jumps.filter((j) => j.table === table);
  const remaining = new Map<string, number>();
  for (const j of liveJumps(live)) remaining.set(jumpKey(j), (remaining.get(jumpKey(j)) ?? 0) + 1);
  const missing: JumpSpec[] = [];
  for (const j of wantedJumps) {
    const n = remaining.get(jumpKey(j)) ?? 0;
    if (n > 0) remaining.set(jumpKey(j), n - 1);
    else missing.push(j);
  }
  const extra: JumpOp[] = [];
  for (const j of liveJumps(live)) {
    const n = remaining.get(jumpKey(j)) ?? 0;
    if (n > 0) {
      extra.push(j);
      remaining.set(jumpKey(j), n - 1);
    }
  }
  for (const j of missing) changes.push({ kind: 'iptables', op: 'create', object: obj(`${table} ${j.chain} ${j.rule}`), expected: `-A ${j.chain} ${j.rule}` });
  for (const j of extra) changes.push({ kind: 'iptables', op: 'delete', object: obj(`${table} ${j.chain} ${j.rule}`), actual: `-A ${j.chain} ${j.rule}` });
  if (changes.length === 0) return { changes };

  return {
    changes,
    ops: {
      table,
      ...familyField(family),
      declare: [...changed, ...stale].map((c) => c.name),
      unhook: extra,
      fill: changed.map((c) => ({ name: c.name, rules: [...c.rules] })),
      drop: stale.map((c) => c.name),
      hook: missing.map((j) => ({ chain: j.chain, rule: j.rule })),
    },
  };
}

/** One family's tables (desired holds that family's chains and jumps: plan/family.ts). */
export function planIptables(desired: DesiredState, live: Record<NetfilterTable, LiveTable>, diags: Diagnostics, family: Family = 4): IptablesPlan {
  const result: IptablesPlan = { changes: [], tables: [] };
  for (const table of NETFILTER_TABLES) {
    if (table === 'mangle') checkForeignMarks(desired, table, live[table], diags, family);
    const { changes, ops } = planTable(desired, table, live[table], family);
    result.changes.push(...changes);
    if (ops) result.tables.push(ops);
  }
  return result;
}
