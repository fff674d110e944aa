// Plans the `ip rule`s at multilink's priorities. A rule at one of those priorities that
// multilink never created, or any foreign rule pointing into its tables or its mark bits,
// is a clash: reported, never overwritten.
import type { Diagnostics } from '../diagnostics.js';
import type { DesiredState, RuleSpec } from '../model/desired.js';
import type { HostFacts, LiveRule } from '../model/facts.js';
import type { Change } from '../model/plan.js';
import { ruleShowText } from '../render/ip.js';

export interface RulesPlan {
  changes: Change[];
  clashes: Change[];
  remove: number[];
  add: RuleSpec[];
}

function clash(diags: Diagnostics, host: string, live: LiveRule, summary: string, detail: string, wanted?: RuleSpec): Change {
  diags.error(summary, { host, detail, kind: 'clash' });
  return {
    kind: 'rule',
    op: 'clash',
    object: `rule ${live.priority}`,
    ...(wanted ? { expected: ruleShowText(wanted) } : {}),
    actual: live.text,
    detail: `${summary} (${detail})`,
  };
}

export function planIpRules(desired: DesiredState, facts: HostFacts, diags: Diagnostics): RulesPlan {
  const plan: RulesPlan = { changes: [], clashes: [], remove: [], add: [] };
  const owned = new Set(facts.owned?.priorities ?? []);
  const wanted = new Map(desired.rules.map((r) => [r.priority, r]));
  const ourTables = new Set(desired.routes.map((r) => String(r.table)));
  const mask = desired.settings.markMask;

  for (const r of desired.rules) {
    const live = facts.ipRules.filter((l) => l.priority === r.priority);
    const expected = ruleShowText(r);
    if (live.length === 1 && live[0].text === expected) continue;
    const foreign = live.find((l) => l.text !== expected);
    if (foreign && !owned.has(r.priority)) {
      plan.clashes.push(
        clash(diags, desired.host, foreign, `ip rule at priority ${r.priority} is not multilink's: "${foreign.text}"`, 'choose another multilink_rule_priority, or remove that rule', r),
      );
      continue;
    }
    if (live.length > 0) plan.remove.push(r.priority);
    plan.add.push(r);
    plan.changes.push({
      kind: 'rule',
      op: live.length > 0 ? 'update' : 'create',
      object: `rule ${r.priority}`,
      expected,
      ...(live.length > 0 ? { actual: live.map((l) => l.text).join('\n') } : {}),
    });
  }
  for (const p of owned) {
    if (wanted.has(p)) continue;
    const live = facts.ipRules.filter((l) => l.priority === p);
    if (live.length === 0) continue;
    plan.remove.push(p);
    plan.changes.push({ kind: 'rule', op: 'delete', object: `rule ${p}`, actual: live.map((l) => l.text).join('\n') });
  }
  for (const l of facts.ipRules) {
    if (wanted.has(l.priority) || owned.has(l.priority)) continue;
    if (l.table !== undefined && ourTables.has(l.table)) {
      plan.clashes.push(
        clash(diags, desired.host, l, `ip rule ${l.priority} "${l.text}" uses routing table ${l.table}, which multilink owns`, 'choose another multilink_table_base, or remove that rule'),
      );
    } else if (l.mask !== undefined && (l.mask & mask) !== 0 && l.fwmark !== undefined) {
      plan.clashes.push(
        clash(diags, desired.host, l, `ip rule ${l.priority} "${l.text}" matches mark bits that overlap multilink_mark_mask 0x${mask.toString(16)}`, 'choose a multilink_mark_mask that no other rule uses'),
      );
    }
  }
  return plan;
}
