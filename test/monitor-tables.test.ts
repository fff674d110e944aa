// How the link monitor keeps each link's table (src/remote/monitor-tables.sh), run as shipped
// (lib.sh + monitor-record.sh + monitor-tables.sh) in a scratch namespace, under dash and
// BusyBox ash, with iproute2's ip and with BusyBox's (OpenWrt's default): a steady round
// costs one `ip route show table T` per link and changes nothing; a table the kernel emptied
// (address removed, device deleted and made again) is put back and said once; a route ip
// refuses makes the table broken, said once; a missing device is absent; a device made again
// gets its rp_filter back; nothing is repaired while a deploy holds the lock.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { monitorRecordLib, monitorTablesLib } from '../src/remote/programs.js';
import { lines, shellLib } from '../src/shell/lib.js';
import { netnsSupport, ScratchNetns } from './helpers/netns.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const support = netnsSupport();
const SHELLS = [['dash'], ['busybox', 'ash']].filter((s) => has(s[0]));
const skip = !support.ok ? support.reason : SHELLS.length < 2 ? 'dash or busybox is not installed' : undefined;
if (skip) console.warn(`skipping monitor-tables tests: ${skip}`);

const made: ScratchNetns[] = [];
const root = mkdtempSync(join(tmpdir(), 'ml-tables-'));
afterAll(() => {
  for (const ns of made) ns.delete();
  rmSync(root, { recursive: true, force: true });
});

/** A router: wan1 (fixed gateway 100.64.1.1), wan5 (point-to-point), wan4 (DHCP-like: its default route in main). */
function router(): ScratchNetns {
  const ns = new ScratchNetns();
  made.push(ns);
  ns.veth('wan1', '100.64.1.2/24');
  ptpDevice(ns);
  ns.veth('wan4', '100.64.4.2/24');
  ns.ip('route', 'add', 'default', 'via', '100.64.4.1', 'dev', 'wan4', 'metric', '10');
  // As deployed: a relaxed reverse path filter on every uplink.
  ns.exec('sysctl', '-qw', ...['wan1', 'wan5', 'wan4'].map((i) => `net.ipv4.conf.${i}.rp_filter=2`));
  return ns;
}

function ptpDevice(ns: ScratchNetns): void {
  ns.ip('link', 'add', 'wan5', 'type', 'veth', 'peer', 'name', 'wan5p');
  ns.ip('addr', 'add', '100.64.5.2', 'peer', '100.64.5.1', 'dev', 'wan5');
  ns.ip('link', 'set', 'wan5', 'arp', 'off');
  ns.ip('link', 'set', 'wan5', 'up');
  ns.ip('link', 'set', 'wan5p', 'up');
}

const LINKS = `ml_link() {
  case "$1" in
    1) ml_name=dsl; ml_if=wan1; ml_table=101; ml_gw=fixed; ml_via=100.64.1.1; ml_rpf=2 ;;
    2) ml_name=ptp; ml_if=wan5; ml_table=105; ml_gw=none; ml_via=''; ml_rpf=2 ;;
    3) ml_name=wifi; ml_if=wan4; ml_table=104; ml_gw=auto; ml_via=''; ml_rpf=2 ;;
  esac
}`;

/**
 * Runs the tables functions in the namespace: `round NAME` keeps every link's table as a
 * monitor round does and prints `NAME tb_1 tb_2 tb_3`; each ip command is counted in
 * $R/ip.calls. `busyboxIp`: ip is BusyBox's.
 */
function session(ns: ScratchNetns, shell: string[], busyboxIp: boolean, body: string): { stdout: string; log: string; calls: string } {
  const dir = mkdtempSync(join(root, 'r-'));
  const ip = busyboxIp ? 'busybox ip' : 'command ip';
  const script = [
    lines(shellLib('none'), monitorRecordLib(), monitorTablesLib()).text,
    `R='${dir}'; ML_STATE='${dir}/state'; ML_LOG_MAX=65536; ML_HISTORY=5; ML_LINKS='dsl ptp wifi'; ML_N=3`,
    `ip() { echo "$*" >> "$R/ip.calls"; ${ip} "$@"; }`,
    LINKS,
    'gw_1=-; gw_2=-; gw_3=-',
    'round() { : > "$R/ip.calls"; ml_k=1; while [ "$ml_k" -le 3 ]; do ml_link "$ml_k"; ml_table_keep; ml_k=$((ml_k + 1)); done; echo "$1 $tb_1 $tb_2 $tb_3"; }',
    body,
  ].join('\n');
  const r = spawnSync('ip', ['netns', 'exec', ns.name, ...shell, '-c', script], { encoding: 'utf8', timeout: 30_000 });
  expect(r.status, `${shell.join(' ')}: ${r.stderr}`).toBe(0);
  const read = (f: string): string => {
    try {
      return readFileSync(join(dir, f), 'utf8');
    } catch {
      return '';
    }
  };
  return { stdout: r.stdout, log: read('log').replace(/^\S+ /gm, ''), calls: read('ip.calls') };
}

const table = (ns: ScratchNetns, t: number): string[] =>
  ns
    .ip('-4', 'route', 'show', 'table', String(t))
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

describe.skipIf(skip !== undefined)('monitor-tables.sh', () => {
  for (const shell of SHELLS) {
    for (const busyboxIp of [false, true]) {
      const name = `${shell.join(' ')}, ${busyboxIp ? 'BusyBox ip' : 'iproute2'}`;

      it(`${name}: empty tables are filled, a steady round reads each table once and changes nothing`, () => {
        const ns = router();
        const s = session(ns, shell, busyboxIp, 'round first; round steady; cat "$R/ip.calls"');
        expect(s.stdout.split('\n').slice(0, 2)).toEqual(['first ok ok ok', 'steady ok ok ok']);
        expect(table(ns, 101)).toEqual(['default via 100.64.1.1 dev wan1']);
        expect(table(ns, 105)).toEqual(['default dev wan5 scope link']);
        expect(table(ns, 104)).toEqual(['default via 100.64.4.1 dev wan4']);
        expect(s.log.split('\n').filter(Boolean)).toEqual([
          'link dsl table 101 restored: default via 100.64.1.1 dev wan1',
          'link ptp table 105 restored: default dev wan5',
          'link wifi gateway via 100.64.4.1 (was -)',
        ]);
        // The steady round: one show per table (and main's default for the auto link), no change.
        expect(s.calls.split('\n').filter(Boolean)).toEqual([
          '-4 route show table 101',
          '-4 route show table 105',
          '-4 route show table main exact 0/0 dev wan4',
          '-4 route show table 104',
        ]);
      });

      it(`${name}: an address removed and put back: broken meanwhile (said once), then restored (said once)`, () => {
        const ns = router();
        const s = session(
          ns,
          shell,
          busyboxIp,
          `round first
ip -4 addr del 100.64.1.2/24 dev wan1
round gone1
round gone2
ip -4 addr add 100.64.1.2/24 dev wan1
round back
round steady`,
        );
        expect(s.stdout.trim().split('\n')).toEqual(['first ok ok ok', 'gone1 broken ok ok', 'gone2 broken ok ok', 'back ok ok ok', 'steady ok ok ok']);
        expect(table(ns, 101)).toEqual(['default via 100.64.1.1 dev wan1']);
        const log = s.log.split('\n').filter((l) => l.startsWith('link dsl'));
        expect(log).toHaveLength(3);
        expect(log[1]).toMatch(/^link dsl table 101 lacks default via 100\.64\.1\.1 dev wan1 and ip refuses it: \S/);
        expect(log[2]).toBe('link dsl table 101 restored: default via 100.64.1.1 dev wan1');
      });

      it(`${name}: a device deleted is absent; made again, its table and rp_filter are put back`, () => {
        const ns = router();
        const first = session(ns, shell, busyboxIp, 'round first');
        expect(first.stdout).toBe('first ok ok ok\n');
        ns.ip('link', 'del', 'wan5');
        const gone = session(ns, shell, busyboxIp, 'gw_3="via 100.64.4.1"; round gone');
        expect(gone.stdout).toBe('gone ok absent ok\n');
        expect(gone.log).toBe('');
        ptpDevice(ns);
        ns.exec('sysctl', '-qw', 'net.ipv4.conf.wan5.rp_filter=0');
        const back = session(ns, shell, busyboxIp, 'gw_3="via 100.64.4.1"; round back; round steady');
        expect(back.stdout).toBe('back ok ok ok\nsteady ok ok ok\n');
        expect(table(ns, 105)).toEqual(['default dev wan5 scope link']);
        expect(ns.exec('cat', '/proc/sys/net/ipv4/conf/wan5/rp_filter').trim()).toBe('2');
        expect(back.log.split('\n').filter(Boolean)).toEqual(['link ptp wan5 rp_filter restored: 2 (was 0)', 'link ptp table 105 restored: default dev wan5']);
      });

      it(`${name}: a wrong route is replaced, a linkdown one is left alone, and nothing is repaired while a deploy holds the lock`, () => {
        const ns = router();
        session(ns, shell, busyboxIp, 'round first');
        ns.ip('route', 'replace', 'default', 'via', '100.64.1.9', 'dev', 'wan1', 'table', '101');
        ns.ip('route', 'flush', 'table', '105');
        const held = session(ns, shell, busyboxIp, 'gw_3="via 100.64.4.1"; ml_deploying() { return 0; }; round held');
        expect(held.stdout).toBe('held ok ok ok\n');
        expect(held.log).toBe('');
        expect(table(ns, 101)).toEqual(['default via 100.64.1.9 dev wan1']);
        expect(table(ns, 105)).toEqual([]);
        const free = session(ns, shell, busyboxIp, 'gw_3="via 100.64.4.1"; round free');
        expect(free.stdout).toBe('free ok ok ok\n');
        expect(table(ns, 101)).toEqual(['default via 100.64.1.1 dev wan1']);
        expect(table(ns, 105)).toEqual(['default dev wan5 scope link']);
        // No carrier: iproute2 prints `linkdown` after the route; it is still the route.
        ns.ip('link', 'set', 'wan1p', 'down');
        expect(ns.ip('-4', 'route', 'show', 'table', '101')).toMatch(/linkdown/);
        const down = session(ns, shell, busyboxIp, 'gw_3="via 100.64.4.1"; round linkdown; grep -c replace "$R/ip.calls" || true');
        expect(down.stdout).toBe('linkdown ok ok ok\n0\n');
        expect(down.log).toBe('');
      });

      it(`${name}: an auto link follows main, and its table is put back when emptied with main unchanged`, () => {
        const ns = router();
        session(ns, shell, busyboxIp, 'round first');
        ns.ip('route', 'flush', 'table', '104');
        const s = session(ns, shell, busyboxIp, 'gw_3="via 100.64.4.1"; round emptied');
        expect(s.stdout).toBe('emptied ok ok ok\n');
        expect(table(ns, 104)).toEqual(['default via 100.64.4.1 dev wan4']);
        expect(s.log).toBe('link wifi table 104 restored: default via 100.64.4.1 dev wan4\n');
      });
    }
  }
});
