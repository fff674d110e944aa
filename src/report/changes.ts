// Human text for plan changes: one line each, or a unified diff with --diff.
import type { Change } from '../model/plan.js';
import { unifiedDiff } from './diff.js';

const SIGN: Record<Change['op'], string> = { create: '+', delete: '-', update: '~', clash: '!' };

export function changeLine(c: Change): string {
  // A jump rule's object already is the rule: "+ iptables mangle PREROUTING -i lan0 -j ML_MARK".
  const said = c.expected !== undefined && c.expected.startsWith('-A ') && c.object.endsWith(c.expected.slice(3));
  const detail = c.op === 'delete' || said ? '' : c.expected !== undefined && !c.expected.includes('\n') ? ` = ${c.expected}` : '';
  const was = c.actual !== undefined && !c.actual.includes('\n') && c.op === 'update' ? ` (was ${c.actual})` : '';
  return `${SIGN[c.op]} ${c.kind} ${c.object}${detail}${was}`;
}

export function changeDiff(host: string, c: Change): string {
  const label = `${host}: ${c.kind} ${c.object}`;
  return unifiedDiff(c.actual ?? '', c.expected ?? '', `${label} (live)`, `${label} (compiled)`);
}
