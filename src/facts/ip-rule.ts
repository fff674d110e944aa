// Fact: the policy routing rules, from `ip -4 rule show`.
import type { LiveRule } from '../model/facts.js';
import { sh } from '../shell/sh.js';
import { boundedLines } from './gather-error.js';

export const IP_RULE_COMMAND = sh`ip -4 rule show`;
export const IP6_RULE_COMMAND = sh`ip -6 rule show`;

/**
 * iproute2 prints `[detached]` after an iif/oif name while no such device exists (a PPP link
 * between sessions): the rule's condition, not part of the rule. `ip rule del` takes the rule
 * without it.
 */
const STATUS_FLAGS = new Set(['[detached]']);

export function parseIpRules(text: string): LiveRule[] {
  const rules: LiveRule[] = [];
  for (const raw of boundedLines(text, '`ip rule show`')) {
    // Priority, colon, blank; the rest trimmed without a backtracking pattern.
    const m = /^(\d+):\s/.exec(raw);
    if (!m) continue;
    const body = raw.slice(m[0].length).trim();
    const words = body.split(/\s+/).filter((w) => !STATUS_FLAGS.has(w));
    const rule: LiveRule = { priority: Number(m[1]), text: words.join(' ') };
    const mark = /\bfwmark (0x[0-9a-f]+|\d+)(?:\/(0x[0-9a-f]+|\d+))?/.exec(body);
    if (mark) {
      rule.fwmark = Number(mark[1]);
      rule.mask = mark[2] === undefined ? 0xffffffff : Number(mark[2]);
    }
    const table = /\b(?:lookup|table) (\S+)/.exec(body);
    if (table) rule.table = table[1];
    rules.push(rule);
  }
  return rules;
}
