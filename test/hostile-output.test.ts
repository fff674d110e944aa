// Issue 24: what a router prints is read in bounded time: the prompt is looked for in the new
// output only, and a fact's lines are bounded before any regular expression sees them.
import { describe, expect, it } from 'vitest';
import { parseIpRules } from '../src/facts/ip-rule.js';
import { PromptWatch } from '../src/transport/prompt.js';

describe('PromptWatch', () => {
  it.each([
    ['at the start', ['@@P\nafter'], '', 'after'],
    ['after output', ['a\nb\n@@P\nrest\n'], 'a\nb\n', 'rest\n'],
    ['split across chunks', ['a\n@', '@', 'P', '\nr'], 'a\n', 'r'],
    ['split right after the newline', ['a\n', '@@P\n'], 'a\n', ''],
  ])('finds the prompt line %s', (_what, chunks, before, after) => {
    const watch = new PromptWatch('@@P');
    let split: ReturnType<PromptWatch['feed']>;
    for (const c of chunks) split = watch.feed(c);
    expect(split).toEqual({ before, after });
  });

  it('is not fooled by the prompt inside a line, or an incomplete one', () => {
    const watch = new PromptWatch('@@P');
    expect(watch.feed('x @@P\n')).toBeUndefined();
    expect(watch.feed('@@P')).toBeUndefined();
    expect(watch.feed('Q\n')).toBeUndefined();
  });

  it('reads 64 MB without a prompt in linear time', () => {
    const watch = new PromptWatch('@@ML-ready 1234');
    const chunk = 'flood line without a prompt\n'.repeat(2400);
    const started = performance.now();
    for (let sent = 0; sent < 64 * 1024 * 1024; sent += chunk.length) expect(watch.feed(chunk)).toBeUndefined();
    // Generous (measured: well under a second); the old search took minutes here.
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

describe('ip rule output from a hostile router', () => {
  it('a 1 MB line is refused at once, naming the line', () => {
    const text = `0:\tfrom all lookup local\n1000:\t${' '.repeat(1024 * 1024)}from all lookup 100\n`;
    const started = performance.now();
    expect(() => parseIpRules(text)).toThrow(/`ip rule show`: line 2 is 1048\d{3} characters long \(at most 4096 are read\)/);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('a long run of blanks within the bound parses in linear time, as before', () => {
    const text = `1000:\t${' '.repeat(4000)}from all fwmark 0x100/0xff00 lookup 101   \n`;
    expect(parseIpRules(text)).toEqual([{ priority: 1000, text: 'from all fwmark 0x100/0xff00 lookup 101', fwmark: 0x100, mask: 0xff00, table: '101' }]);
  });
});
