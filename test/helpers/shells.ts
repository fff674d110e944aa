// What router-side shell tests run under, and where they write: dash and BusyBox ash (the
// shells of Debian's and OpenWrt's routers), each `[command, ...args]`, and a scratch folder of
// the test file's own, removed after it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/** The path of a command on this machine ('' when there is none). */
export const which = (cmd: string): string => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();

/** dash and BusyBox ash, those installed; says so when one is missing. */
export function routerShells(what: string): string[][] {
  const shells = [['dash'], ['busybox', 'ash']].filter((s) => which(s[0]) !== '');
  if (shells.length < 2) console.warn(`${what}: dash or busybox missing, running under what there is`);
  return shells;
}

/** A scratch folder for this test file (removed after it); each call of the result makes a new one inside it. */
export function scratchFolders(prefix: string): () => string {
  const root = mkdtempSync(join(tmpdir(), `${prefix}-`));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  return () => {
    const d = join(root, `t${++n}`);
    mkdirSync(d);
    return d;
  };
}
