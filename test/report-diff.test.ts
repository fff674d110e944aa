// Unified diffs as every diff tool prints them: live (-) before compiled (+), 3 lines of
// context, hunks merged when their context meets.
import { describe, expect, it } from 'vitest';
import { unifiedDiff } from '../src/report/diff.js';

describe('unifiedDiff', () => {
  it('nothing when both sides are equal', () => {
    expect(unifiedDiff('a\nb', 'a\nb', 'x', 'y')).toBe('');
    expect(unifiedDiff('', '', 'x', 'y')).toBe('');
  });

  it('a changed line: - then +, with context', () => {
    expect(unifiedDiff('a\nx\nc', 'a\nb\nc', 'live', 'compiled')).toBe(['--- live', '+++ compiled', '@@ -1,3 +1,3 @@', ' a', '-x', '+b', ' c'].join('\n'));
  });

  it('creation and deletion of the whole object', () => {
    expect(unifiedDiff('', 'r1\nr2', 'live', 'compiled')).toBe(['--- live', '+++ compiled', '@@ -0,0 +1,2 @@', '+r1', '+r2'].join('\n'));
    expect(unifiedDiff('r1', '', 'live', 'compiled')).toBe(['--- live', '+++ compiled', '@@ -1,1 +0,0 @@', '-r1'].join('\n'));
  });

  it('far-apart changes in separate hunks; close ones in one', () => {
    const before = Array.from({ length: 20 }, (_, i) => `l${i}`);
    const after = [...before];
    after[1] = 'X';
    after[18] = 'Y';
    const two = unifiedDiff(before.join('\n'), after.join('\n'), 'a', 'b');
    expect(two.split('\n').filter((l) => l.startsWith('@@'))).toEqual(['@@ -1,5 +1,5 @@', '@@ -16,5 +16,5 @@']);
    after[18] = 'l18';
    after[6] = 'Z';
    const one = unifiedDiff(before.join('\n'), after.join('\n'), 'a', 'b');
    expect(one.split('\n').filter((l) => l.startsWith('@@'))).toEqual(['@@ -1,10 +1,10 @@']);
  });
});
