// Issue 22 §2 acceptance: `multilink remove` takes multilink off a Debian lab router (r1) and
// an OpenWrt-like one (r2: BusyBox, its own /etc with init.d and rc.d, /var in RAM), each
// dual stack with a link monitor and a boot hook, and leaves each byte for byte as it was
// before the first deploy: iptables-save and ip6tables-save of every table, `ip rule` and
// every route table of both families, the sysctls of every interface, the files multilink
// wrote (the boot hook, the state and run folders); no process of it runs. r2 is removed
// through an inventory whose play no longer targets it. A second remove is `unchanged`;
// `--check` exits 2 while there is something to remove, 0 once there is none.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabInfo, LabRouter } from '../src/lab/lab.js';
import { runOnRouter } from '../src/lab/router-ops.js';
import { OPENWRT_STATE_DIR, labRunDir } from '../src/lab/lab-files.js';
import { cli, jsonHosts } from './helpers/cli.js';
import { labSupport, startTestLab, stopTestLab } from './helpers/lab.js';
import { strayProcesses } from './helpers/router-procs.js';
import { commandLines, fencedBlocks, namedFile, readmeSection } from './helpers/readme.js';

const support = labSupport();
if (!support.ok) console.warn(`skipping the remove lab tests: ${support.reason}`);

describe.skipIf(!support.ok)('multilink remove on a Debian and an OpenWrt-like lab router (issue 22 §2)', () => {
  let lab: LabInfo;
  let inventory = '';
  /** The same hosts, but the play targets r1 only: r2 is a host no play targets any more. */
  let r1Only = '';
  let hook = '';
  const before: Record<string, string> = {};

  /** Where multilink keeps its files on the router, as the lab inventory says. */
  const folders = (r: LabRouter): { state: string; run: string } =>
    r.openwrt ? { state: OPENWRT_STATE_DIR, run: labRunDir({ stateDir: '', openwrt: true }) } : { state: r.stateDir, run: labRunDir(r) };

  /** Everything remove must give back, as text, read on the router itself. */
  async function fingerprint(r: LabRouter): Promise<string> {
    const { state, run } = folders(r);
    const tables = 'filter mangle nat raw';
    const files = r.openwrt
      ? // Its own /etc (the boot hook's init.d script and rc.d link, the state folder), byte for byte.
        `find /etc | sort; find /etc -type f | sort | xargs md5sum; [ ! -e ${run} ] || echo 'run folder present'`
      : `ls -A ${JSON.stringify(join(r.dir))}; for p in ${JSON.stringify(state)} ${JSON.stringify(run)} ${JSON.stringify(hook)}; do [ ! -e "$p" ] || echo "present $p"; done`;
    const script = [
      `for t in ${tables}; do echo "== iptables $t"; iptables-${r.iptables}-save -t $t | sed -e '/^#/d' -e 's/ \\[[0-9]*:[0-9]*\\]$//'; done`,
      `for t in ${tables}; do echo "== ip6tables $t"; ip6tables-${r.iptables}-save -t $t | sed -e '/^#/d' -e 's/ \\[[0-9]*:[0-9]*\\]$//'; done`,
      // Only multilink's own table: iptables-nft leaves its own (empty) tables behind, as it does.
      'echo "== nft tables"; ! command -v nft >/dev/null || nft list tables | grep -w multilink || true',
      'echo "== rules"; ip -4 rule show; ip -6 rule show',
      "echo \"== routes\"; ip -4 route show table all; ip -6 route show table all | sed 's/ expires [0-9]*sec//'",
      'echo "== sysctls"; grep -r . /proc/sys/net/ipv4/conf /proc/sys/net/ipv6/conf /proc/sys/net/ipv4/ip_forward 2>/dev/null',
      'echo "== files"',
      files,
    ].join('\n');
    const res = await runOnRouter(lab, r.name, script);
    expect(res.code, res.stderr).toBe(0);
    return res.stdout;
  }

  beforeAll(async () => {
    lab = await startTestLab(2, { openwrt: ['r2'] });
    // Dual stack (dsl with a fixed IPv6 gateway, cable point-to-point) and a link monitor.
    const pb = readFileSync(lab.playbook, 'utf8')
      .replace('gateway: 100.64.1.1,', 'gateway: 100.64.1.1, gateway6: "fe80::1",')
      .replace('gateway: 100.64.2.1,', 'gateway: 100.64.2.1, gateway6: none,')
      .replace('  rp_filter: loose', '  rp_filter: loose\n  health: { targets: [198.51.100.1], interval: 1s }');
    const playbook = join(lab.dir, 'playbook-remove.yaml');
    writeFileSync(playbook, pb);
    const r1Playbook = join(lab.dir, 'playbook-r1.yaml');
    writeFileSync(r1Playbook, pb.replace('hosts: lab', 'hosts: r1'));
    // r1's boot hook in the lab's folder (a test writes nowhere else); r2 keeps its own (auto: init.d).
    hook = join(lab.dir, 'boot-hook-r1');
    const inv = readFileSync(lab.inventory, 'utf8').replace('multilink_boot: none', `multilink_boot: ${hook}`);
    expect(inv).toContain(hook);
    inventory = join(lab.dir, 'inventory-remove.yaml');
    writeFileSync(inventory, inv.split(lab.playbook).join(playbook));
    r1Only = join(lab.dir, 'inventory-r1-only.yaml');
    writeFileSync(r1Only, inv.split(lab.playbook).join(r1Playbook));
    for (const r of lab.routers) {
      // The kernel's own doing first: link-local addresses leave `tentative` (DAD) and join table local.
      const dad = await runOnRouter(lab, r.name, 'i=0; while [ -n "$(ip -6 addr show tentative)" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done; ip -6 addr show tentative');
      expect(dad.stdout.trim(), r.name).toBe('');
      // A sysctl multilink sets, at a value of the router's own before it.
      const own = await runOnRouter(lab, r.name, 'echo 1 > /proc/sys/net/ipv4/conf/wan1/rp_filter');
      expect(own.code, own.stderr).toBe(0);
      before[r.name] = await fingerprint(r);
    }
  }, 180_000);

  afterAll(async () => {
    if (lab) await stopTestLab(lab);
  });

  it('deployed, then removed: each router byte for byte as before the first deploy, nothing of it running; a second remove is unchanged', async () => {
    const deployed = await cli('deploy', inventory, '--json');
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
    for (const r of lab.routers) {
      expect(jsonHosts(deployed)[r.name].outcome).toBe('changed');
      const now = await fingerprint(r);
      expect(now).not.toBe(before[r.name]);
      expect(now).toContain('ML_BALANCE');
      // Its link monitor runs (the one its pid file names; not a stray).
      const mon = await runOnRouter(lab, r.name, `pid=$(cat ${folders(r).state}/monitor/pid) && kill -0 "$pid" && tr '\\0' ' ' < /proc/$pid/cmdline`);
      expect(mon.stdout, `${r.name}: ${mon.stderr}`).toMatch(/monitor\.sh/);
    }
    const r2Hook = await runOnRouter(lab, 'r2', 'readlink /etc/rc.d/S99multilink; [ -s /etc/init.d/multilink ] && echo initd');
    expect(r2Hook.stdout.trim().split('\n')).toEqual(['../init.d/multilink', 'initd']);
    expect(readFileSync(hook, 'utf8')).toContain('boot.sh');

    // A play no longer targets r2: drift has no host to act on, remove still has.
    const drift = await cli('drift', r1Only, '--limit', 'r2');
    expect(drift.code).toBe(1);
    expect(drift.stderr).toMatch(/no host to act on/);

    const check = await cli('remove', inventory, '--limit', 'all', '--check', '--json');
    expect(check.code, check.stdout + check.stderr).toBe(2);
    for (const r of lab.routers) expect(jsonHosts(check)[r.name].outcome).toBe('would_change');

    const removed = await Promise.all([cli('remove', inventory, '--limit', 'r1', '--json'), cli('remove', r1Only, '--limit', 'r2', '--json')]);
    for (const [i, r] of lab.routers.entries()) {
      const res = removed[i];
      expect(res.code, res.stdout + res.stderr).toBe(0);
      const host = jsonHosts(res)[r.name];
      expect(host.outcome, host.message).toBe('changed');
      expect(host.message).toMatch(/nothing of multilink's is left/);
      expect(await fingerprint(r), r.name).toBe(before[r.name]);
      expect(strayProcesses(r), r.name).toEqual([]);
    }

    const again = await cli('remove', inventory, '--limit', 'all', '--json');
    expect(again.code, again.stdout + again.stderr).toBe(0);
    for (const r of lab.routers) expect(jsonHosts(again)[r.name].outcome).toBe('unchanged');
    expect((await cli('remove', r1Only, '--limit', 'all', '--check')).code).toBe(0);
    // Looking changed nothing either: no state folder made for a lock.
    for (const r of lab.routers) expect(await fingerprint(r), r.name).toBe(before[r.name]);
  }, 180_000);

  it("the README's first real router, run as written on r1 (Debian): look, check, deploy, status, remove; r1 as before", async () => {
    const section = readmeSection('Your first real router');
    const r = lab.routers[0];
    const { state, run } = folders(r);
    const walk = join(lab.dir, 'first-router');
    mkdirSync(walk, { recursive: true });
    // What a lab must change: the router's address and key, the known_hosts file, and the
    // state and boot-hook paths (a lab router shares this machine's /var and /etc).
    const shown = namedFile(section, 'routers.yaml');
    const edits: [string, string][] = [
      ['ansible_host: 192.0.2.1', `ansible_host: ${r.mgmtAddress}`],
      ['ansible_ssh_private_key_file: ~/.ssh/multilink', `ansible_ssh_private_key_file: ${lab.privateKey}`],
      ['  vars:\n', `  vars:\n    multilink_known_hosts: ${lab.knownHosts}\n    multilink_state_dir: ${state}\n    multilink_run_dir: ${run}\n    multilink_boot: ${hook}\n`],
    ];
    let routers = shown;
    for (const [from, to] of edits) {
      expect(routers, `the README's routers.yaml has ${from}`).toContain(from);
      routers = routers.replace(from, to);
    }
    writeFileSync(join(walk, 'routers.yaml'), routers);
    writeFileSync(join(walk, 'links.yaml'), namedFile(section, 'links.yaml'));

    const block = fencedBlocks(section, 'sh').find((b) => b.includes('multilink deploy routers.yaml'));
    expect(block).toBeDefined();
    const lines = commandLines(block ?? '');
    expect(lines.map((w) => w.slice(0, 2).join(' '))).toEqual(['multilink inventory', 'multilink render', 'multilink deploy', 'multilink deploy', 'multilink status', 'multilink remove']);
    // Exit codes as the README says: --check exits 2 while there is something to change.
    const codes = [0, 0, 2, 0, 0, 0];
    const out: string[] = [];
    for (const [i, words] of lines.entries()) {
      const args = words.slice(1).map((w) => (w === 'routers.yaml' ? join(walk, 'routers.yaml') : w));
      const res = await cli(...args);
      expect(res.code, `${words.join(' ')}\n${res.stdout}${res.stderr}`).toBe(codes[i]);
      out.push(res.stdout);
    }
    expect(out[0]).toMatch(/@routers:\n[\s|]*--branch1\n/);
    expect(out[1]).toMatch(/ML_BALANCE/);
    expect(out[2]).toMatch(/branch1/);
    expect(out[3]).toMatch(/branch1: changed/);
    expect(out[4]).toMatch(/dsl/);
    expect(out[4]).toMatch(/cable/);
    expect(out[5]).toMatch(/branch1: changed/);
    expect(await fingerprint(r), r.name).toBe(before[r.name]);
    expect(strayProcesses(r), r.name).toEqual([]);
  }, 180_000);
});
