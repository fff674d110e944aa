// Fact: the policy routing rules, from `ip -4 rule show`.
import type { LiveRule } from '../model/facts.js';
import { sh } from '../shell/sh.js';

export const IP_RULE_COMMAND = sh`ip -4 rule show`;
export const IP6_RULE_COMMAND = sh`ip -6 rule show`;

export function parseIpRules(text: string): LiveRule[] {
  const rules: LiveRule[] = [];
  for (const raw of text.split('\n')) {
    const m = /^(\d+):\s+(.*?)\s*$/.exec(raw);
    if (!m) continue;
    const rule: LiveRule = { priority: Number(m[1]), text: m[2] };
    const mark = /\bfwmark (0x[0-9a-f]+|\d+)(?:\/(0x[0-9a-f]+|\d+))?/.exec(m[2]);
    if (mark) {
      rule.fwmark = Number(mark[1]);
      rule.mask = mark[2] === undefined ? 0xffffffff : Number(mark[2]);
    }
    const table = /\b(?:lookup|table) (\S+)/.exec(m[2]);
    if (table) rule.table = table[1];
    rules.push(rule);
  }
  return rules;
}
