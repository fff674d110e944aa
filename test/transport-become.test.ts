import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { wrapBecome } from '../src/transport/become.js';

describe('wrapBecome', () => {
  it('leaves the command alone without become', () => {
    expect(wrapBecome('ip rule show', false)).toBe('ip rule show');
  });

  it('wraps the whole command line in sudo -n sh -c, quoted', () => {
    expect(wrapBecome('ip rule show', true)).toBe(`sudo -n -- sh -c 'ip rule show'`);
    expect(wrapBecome(`echo 'a' && id`, true)).toBe(`sudo -n -- sh -c 'echo '\\''a'\\'' && id'`);
  });

  it('the quoted command survives a real shell unchanged', () => {
    const command = `printf '%s\\n' "$HOME" 'it''s' ; echo $((1+2)) | cat`;
    // Replace sudo by a function that just runs its arguments, to check the quoting only.
    const script = `sudo() { shift 2; "$@"; }; ${wrapBecome(command, true)}`;
    const direct = execFileSync('sh', ['-c', command], { encoding: 'utf8' });
    expect(execFileSync('sh', ['-c', script], { encoding: 'utf8' })).toBe(direct);
  });
});
