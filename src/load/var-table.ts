// Variables as the inventory defines them: read from a `vars:` mapping, a host's inline
// mapping or a group_vars/host_vars file, each keeping where it was written.
import type { SourcePos } from '../model/source.js';
import { didYouMean, kindOf, type Reporter } from './report.js';
import type { VarDef, VarTable } from './template.js';
import { toJS, toPyJS, type YValue } from './yaml-source.js';

export const MULTILINK_VARS = [
  'multilink_playbooks',
  'multilink_weights',
  'multilink_state_dir',
  'multilink_run_dir',
  'multilink_known_hosts',
  'multilink_mark_mask',
  'multilink_table_base',
  'multilink_rule_priority',
  'multilink_boot',
  'multilink_iptables',
  'multilink_firewall',
] as const;

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `what` says whose vars these are, for messages ("group edge", "host_vars/r1.yaml"). */
export function readVarMap(node: YValue, what: string, r: Reporter): VarTable {
  const table: VarTable = new Map();
  if (node.kind === 'scalar' && node.value === null) return table;
  if (node.kind !== 'map') {
    r.error(`vars of ${what}: expected a mapping of name: value, got a ${kindOf(node)}`, node);
    return table;
  }
  for (const e of node.entries) {
    if (checkVarName(e.key, e.keyPos, what, r)) table.set(e.key, { name: e.key, value: e.value, keyPos: e.keyPos });
  }
  return table;
}

/** A variable name any inventory format may define: reported at `pos` when it is not one. */
export function checkVarName(name: string, pos: SourcePos, what: string, r: Reporter): boolean {
  if (!VAR_NAME.test(name)) {
    r.error(`invalid variable name '${name}' in ${what}; expected letters, digits and _, not starting with a digit`, { pos });
    return false;
  }
  if (name.startsWith('multilink_') && !(MULTILINK_VARS as readonly string[]).includes(name)) {
    r.error(`unknown multilink variable '${name}'${didYouMean(name, MULTILINK_VARS)}; expected one of ${MULTILINK_VARS.join(', ')}`, { pos });
    return false;
  }
  return true;
}

/** Later definitions win, per variable (Ansible's default hash_behaviour=replace). */
export function mergeVars(...tables: VarTable[]): VarTable {
  const out: VarTable = new Map();
  for (const t of tables) for (const [k, v] of t) out.set(k, v);
  return out;
}

export function varsToRecord(table: VarTable): { vars: Record<string, unknown>; varPos: Record<string, VarDef['keyPos']>; printedVars: () => Record<string, unknown> } {
  const vars: Record<string, unknown> = {};
  const varPos: Record<string, VarDef['keyPos']> = {};
  for (const [k, def] of table) {
    vars[k] = toJS(def.value);
    varPos[k] = def.keyPos;
  }
  const printedVars = (): Record<string, unknown> => Object.fromEntries([...table].map(([k, def]) => [k, toPyJS(def.value)]));
  return { vars, varPos, printedVars };
}
