// Issue 23, Medium 5, run by dash and by BusyBox ash: nothing multilink commits on a router's
// disk is lost to a power cut right after. A simulated power cut (test/helpers/power-cut.sh:
// every rename reached the disk, data only if synced since it was written, other files left
// empty) is taken after each rename that commits: ml_write's (lib.sh) and the confirmation's
// (txn-confirm.sh). The boot hook (boot.sh) restores the generation current names, or, when
// current is empty, dangling or names a generation left incomplete, the newest confirmed whole
// generation. An ownership record left empty is refused by the gather, not read as "nothing".
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { snapshotFromDesired } from '../src/apply/snapshot.js';
import { generationStateScript } from '../src/apply/transaction.js';
import { DamagedOwnedError, ownedCommand, parseOwned } from '../src/facts/owned.js';
import { bootProgram, txnConfirmProgram } from '../src/remote/programs.js';
import { planHost } from '../src/plan/plan.js';
import { shellLib } from '../src/shell/lib.js';
import { sh } from '../src/shell/sh.js';
import { pristineFacts, twoLinkDesired } from './helpers/desired.js';
import { routerShells, scratchFolders } from './helpers/shells.js';

const shells = routerShells('power cut shell tests');
const fresh = scratchFolders('ml-powercut');

const HELPER = readFileSync(new URL('./helpers/power-cut.sh', import.meta.url), 'utf8');
/** The model around the shell's sync and mv (functions come before PATH, lib.sh's too). */
const WRAP = `${HELPER}
sync() { command sync "$@" || return; pc_synced "$@"; }
mv() { command mv "$@" || return; pc_renamed "$@"; }
`;
/** The last line of every generation's state.sh, which boot.sh checks. */
const GEN_END = 'ml_reset && ml_tried_all';
/** Lines of script. */
const script = (...parts: (string | false)[]): string => parts.filter((p): p is string => p !== false).join('\n');

function run(shell: string[], script: string, env: Record<string, string> = {}): { code: number | null; out: string } {
  const r = spawnSync(shell[0], [...shell.slice(1), '-c', script], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } });
  return { code: r.status, out: (r.stdout ?? '') + (r.stderr ?? '') };
}

/** A generation whose state.sh records that it ran (in $OUT), ending as every state.sh does. */
function generation(state: string, g: number, o: { confirmed?: boolean; stateSh?: string } = {}): void {
  const dir = join(state, 'generations', String(g));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'state.sh'), o.stateSh ?? `ml_reset() { echo "restored ${g}" >> "$OUT"; }\nml_tried_all() { :; }\n${GEN_END}\n`);
  writeFileSync(join(dir, 'desired.json'), '{}\n');
  writeFileSync(join(dir, 'meta.json'), '{}\n');
  if (o.confirmed !== false) writeFileSync(join(dir, 'confirmed'), '');
}

function boot(shell: string[], state: string): { restored: string; log: string; current: string } {
  const out = join(state, '..', `${state.split('/').pop()}.out`);
  rmSync(out, { force: true });
  const r = run(shell, bootProgram(state).text, { OUT: out });
  expect(r.code, r.out).toBe(0);
  return { restored: existsSync(out) ? readFileSync(out, 'utf8').trim() : 'nothing', log: r.out.trim(), current: existsSync(join(state, 'current')) ? readFileSync(join(state, 'current'), 'utf8').trim() : 'absent' };
}

/** The images a run left in `out`, in order: what each follows, and the folder. */
function images(out: string): { why: string; dir: string }[] {
  return readdirSync(out)
    .filter((f) => /^\d+$/.test(f))
    .sort((a, b) => Number(a) - Number(b))
    .map((f) => ({ why: readFileSync(join(out, `${f}.why`), 'utf8').trim(), dir: join(out, f) }));
}

describe.each(shells)('a power cut (%s)', (...shell) => {
  it('every state.sh ends with the line boot.sh checks', () => {
    const desired = twoLinkDesired();
    const ops = planHost(desired, pristineFacts()).ops;
    expect(ops).toBeDefined();
    if (!ops) return;
    expect(generationStateScript({ ops, desired, target: snapshotFromDesired(desired, ops.owned) }).text.split('\n').pop()).toBe(GEN_END);
    expect(readFileSync(new URL('../src/remote/boot.sh', import.meta.url), 'utf8')).toContain(`= '${GEN_END}' ]`);
  });

  it('boot.sh restores current; when current is empty, dangling or names an incomplete generation, the newest confirmed whole one, and says so', () => {
    const cases: { name: string; setup: (s: string) => void; restored: string; current: string; log: RegExp }[] = [
      { name: 'current whole', setup: (s) => writeFileSync(join(s, 'current'), '3\n'), restored: 'restored 3', current: '3', log: /^$/ },
      { name: 'current empty', setup: (s) => writeFileSync(join(s, 'current'), ''), restored: 'restored 3', current: '3', log: /names no generation .*restoring generation 3/ },
      { name: 'current missing', setup: () => undefined, restored: 'restored 3', current: '3', log: /current is missing: restoring generation 3/ },
      { name: 'current dangling', setup: (s) => writeFileSync(join(s, 'current'), '7\n'), restored: 'restored 3', current: '3', log: /generation 7 \(current\) is not whole .*restoring generation 3/ },
      { name: "current's state.sh empty", setup: (s) => { writeFileSync(join(s, 'current'), '3\n'); writeFileSync(join(s, 'generations/3/state.sh'), ''); }, restored: 'restored 2', current: '2', log: /generation 3 \(current\) is not whole/ },
      { name: "current's state.sh cut short", setup: (s) => { writeFileSync(join(s, 'current'), '3\n'); writeFileSync(join(s, 'generations/3/state.sh'), 'ml_reset() { echo "restored 3" >> "$OUT"; }\n'); }, restored: 'restored 2', current: '2', log: /generation 3 \(current\) is not whole/ },
      { name: "current's desired.json empty", setup: (s) => { writeFileSync(join(s, 'current'), '3\n'); writeFileSync(join(s, 'generations/3/desired.json'), ''); }, restored: 'restored 2', current: '2', log: /not whole/ },
    ];
    for (const c of cases) {
      const s = fresh();
      generation(s, 1);
      generation(s, 2);
      generation(s, 3);
      // Never confirmed (a power cut in its confirmation window): never restored by boot.
      generation(s, 4, { confirmed: false });
      c.setup(s);
      const b = boot(shell, s);
      expect({ name: c.name, restored: b.restored, current: b.current }).toEqual({ name: c.name, restored: c.restored, current: c.current });
      expect(b.log, c.name).toMatch(c.log);
    }
    // Nothing confirmed, nothing whole: nothing restored, no error.
    const none = fresh();
    generation(none, 1, { confirmed: false });
    expect(boot(shell, none).restored).toBe('nothing');
    const broken = fresh();
    generation(broken, 1, { stateSh: '' });
    writeFileSync(join(broken, 'current'), '1\n');
    const b = boot(shell, broken);
    expect(b.restored).toBe('nothing');
    expect(b.log).toMatch(/generation 1 \(current\) is not whole, and no other confirmed generation is: nothing restored/);
  });

  it('ml_write: a power cut right after its rename leaves the new content whole (and without its sync, empty)', () => {
    for (const synced of [true, false]) {
      const s = fresh();
      const out = fresh();
      writeFileSync(join(s, 'owned.json'), '{"old":1}\n');
      const r = run(
        shell,
        script(
          sh`PC_DIR=${s}; PC_OUT=${out}`.text,
          WRAP,
          shellLib('none').text,
          'pc_durable_all; : > "$PC_OUT/on"',
          !synced && 'ml_sync() { :; }',
          sh`printf '%s\\n' '{"new":1}' | ml_write ${join(s, 'owned.json')}`.text,
        ),
      );
      expect(r.code, r.out).toBe(0);
      const imgs = images(out);
      expect(imgs.map((i) => i.why)).toEqual(['owned.json']);
      expect(readFileSync(join(imgs[0].dir, 'owned.json'), 'utf8')).toBe(synced ? '{"new":1}\n' : '');
    }
  });

  it('the confirmation: a power cut right after current is renamed boots the new generation; one whose files never reached the disk falls back to the one before', () => {
    for (const genSynced of [true, false]) {
      const s = fresh();
      const out = fresh();
      generation(s, 1);
      writeFileSync(join(s, 'current'), '1\n');
      const id = 'abcdef0123456789';
      const t = join(s, 'txn', id);
      mkdirSync(t, { recursive: true });
      writeFileSync(join(t, 'gen'), '2\n');
      mkdirSync(join(s, 'locks', '1'), { recursive: true });
      writeFileSync(join(t, 'epoch'), '1\n');
      // Generation 2 as txn-run.sh leaves it: synced before it was armed (or, for the second
      // run, written after the last sync, as before issue 23).
      const before = script(sh`PC_DIR=${s}; PC_OUT=${out}`.text, WRAP, 'pc_durable_all');
      if (genSynced) generation(s, 2, { confirmed: false });
      expect(run(shell, before).code).toBe(0);
      if (!genSynced) generation(s, 2, { confirmed: false });
      const r = run(shell, script(sh`PC_DIR=${s}; PC_OUT=${out}; : > "$PC_OUT/on"`.text, WRAP, shellLib('none').text, txnConfirmProgram(s, id, 10).text));
      expect(r.code, r.out).toBe(0);
      expect(readFileSync(join(s, 'current'), 'utf8')).toBe('2\n');
      const imgs = images(out);
      expect(imgs.map((i) => i.why)).toEqual(['current']);
      expect(readFileSync(join(imgs[0].dir, 'current'), 'utf8')).toBe('2\n');
      const b = boot(shell, imgs[0].dir);
      expect(b.restored).toBe(genSynced ? 'restored 2' : 'restored 1');
      expect(b.current).toBe(genSynced ? '2' : '1');
    }
  });
});

describe('an ownership record left empty', () => {
  it('is refused by the gather, named, not read as "never applied here"', () => {
    const s = fresh();
    for (const shell of shells) {
      const cases: [Record<string, string>, string[]][] = [
        [{}, []],
        [{ 'owned.json': '{"tables":[101],"priorities":[1000]}' }, []],
        [{ 'owned.json': '', 'owned.list': 'table 101\n' }, [`${s}/owned.json`]],
        [{ 'owned.json': '{"tables":[101],"priorities":[1000]}', 'owned.list': '' }, [`${s}/owned.list`]],
        [{ 'owned.json': '', 'owned.list': '' }, [`${s}/owned.json`, `${s}/owned.list`]],
      ];
      for (const [files, empty] of cases) {
        for (const f of ['owned.json', 'owned.list']) rmSync(join(s, f), { force: true });
        for (const [f, text] of Object.entries(files)) writeFileSync(join(s, f), text);
        const r = run(shell, ownedCommand(s).text);
        expect(r.code).toBe(0);
        if (empty.length === 0) {
          expect(() => parseOwned(r.out)).not.toThrow();
          continue;
        }
        let err: unknown;
        try {
          parseOwned(r.out);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(DamagedOwnedError);
        expect((err as DamagedOwnedError).paths).toEqual(empty);
      }
    }
  });
});
