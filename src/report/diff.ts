// Unified diffs for --diff and drift output, with jsdiff (the well-kept library for this):
// the standard `-` (live) then `+` (compiled) order every diff tool prints.
import { structuredPatch } from 'diff';

export function unifiedDiff(before: string, after: string, labelBefore: string, labelAfter: string, context = 3): string {
  if (before === after) return '';
  // Compare line lists, not files: a last line without a newline is not a difference here.
  const patch = structuredPatch(labelBefore, labelAfter, before === '' ? '' : `${before}\n`, after === '' ? '' : `${after}\n`, undefined, undefined, { context });
  if (patch.hunks.length === 0) return '';
  const out = [`--- ${labelBefore}`, `+++ ${labelAfter}`];
  for (const h of patch.hunks) {
    // As diff(1) and jsdiff's own formatPatch print it: an empty side starts at line 0.
    const start = (n: number, count: number): number => (count === 0 ? n - 1 : n);
    out.push(`@@ -${start(h.oldStart, h.oldLines)},${h.oldLines} +${start(h.newStart, h.newLines)},${h.newLines} @@`);
    out.push(...h.lines);
  }
  return out.join('\n');
}
