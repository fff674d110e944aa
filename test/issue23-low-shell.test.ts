// Issue 23's low items on the router side, run by dash and by BusyBox ash:
// §7  uptime in hundredths of a second is read by the shell (64-bit arithmetic), not by awk's
//     %d: past 248.5 days it keeps counting (BusyBox awk wraps, mawk clamps);
// §9  the restore check compares multilink's objects, not their decoration: a route's
//     `linkdown` flag, or the gateway a monitor followed in a `gateway: auto` link's table;
// §10 the boot hook holds the deploy lock (a deploy that came first is waited for) and builds
//     its reset payloads apart from a transaction's restore;
// §13 transaction folders are pruned by every deploy that takes the lock, not only by
//     confirmations: failed deploys leave at most eight that ended.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scopeOf, snapshotFromDesired, snapshotFromFacts } from '../src/apply/snapshot.js';
import { generationStateScript, restoreScript } from '../src/apply/transaction.js';
import { compileHost } from '../src/compile/desired-state.js';
import { gatherRequest } from '../src/facts/gather-request.js';
import { filterFunction } from '../src/facts/gather.js';
import { planHost } from '../src/plan/plan.js';
import { followedTables, monitorScript } from '../src/render/monitor.js';
import { bootProgram, txnBeginProgram, txnLockLib } from '../src/remote/programs.js';
import { StateLayout } from '../src/shell/layout.js';
import { shellLib } from '../src/shell/lib.js';
import { sh } from '../src/shell/sh.js';
import { hostConfig, link } from './fixtures/render/host-config.js';
import { pristineFacts, twoLinkDesired } from './helpers/desired.js';
import { routerShells, scratchFolders } from './helpers/shells.js';

const shells = routerShells('issue 23 low shell tests');
const fresh = scratchFolders('ml-i23low');

function run(shell: string[], script: string, input = ''): { code: number | null; out: string } {
  const r = spawnSync(shell[0], [...shell.slice(1), '-c', script], { encoding: 'utf8', timeout: 30_000, input });
  return { code: r.status, out: (r.stdout ?? '') + (r.stderr ?? '') };
}

describe('issue 23 §9: the tables a monitor follows', () => {
  it('are read from its script: gateway auto (IPv4) and gateway6 auto (IPv6) links, no others', () => {
    const cfg = hostConfig({
      links: [link('dsl', 1, 1), link('cable', 2, 1, { gateway: 'auto', gateway6: 'auto' }), link('lte', 3, 1, { gateway: 'none', gateway6: 'auto' })],
      health: { targets: ['198.51.100.1'], intervalMs: 1000, downAfter: 3, upAfter: 3, quorum: 1 },
    });
    expect(followedTables(monitorScript(compileHost(cfg)))).toEqual(['4:102', '6:102', '6:103']);
    expect(followedTables(null)).toEqual([]);
  });
});

describe('issue 23 §10: a restore and the generation build their reset payloads apart', () => {
  it("restore.sh builds them in its transaction's folder, state.sh in the state folder", () => {
    const desired = twoLinkDesired();
    const facts = pristineFacts();
    const ops = planHost(desired, facts).ops;
    expect(ops).toBeDefined();
    if (!ops) return;
    const target = snapshotFromDesired(desired, ops.owned);
    const scope = scopeOf(target);
    const id = '0123456789abcdef';
    const layout = new StateLayout(desired.settings.stateDir);
    const restore = restoreScript({ id, priorGather: '', req: gatherRequest(desired), ops, desired, ownedBefore: null, prior: snapshotFromFacts(facts, scope, []), target, scope, meta: {}, confirmTimeoutS: 60 }).text;
    expect(restore).toContain(`${layout.txnDir(id)}/reset.ipt`);
    expect(restore).not.toContain(`${layout.dir}/reset.ipt`);
    expect(generationStateScript({ ops, desired, target }).text).toContain(`${layout.dir}/reset.ipt`);
  });
});

describe.each(shells)('issue 23 low items (%s)', (...shell) => {
  it('§7: ml_centis reads uptime in the shell, past 248.5 days too', () => {
    const d = fresh();
    const cases: [string, number][] = [
      ['21474836.48 100.00', 2147483648],
      ['30000000.05 100.00', 3000000005],
      ['123.4 1.00', 12340],
      ['0.07 0.00', 7],
      ['5 0.00', 500],
    ];
    for (const [uptime, want] of cases) {
      const f = join(d, 'uptime');
      writeFileSync(f, `${uptime}\n`);
      const r = run(shell, `${shellLib('none').text}\nml_centis ${f}; echo "$ml_cs"; echo $((ml_cs + 100))`);
      expect(r.code, r.out).toBe(0);
      expect(r.out.trim().split('\n').map(Number), uptime).toEqual([want, want + 100]);
    }
    // Without the file: seconds since the epoch, in hundredths.
    const r = run(shell, `${shellLib('none').text}\nml_centis ${join(d, 'absent')}; echo "$ml_cs"`);
    expect(Math.abs(Number(r.out.trim()) / 100 - Date.now() / 1000)).toBeLessThan(5);
    // The monitor's clocks are that one (no awk %d on /proc/uptime left, in the monitor or the
    // sub-second probes' stream, whose ml_uptime is ml_centis).
    for (const f of ['monitor.sh', 'monitor-stream.sh']) {
      const text = readFileSync(new URL(`../src/remote/${f}`, import.meta.url), 'utf8');
      expect(text, f).not.toMatch(/awk[^\n]*\/proc\/uptime|\/proc\/uptime[^\n]*awk/);
      expect(text, f).not.toMatch(/read -r \S+ _ < \/proc\/uptime/);
    }
  });

  it('§9: the restore check ignores route state flags and followed gateways, not a route or a fixed gateway', () => {
    const d = fresh();
    // Under BusyBox ash, BusyBox's awk too (as on OpenWrt).
    const awk = shell[0] === 'busybox' ? 'awk() { busybox awk "$@"; }' : '';
    const filter = filterFunction({ priorities: [1000, 1001], tables: [101, 102] }, ['4:102', '6:102']).text;
    const gather = (t101: string, t102: string, t102v6: string): string =>
      ['@@ML route 101', t101, '@@ML-rc 0', '@@ML route 102', t102, '@@ML-rc 0', '@@ML route6 102', t102v6, '@@ML-rc 0', '@@ML sysctl net/ipv4/ip_forward', '1', '@@ML-rc 0', ''].join('\n');
    const prior = gather('default via 100.64.1.1 dev wan1 ', 'default via 100.64.2.1 dev wan2 ', 'default via fe80::1 dev wan2 metric 1024 pref medium');
    writeFileSync(join(d, 'prior'), prior);
    const same = (live: string): boolean => {
      writeFileSync(join(d, 'live'), live);
      const r = run(shell, `${awk}\n${filter}\n[ "$(ml_filter < '${d}/live')" = "$(ml_filter < '${d}/prior')" ] && echo same || echo differ`);
      expect(r.code, r.out).toBe(0);
      return r.out.trim() === 'same';
    };
    expect(same(prior)).toBe(true);
    // A cable out (linkdown), and DHCP/RA gave wan2 new gateways the monitor followed.
    expect(same(gather('default via 100.64.1.1 dev wan1 linkdown ', 'default via 100.64.2.9 dev wan2 linkdown', 'default via fe80::2 dev wan2 metric 1024 pref medium'))).toBe(true);
    // What the restore owns still counts: a fixed gateway, a missing route, another device, a sysctl.
    expect(same(gather('default via 100.64.1.9 dev wan1', 'default via 100.64.2.1 dev wan2', 'default via fe80::1 dev wan2 metric 1024 pref medium'))).toBe(false);
    expect(same(gather('', 'default via 100.64.2.1 dev wan2', 'default via fe80::1 dev wan2 metric 1024 pref medium'))).toBe(false);
    expect(same(gather('default via 100.64.1.1 dev wan1', 'default via 100.64.2.1 dev wan3', 'default via fe80::1 dev wan2 metric 1024 pref medium'))).toBe(false);
    expect(same(gather('default via 100.64.1.1 dev wan1', 'default via 100.64.2.1 dev wan2', ''))).toBe(false);
    expect(same(prior.replace('ip_forward\n1', 'ip_forward\n0'))).toBe(false);
  });

  it('§10: the boot hook waits for a deploy that holds the lock, restores what is current then, and releases its own', async () => {
    const s = fresh();
    const out = join(s, 'ran');
    for (const g of [1, 2]) {
      const dir = join(s, 'generations', String(g));
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'state.sh'), `ml_reset() { echo "restored ${g}" >> '${out}'; }\nml_tried_all() { :; }\nml_reset && ml_tried_all\n`);
      writeFileSync(join(dir, 'desired.json'), '{}\n');
      writeFileSync(join(dir, 'confirmed'), '');
    }
    writeFileSync(join(s, 'current'), '1\n');
    // A deploy that came before the hook ran: its lock, its plan received, its process alive.
    const p = { stateDir: s, id: 'abcdef0123456789', holder: 'a deploy', leaseS: 300, waitS: 120 };
    const holder = spawn(shell[0], [...shell.slice(1), '-c', `${shellLib('none').text}\n${txnLockLib(p).text}\nml_lock >/dev/null || exit 1\nmkdir -p "$ML_STATE/txn/$ML_TXN_ID" && : > "$ML_STATE/txn/$ML_TXN_ID/received"\necho "$ml_epoch" > '${s}/epoch'\nexec sleep 30`], { stdio: 'ignore' });
    const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));
    try {
      for (let i = 0; i < 50 && !existsSync(join(s, 'epoch')); i++) await sleep(100);
      const epoch = readFileSync(join(s, 'epoch'), 'utf8').trim();
      const boot = spawn(shell[0], [...shell.slice(1), '-c', bootProgram(s).text], { stdio: 'ignore' });
      const ended = new Promise<number | null>((ok) => boot.on('exit', (code) => ok(code)));
      await sleep(1500);
      expect(existsSync(out), 'the boot hook restored while a deploy held the lock').toBe(false);
      // The deploy confirms generation 2 and ends.
      writeFileSync(join(s, 'current'), '2\n');
      writeFileSync(join(epoch, 'released'), '');
      holder.kill();
      const code = await Promise.race([ended, sleep(10_000).then(() => 'timeout')]);
      expect(code).toBe(0);
      expect(readFileSync(out, 'utf8')).toBe('restored 2\n');
      // Its own lock is released: a deploy goes on at once.
      const free = spawnSync(shell[0], [...shell.slice(1), '-c', `${shellLib('none').text}\nML_STATE='${s}'\nif ml_deploying; then echo held; else echo free; fi`], { encoding: 'utf8' });
      expect(free.stdout.trim()).toBe('free');
    } finally {
      holder.kill();
    }
  });

  it('§13: a deploy that takes the lock prunes the folders of failed deploys, down to the newest four', () => {
    const s = fresh();
    const now = Date.now() / 1000;
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const id = `0000000${i.toString(16)}deadbeef`;
      ids.push(id);
      const t = join(s, 'txn', id);
      mkdirSync(t, { recursive: true });
      // Failed deploys: restored, or ended before they were armed.
      writeFileSync(join(t, i % 2 ? 'result' : 'ended'), 'x\n');
      utimesSync(t, now - 1000 + i, now - 1000 + i);
    }
    const p = { stateDir: s, id: 'abcdef0123456789', holder: 'test', leaseS: 300, waitS: 5 };
    // The first execution of a deploy with nothing to do: lock, settle, prune, gather, no plan.
    const script = [shellLib('none').text, sh`ml_gather() { :; }`.text, txnLockLib(p).text, txnBeginProgram(p).text].join('\n');
    const r = run(shell, script);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/@@ML-R ended nothing/);
    expect(readdirSync(join(s, 'txn')).sort()).toEqual(ids.slice(8).sort());
  });
});
