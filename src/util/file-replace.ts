// Rewriting a user's file in place (the inventory `weights` edits): a new, uniquely named temp
// file beside the real one (a symlinked inventory stays a symlink), with its mode and owner,
// synced and renamed over it; and a lock so that two writers (shards on one machine) take turns.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, fchownSync, fsyncSync, openSync, readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_DIRECTORY } = constants;

/** Replaces the file's content whole; the file (a link is followed) keeps its mode, owner and group. */
export function replaceFileContent(file: string, text: string): void {
  const real = realpathSync(file);
  const st = statSync(real);
  const dir = dirname(real);
  const tmp = join(dir, `.${basename(real)}.${process.pid}.${randomBytes(6).toString('hex')}.multilink-tmp`);
  const fd = openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    try {
      writeSync(fd, text);
      fchmodSync(fd, st.mode & 0o7777);
      try {
        fchownSync(fd, st.uid, st.gid);
      } catch (err) {
        // Only root may give a file away; anyone else writing it owns it already (or its group differs: kept as the system allows).
        if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, real);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // renamed already, or never made
    }
    throw err;
  }
  syncDir(dir);
}

function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, O_RDONLY | O_DIRECTORY);
    fsyncSync(fd);
  } catch {
    // a file system that cannot sync a folder: the rename is as durable as it allows
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export class FileLockedError extends Error {
  override name = 'FileLockedError';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs fn while holding FILE.multilink-lock beside the real file (made with O_EXCL, holding
 * the pid). A lock whose process is gone is taken over; a live one is waited for up to waitMs.
 */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, waitMs = 30_000): Promise<T> {
  const real = realpathSync(file);
  const lock = join(dirname(real), `.${basename(real)}.multilink-lock`);
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(lock, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder = NaN;
    try {
      holder = Number(readFileSync(lock, 'utf8').trim());
    } catch {
      continue; // released meanwhile
    }
    if (Number.isSafeInteger(holder) && holder > 0 && !alive(holder)) {
      try {
        unlinkSync(lock);
      } catch {
        // another waiter took it over first
      }
      continue;
    }
    if (Date.now() > deadline) throw new FileLockedError(`${file} is being written by another multilink (pid ${holder}, lock ${lock}): try again when it is done`);
    await sleep(50);
  }
  try {
    return await fn();
  } finally {
    try {
      unlinkSync(lock);
    } catch {
      // removed by hand
    }
  }
}
