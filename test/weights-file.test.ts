// Issue 24: `weights` rewrites the user's inventory through a unique temp file beside the real
// one (never a fixed name another user could plant a link at), keeping a symlinked inventory a
// symlink and the file's mode and owner, and under a lock a second writer waits for.
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileLockedError, replaceFileContent, withFileLock } from '../src/util/file-replace.js';

const dir = mkdtempSync(join(tmpdir(), 'multilink-weights-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

describe('replaceFileContent', () => {
  it('writes through a symlinked inventory to the real file, which keeps its mode; the link stays a link', () => {
    const real = join(dir, 'real.yaml');
    writeFileSync(real, 'old\n');
    chmodSync(real, 0o640);
    const link = join(dir, 'inventory.yaml');
    symlinkSync(real, link);
    replaceFileContent(link, 'new\n');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8')).toBe('new\n');
    expect(statSync(real).mode & 0o7777).toBe(0o640);
    expect(readdirSync(dir).filter((f) => f.includes('multilink-tmp'))).toEqual([]);
  });

  it('never writes through a link planted at the old fixed temp name', () => {
    const file = join(dir, 'planted.yaml');
    writeFileSync(file, 'a\n');
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, `${file}.multilink-tmp`);
    replaceFileContent(file, 'b\n');
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(readFileSync(file, 'utf8')).toBe('b\n');
  });

  it.skipIf(!isRoot)('keeps the owner and group (run by root on another user\'s inventory)', () => {
    const file = join(dir, 'owned.yaml');
    writeFileSync(file, 'a\n');
    chownSync(file, 65534, 65534);
    replaceFileContent(file, 'b\n');
    expect([statSync(file).uid, statSync(file).gid]).toEqual([65534, 65534]);
  });
});

describe('withFileLock', () => {
  it('a second writer waits for the first, so neither truncates the other', async () => {
    const file = join(dir, 'shared.yaml');
    writeFileSync(file, '');
    const order: string[] = [];
    const writer = (name: string, holdMs: number) =>
      withFileLock(file, async () => {
        order.push(`${name} in`);
        await new Promise((r) => setTimeout(r, holdMs));
        order.push(`${name} out`);
      });
    await Promise.all([writer('a', 150), new Promise((r) => setTimeout(r, 20)).then(() => writer('b', 0))]);
    expect(order).toEqual(['a in', 'a out', 'b in', 'b out']);
    expect(readdirSync(dir).filter((f) => f.startsWith('.shared.yaml'))).toEqual([]);
  });

  it('a lock left by a process that is gone is taken over; a live one makes the writer give up after its wait', async () => {
    const file = join(dir, 'stale.yaml');
    writeFileSync(file, '');
    const lock = join(dir, '.stale.yaml.multilink-lock');
    const gone = spawn('true');
    await new Promise((r) => gone.on('exit', r));
    writeFileSync(lock, `${gone.pid}\n`);
    await expect(withFileLock(file, async () => 'ran')).resolves.toBe('ran');
    expect(existsSync(lock)).toBe(false);
    writeFileSync(lock, `${process.ppid}\n`);
    await expect(withFileLock(file, async () => 'ran', 200)).rejects.toThrow(FileLockedError);
    rmSync(lock);
  });
});
