// Plans the `ip rule`s at multilink's priorities. A rule at one of those priorities that is
// not of a shape multilink makes (even at a priority it owns: another tool may have added it
// since), or any foreign rule pointing into its tables or its mark bits, is a clash: reported,
// never overwritten. Rules are deleted by their full selector, so a foreign rule at the same
// priority is never taken with them.
import type { Diagnostics } from '../diagnostics.js';
import { familyField, type DesiredState, type Family, type RuleSpec } from '../model/desired.js';
import { familyObject } from './family.js';
import type { HostFacts, LiveRule } from '../model/facts.js';
import type { Change } from '../model/plan.js';
import { ruleShowText } from '../render/ip.js';

export interface RulesPlan {
  changes: Change[];
  clashes: Change[];
  /** Multilink's live rules to delete, by priority and the text `ip rule show` printed. */
  remove: { priority: number; text: string; family?: 6 }[];
  add: RuleSpec[];
}

/**
 * A rule of a shape multilink makes: `from all lookup main suppress_prefixlength 0`, `from all
 * oif DEV lookup T` into one of its tables, or `from all fwmark V/M lookup T` into one of its
 * tables or with exactly its mark mask (its own rule, pointed elsewhere since).
 */
export function isMultilinkRule(text: string, tables: ReadonlySet<string>, markMask: number): boolean {
  if (text === 'from all lookup main suppress_prefixlength 0') return true;
  const oif = /^from all oif \S+ lookup (\S+)$/.exec(text);
  if (oif) return tables.has(oif[1]);
  const mark = /^from all fwmark [^/\s]+(?:\/(\S+))? lookup (\S+)$/.exec(text);
  if (!mark) return false;
  return tables.has(mark[2]) || (mark[1] !== undefined && Number(mark[1]) >>> 0 === markMask >>> 0);
}

function clash(diags: Diagnostics, host: string, live: LiveRule, summary: string, detail: string, family: Family, wanted?: RuleSpec): Change {
  diags.error(summary, { host, detail, kind: 'clash' });
  return {
    kind: 'rule',
    op: 'clash',
    object: familyObject(family, `rule ${live.priority}`),
    ...(wanted ? { expected: ruleShowText(wanted) } : {}),
    actual: live.text,
    detail: `${summary} (${detail})`,
  };
}

/** One family's rules (plan/family.ts gives the views). */
export function planIpRules(desired: DesiredState, facts: HostFacts, diags: Diagnostics, family: Family = 4): RulesPlan {
  const plan: RulesPlan = { changes: [], clashes: [], remove: [], add: [] };
  const f = familyField(family);
  const ip = family === 6 ? 'ip -6 rule' : 'ip rule';
  const owned = new Set(facts.owned?.priorities ?? []);
  const wanted = new Map(desired.rules.map((r) => [r.priority, r]));
  const ourTables = new Set(desired.routes.map((r) => String(r.table)));
  const ours = new Set([...ourTables, ...(facts.owned?.tables ?? []).map(String)]);
  const mask = desired.settings.markMask;

  for (const r of desired.rules) {
    const live = facts.ipRules.filter((l) => l.priority === r.priority);
    const expected = ruleShowText(r);
    if (live.length === 1 && live[0].text === expected) continue;
    // Only rules of multilink's shapes are its own, even at a priority it owns.
    const foreign = live.find((l) => l.text !== expected && !(owned.has(r.priority) && isMultilinkRule(l.text, ours, mask)));
    if (foreign) {
      const since = owned.has(r.priority) ? ', which multilink uses: it appeared there since' : '';
      plan.clashes.push(
        clash(diags, desired.host, foreign, `${ip} at priority ${r.priority} is not multilink's: "${foreign.text}"${since}`, 'choose another multilink_rule_priority, or remove that rule', family, r),
      );
      continue;
    }
    for (const l of live) plan.remove.push({ priority: l.priority, text: l.text, ...f });
    plan.add.push(r);
    plan.changes.push({
      kind: 'rule',
      op: live.length > 0 ? 'update' : 'create',
      object: familyObject(family, `rule ${r.priority}`),
      expected,
      ...(live.length > 0 ? { actual: live.map((l) => l.text).join('\n') } : {}),
    });
  }
  for (const p of owned) {
    if (wanted.has(p)) continue;
    // Only its own: a foreign rule at a priority multilink no longer uses is none of its business.
    const live = facts.ipRules.filter((l) => l.priority === p && isMultilinkRule(l.text, ours, mask));
    if (live.length === 0) continue;
    for (const l of live) plan.remove.push({ priority: p, text: l.text, ...f });
    plan.changes.push({ kind: 'rule', op: 'delete', object: familyObject(family, `rule ${p}`), actual: live.map((l) => l.text).join('\n') });
  }
  for (const l of facts.ipRules) {
    if (wanted.has(l.priority) || owned.has(l.priority)) continue;
    if (l.table !== undefined && ourTables.has(l.table)) {
      plan.clashes.push(
        clash(diags, desired.host, l, `${ip} ${l.priority} "${l.text}" uses routing table ${l.table}, which multilink owns`, 'choose another multilink_table_base, or remove that rule', family),
      );
    } else if (l.mask !== undefined && (l.mask & mask) !== 0 && l.fwmark !== undefined) {
      plan.clashes.push(
        clash(diags, desired.host, l, `${ip} ${l.priority} "${l.text}" matches mark bits that overlap multilink_mark_mask 0x${mask.toString(16)}`, 'choose a multilink_mark_mask that no other rule uses', family),
      );
    }
  }
  return plan;
}
