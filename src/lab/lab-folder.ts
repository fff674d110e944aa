// The lab's folder is trusted by root: sshd reads its authorized_keys, `lab down` removes what
// its lab.json lists. So it must be a folder only root can change (the rule sshd's StrictModes
// applies to the same path), and every file the lab writes is made new, never through a link.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_APPEND, O_RDONLY } = constants;

function statOf(path: string): { uid: number; mode: number; dir: boolean; link: boolean } | undefined {
  try {
    const s = lstatSync(path);
    return { uid: s.uid, mode: s.mode, dir: s.isDirectory(), link: s.isSymbolicLink() };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Why a folder that exists cannot be trusted (not root's, or writable by group or others);
 * undefined when it can. Above the lab folder a root-owned sticky folder such as /tmp is
 * trusted: others may write in it but cannot rename or remove what root made there.
 */
function untrusted(path: string, what: string, ancestor = false): string | undefined {
  const s = statOf(path);
  if (!s) return undefined;
  if (s.link) return `${what} ${path} is a symbolic link`;
  if (!s.dir) return `${what} ${path} is not a folder`;
  if (s.uid !== 0) return `${what} ${path} belongs to uid ${s.uid}, not root`;
  if (ancestor && (s.mode & 0o1000) !== 0) return undefined;
  if ((s.mode & 0o022) !== 0) return `${what} ${path} is writable by ${s.mode & 0o020 ? 'its group' : 'others'} (mode ${(s.mode & 0o7777).toString(8)})`;
  return undefined;
}

/**
 * Why `dir` cannot hold a lab: it, or a folder above it, exists and is not root's or is
 * writable by group or others (a root-owned sticky folder above it, as /tmp, is fine).
 * Links above the folder are followed (their targets are what sshd checks).
 */
export function labFolderProblem(dir: string): string | undefined {
  if (!isAbsolute(dir)) return `lab folder ${dir} must be an absolute path`;
  const own = untrusted(dir, 'lab folder');
  if (own) return `${own}: another user could change the lab run by root; use a folder only root can write`;
  let existing = dirname(dir);
  while (!statOf(existing)) existing = dirname(existing);
  const real = realpathSync(existing);
  const parts = real.split(sep).filter(Boolean);
  for (let i = parts.length; i >= 0; i--) {
    const ancestor = sep + parts.slice(0, i).join(sep);
    const bad = untrusted(ancestor, 'folder', true);
    if (bad) return `${bad}, above lab folder ${dir}: another user could swap the lab's files; use a folder whose parents only root can write`;
  }
  return undefined;
}

/** Makes the lab folder (0700) unless it exists; parents it needs are made 0755. True when made. */
export function makeLabFolder(dir: string): boolean {
  if (statOf(dir)) return false;
  mkdirSync(dirname(dir), { recursive: true, mode: 0o755 });
  mkdirSync(dir, { mode: 0o700 });
  return true;
}

/** True when path is dir itself or below it (lexically, after resolving . and ..). */
export function isUnder(path: string, dir: string, orSame = false): boolean {
  if (!isAbsolute(path)) return false;
  const rel = relative(dir, path);
  if (rel === '') return orSame;
  return !rel.startsWith('..') && !isAbsolute(rel);
}

/** Writes a new file: refused when anything (a file, a dangling link) already has its name. */
export function writeNewFile(path: string, data: string | Uint8Array, mode = 0o644): void {
  const fd = openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces a file whole: a new, uniquely named temp file beside it, renamed over it. */
export function replaceFile(path: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.${process.pid}.tmp`);
  try {
    writeNewFile(tmp, data, mode);
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // not made, or renamed already
    }
    throw err;
  }
}

/** A log file opened for appending; a link in its place is refused. */
export function openLog(path: string): number {
  return openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o644);
}

/** Reads a file that must not be a link. */
export function readNoFollow(path: string): string {
  const fd = openSync(path, O_RDONLY | O_NOFOLLOW);
  try {
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** True when something (a dangling link included) has this name. */
export function nameTaken(path: string): boolean {
  return statOf(path) !== undefined;
}
