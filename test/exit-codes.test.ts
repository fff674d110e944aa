// Exit codes of the fleet commands from their hosts' outcomes (SPEC: Commands).
import { describe, expect, it } from 'vitest';
import { hostRunExitCode, statusExitCode } from '../src/report/exit-codes.js';

describe('hostRunExitCode', () => {
  it.each([
    ['deploy', [], 0],
    ['deploy', ['unchanged', 'changed'], 0],
    ['deploy', ['changed', 'rolled_back'], 1],
    ['deploy', ['changed', 'failed'], 1],
    ['deploy', ['unreachable'], 1],
    ['deploy', ['changed', 'skipped'], 1],
    ['deploy --check', ['unchanged'], 0],
    ['deploy --check', ['unchanged', 'would_change'], 2],
    ['deploy --check', ['would_change', 'unreachable'], 1],
    ['weights', ['changed', 'unchanged'], 0],
    ['weights', ['changed', 'would_change'], 1],
    ['weights', ['rolled_back'], 1],
    ['rollback', ['changed'], 0],
    ['rollback', ['failed'], 1],
    ['remove', ['changed', 'unchanged'], 0],
    ['remove', ['changed', 'rolled_back'], 1],
    ['remove --check', ['unchanged'], 0],
    ['remove --check', ['unchanged', 'would_change'], 2],
    ['remove --check', ['would_change', 'failed'], 1],
  ] as const)('%s %j → %i', (command, outcomes, code) => {
    expect(hostRunExitCode(command, outcomes)).toBe(code);
  });
});

describe('statusExitCode', () => {
  it('0 when every host answered, else 1', () => {
    expect(statusExitCode(['ok', 'ok'])).toBe(0);
    expect(statusExitCode(['ok', 'unreachable'])).toBe(1);
    expect(statusExitCode(['error'])).toBe(1);
  });
});
