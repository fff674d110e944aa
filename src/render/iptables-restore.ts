// iptables-restore text for the ML_ chains, used with --noflush: declaring `:ML_X - [0:0]`
// creates the chain or empties an existing one (legacy and nft alike), so a payload replaces
// exactly multilink's chains and leaves everyone else's rules alone. Every payload multilink
// sends (apply, reset, the link monitor's chains) is written here.
import type { NetfilterTable } from '../model/desired.js';
import type { TableOps } from '../model/plan.js';

export function declareLine(chain: string): string {
  return `:${chain} - [0:0]`;
}

export function appendLines(chain: string, rules: readonly string[]): string[] {
  return rules.map((r) => `-A ${chain} ${r}`);
}

/** `-I CHAIN POSITION rule`. */
export function insertLine(chain: string, rule: string, position = 1): string {
  return `-I ${chain} ${position} ${rule}`;
}

export function deleteLine(chain: string, rule: string): string {
  return `-D ${chain} ${rule}`;
}

/** One table's block: `*table`, the lines, `COMMIT`. */
export function tableBlock(table: NetfilterTable, lines: readonly string[]): string {
  return [`*${table}`, ...lines, 'COMMIT'].join('\n');
}

/**
 * The payload of a plan's table operations, in the order of TableOps. Jumps are inserted at
 * position 1 last-first, so that after all `-I CHAIN 1` lines ran they stand in the order given.
 */
export function tableOpsPayload(tables: readonly TableOps[]): string {
  const blocks = tables.map((t) =>
    tableBlock(t.table, [
      ...t.declare.map(declareLine),
      ...t.unhook.map((j) => deleteLine(j.chain, j.rule)),
      ...t.fill.flatMap((c) => appendLines(c.name, c.rules)),
      ...t.drop.map((c) => `-X ${c}`),
      ...[...t.hook].reverse().map((j) => insertLine(j.chain, j.rule)),
    ]),
  );
  return blocks.length === 0 ? '' : `${blocks.join('\n')}\n`;
}

/** Replaces one chain's rules (weights, the link monitor): declare it, fill it. */
export function chainPayload(table: NetfilterTable, chain: string, rules: readonly string[]): string {
  return tableOpsPayload([{ table, declare: [chain], unhook: [], fill: [{ name: chain, rules: [...rules] }], drop: [], hook: [] }]);
}
