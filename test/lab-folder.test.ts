// Issue 24: `multilink lab` runs as root and must not trust a folder another user controls,
// follow a link planted in it, or act on a lab.json it did not write. Each scenario is
// prepared as an unprivileged user would (files chowned to nobody) and must be refused with
// nothing outside the lab touched: the "victims" are files, folders and a process of this
// test's own, standing for /etc, eth0 and pid 1.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labFolderProblem, replaceFile, writeNewFile } from '../src/lab/lab-folder.js';
import { labDown, labUp, readLab } from '../src/lab/lab.js';
import { saveManifest, type LabInfo } from '../src/lab/manifest.js';
import { isOurProcess, processRecord } from '../src/lab/sshd.js';
import { labSupport, labTempRoot, sh } from './helpers/lab.js';

const NOBODY = 65534;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot) console.warn('skipping lab folder tests: not root (they chown files to nobody)');
const support = labSupport();

function running(pid: number): boolean {
  try {
    return !/^State:\s+[ZX]/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

describe.skipIf(!isRoot)('lab folder another user controls', () => {
  let base: string;
  let victims: string;
  let sleeper: ChildProcess;
  const prefix = `lf${process.pid % 100000}`;

  beforeAll(() => {
    base = mkdtempSync(join(labTempRoot(), 'multilink-folder-'));
    victims = join(base, 'victims');
    mkdirSync(join(victims, 'etc'), { recursive: true });
    writeFileSync(join(victims, 'etc', 'shadow'), 'root:secret\n');
    mkdirSync(join(victims, 'empty'));
    // Stands for pid 1: a process of this test the forged records name.
    sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
  });

  afterAll(() => {
    if (sleeper?.pid !== undefined && running(sleeper.pid)) sleeper.kill('SIGKILL');
    if (base) rmSync(base, { recursive: true, force: true });
  });

  function victimsIntact(): void {
    expect(readFileSync(join(victims, 'etc', 'shadow'), 'utf8')).toBe('root:secret\n');
    expect(existsSync(join(victims, 'empty'))).toBe(true);
    expect(running(sleeper.pid ?? 0)).toBe(true);
    expect(running(1)).toBe(true);
  }

  function folder(name: string, uid: number, mode: number): string {
    const dir = join(base, name);
    mkdirSync(dir, { recursive: true });
    chownSync(dir, uid, uid);
    chmodSync(dir, mode);
    return dir;
  }

  const up = (dir: string): Promise<unknown> => labUp({ dir, prefix, subnet: 250, routers: 1 });

  it.each([
    ['a folder owned by another user', () => folder('owned', NOBODY, 0o755), /lab folder .*owned belongs to uid 65534, not root/],
    ['a root folder writable by others', () => folder('open', 0, 0o777), /lab folder .*open is writable by its group/],
    ['a root folder writable by its group', () => folder('group', 0, 0o770), /writable by its group/],
    ['a folder inside one owned by another user', () => join(folder('theirs', NOBODY, 0o755), 'lab'), /folder .*theirs belongs to uid 65534, not root, above lab folder/],
    ['a folder inside a world-writable one', () => join(folder('shared', 0, 0o777), 'lab'), /folder .*shared is writable by .*above lab folder/],
    ['a folder inside a sticky one another user owns', () => join(folder('their-tmp', NOBODY, 0o1777), 'lab'), /folder .*their-tmp belongs to uid 65534, not root, above lab folder/],
    [
      'a link in place of the folder',
      () => {
        const link = join(base, 'link');
        symlinkSync(folder('real', 0, 0o700), link);
        return link;
      },
      /lab folder .*link is a symbolic link/,
    ],
  ])('lab up refuses %s before touching anything', async (_what, make, message) => {
    const dir = make();
    const before = existsSync(dir) ? readdirSync(dir) : [];
    await expect(up(dir)).rejects.toThrow(message);
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual(before);
    expect(sh('ip', ['netns', 'list']).stdout).not.toContain(`${prefix}-`);
    victimsIntact();
  });

  it('a folder an OpenWrt-like router would hide under its own /run or /var is refused before anything is built', async () => {
    await expect(labUp({ dir: '/run/multilink-lab-openwrt', prefix, subnet: 250, routers: 1, openwrt: ['r1'] })).rejects.toThrow(/its lab folder \/run\/multilink-lab-openwrt must be elsewhere/);
    expect(existsSync('/run/multilink-lab-openwrt')).toBe(false);
  });

  it('above the lab a root-owned sticky folder (/tmp) is fine; a sticky folder another user owns, or a plain world-writable one, is not', () => {
    expect(labFolderProblem(join(folder('root-sticky', 0, 0o1777), 'lab'))).toBeUndefined();
    expect(labFolderProblem(join(folder('their-sticky', 65534, 0o1777), 'lab'))).toMatch(/belongs to uid 65534/);
    expect(labFolderProblem(join(folder('root-open', 0, 0o777), 'lab'))).toMatch(/root-open is writable by/);
    // The lab folder itself is never sticky-excused.
    expect(labFolderProblem(folder('lab-sticky', 0, 0o1777))).toMatch(/lab folder .* writable by/);
    expect(labFolderProblem(join(base, 'fresh'))).toBeUndefined();
  });

  it.skipIf(!support.ok)('lab up refuses a folder with a planted link, and writes nothing through it', async () => {
    const dir = folder('planted', 0, 0o700);
    // Dangling: existsSync would say no file is there.
    symlinkSync(join(victims, 'etc', 'authorized_keys'), join(dir, 'authorized_keys'));
    await expect(up(dir)).rejects.toThrow(/holds files of an earlier lab .*authorized_keys/);
    expect(existsSync(join(victims, 'etc', 'authorized_keys'))).toBe(false);
    victimsIntact();
  });

  it('new files are never written through a link; the manifest is replaced, not written through', () => {
    const dir = folder('links', 0, 0o700);
    const shadow = join(victims, 'etc', 'shadow');
    symlinkSync(shadow, join(dir, 'sshd_config'));
    expect(() => writeNewFile(join(dir, 'sshd_config'), 'PermitRootLogin yes\n')).toThrow(/EEXIST/);
    symlinkSync(shadow, join(dir, 'lab.json'));
    symlinkSync(shadow, join(dir, 'lab.json.tmp'));
    saveManifest(forged(dir, {}));
    expect(lstatSync(join(dir, 'lab.json')).isSymbolicLink()).toBe(false);
    replaceFile(join(dir, 'sshd_config'), 'Port 22\n');
    expect(readFileSync(join(dir, 'sshd_config'), 'utf8')).toBe('Port 22\n');
    victimsIntact();
  });

  function forged(dir: string, over: Partial<LabInfo>): LabInfo {
    return {
      version: 1,
      status: 'up',
      dir,
      prefix,
      subnet: 250,
      routers: [],
      namespaces: [],
      hostLinks: [],
      processes: [],
      files: [],
      dirs: [],
      trees: [],
      ...over,
    } as unknown as LabInfo;
  }

  it('lab down refuses a lab.json in a folder another user controls', async () => {
    const dir = folder('downowned', NOBODY, 0o755);
    writeFileSync(join(dir, 'lab.json'), JSON.stringify(forged(dir, { trees: [join(victims, 'etc')] })));
    await expect(labDown({ dir })).rejects.toThrow(/belongs to uid 65534/);
    victimsIntact();
  });

  it('lab down refuses a forged lab.json naming paths, links and processes that are not the lab\'s', async () => {
    const dir = folder('forged', 0, 0o700);
    const info = forged(dir, {
      trees: [join(victims, 'etc')],
      files: [join(victims, 'etc', 'shadow'), join(dir, '..', 'victims', 'etc', 'shadow')],
      dirs: [join(victims, 'empty')],
      hostLinks: [{ name: 'lo', created: true }],
      namespaces: [{ name: 'someone-else', created: true }],
      processes: [
        { pid: 1, router: 'r1', marker: '' },
        { pid: sleeper.pid ?? 0, router: 'r1', marker: '' },
      ],
    });
    writeFileSync(join(dir, 'lab.json'), JSON.stringify(info));
    const refused = labDown({ dir });
    await expect(refused).rejects.toThrow(/not written by `multilink lab up`; nothing removed/);
    await expect(labDown({ dir })).rejects.toThrow(/tree .*victims\/etc is outside/);
    await expect(labDown({ dir })).rejects.toThrow(/link lo is not named/);
    await expect(labDown({ dir })).rejects.toThrow(/process 1 cannot be the lab's/);
    expect(sh('ip', ['link', 'show', 'lo']).code).toBe(0);
    expect(readLab(dir)).toBeDefined();
    victimsIntact();
  });

  it('lab down stops only a process it can prove it started: pid, start time and marker as recorded', async () => {
    const dir = folder('proof', 0, 0o700);
    const marker = join(dir, 'server.conf');
    // $0 of the shell is the marker: it stands on the command line as a server's config does.
    const ours = spawn('sh', ['-c', 'sleep 300; :', marker], { stdio: 'ignore' });
    const pid = ours.pid ?? 0;
    try {
      const record = processRecord(pid, 'r1', marker);
      expect(record.startTime).toMatch(/^\d+$/);
      expect(isOurProcess(record)).toBe(true);
      expect(isOurProcess({ ...record, startTime: String(Number(record.startTime) + 1) })).toBe(false);
      expect(isOurProcess({ ...record, startTime: undefined })).toBe(false);
      expect(isOurProcess({ pid: sleeper.pid ?? 0, marker, startTime: record.startTime })).toBe(false);
      // Records that name the sleeper with a lab file as marker but no proof: lab down goes
      // ahead (nothing outside the folder is named) and leaves the sleeper running.
      writeFileSync(
        join(dir, 'lab.json'),
        JSON.stringify(
          forged(dir, {
            files: [marker],
            processes: [
              { pid: sleeper.pid ?? 0, router: 'r1', marker },
              { ...record, startTime: '1' },
              record,
            ],
          }),
        ),
      );
      writeFileSync(marker, '');
      await labDown({ dir });
      expect(existsSync(marker)).toBe(false);
      expect(readLab(dir)).toBeUndefined();
      for (let i = 0; i < 100 && running(pid); i++) await new Promise((r) => setTimeout(r, 20));
      expect(running(pid)).toBe(false);
      victimsIntact();
    } finally {
      if (running(pid)) ours.kill('SIGKILL');
    }
  });
});
