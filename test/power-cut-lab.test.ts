// Issue 23, Medium 5, on an OpenWrt-like lab router (BusyBox ash, state folder in its own
// /etc, boot hook in /etc/rc.d): a power cut at each commit point of a change A → B. The
// router's `mv` and `sync` (its /usr/bin, in the lab's folder) are wrapped by
// test/helpers/power-cut.sh: after each rename into the state folder, an image of that folder
// as a power cut then would leave it (renames on the disk, data only if synced since written,
// other files empty). Each image is put in place of the state folder and the router rebooted
// (simulated: processes stopped, kernel state fresh, boot hooks run). Acceptance: a cut before
// the confirmation renames current boots A exactly, a cut from then on boots B exactly; the
// next deploy goes through (its dead transaction settled, multilink's own tables still its
// own); an ownership record left empty is refused, named, until the boot hook writes it again.
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabInfo, LabRouter } from '../src/lab/lab.js';
import { OPENWRT_STATE_DIR } from '../src/lab/lab-files.js';
import { openwrtTree } from '../src/lab/openwrt.js';
import { runOnRouter, simulateReboot } from '../src/lab/router-ops.js';
import { cli, jsonHosts } from './helpers/cli.js';
import { labSupport, sh, startTestLab, stopTestLab } from './helpers/lab.js';

const support = labSupport();
if (!support.ok) console.warn(`skipping power cut lab tests: ${support.reason}`);

const HELPER = new URL('./helpers/power-cut.sh', import.meta.url).pathname;

describe.skipIf(!support.ok)('issue 23 §5: a power cut at each commit point of a change (OpenWrt-like router)', () => {
  let lab: LabInfo;
  let r: LabRouter;
  const inv = { A: '', B: '' };
  /** The state folder as this machine sees it (the router's /etc is a folder of the lab). */
  let stateHost = '';
  let out = '';

  /** What multilink owns on the router, as text (one namespace exec). */
  function fingerprint(): string {
    const ipt = `iptables-${r.iptables}-save`;
    const script = [
      ...['mangle', 'nat', 'raw'].map((t) => `${ipt} -t ${t} | sed -e '/^#/d' -e 's/ \\[[0-9]*:[0-9]*\\]$//'`),
      'ip -4 rule show',
      ...[101, 102, 103].map((t) => `echo table ${t}; ip -4 route show table ${t}`),
      'for k in ip_forward conf/wan1/rp_filter conf/wan2/rp_filter conf/wan3/rp_filter; do echo "$k=$(cat /proc/sys/net/ipv4/$k)"; done',
    ].join('\n');
    const res = sh('ip', ['netns', 'exec', r.namespace, 'sh', '-c', script]);
    expect(res.code, res.stderr).toBe(0);
    return res.stdout;
  }

  async function reboot(): Promise<string> {
    const b = await simulateReboot(lab, r.name);
    expect(b.hooks.map((h) => h.code), b.output).toEqual([0]);
    return b.output;
  }

  async function deploy(which: 'A' | 'B', ...extra: string[]): Promise<{ code: number; outcome: string; message: string }> {
    const res = await cli('deploy', inv[which], '--json', ...extra);
    const h = jsonHosts(res)[r.name] as unknown as { outcome: string; message?: string };
    return { code: res.code, outcome: h.outcome, message: h.message ?? '' };
  }

  /** The router's `mv` and `sync` wrapped (on) or BusyBox's own again (off). */
  function wrap(on: boolean): void {
    const bin = openwrtTree(r).bin;
    for (const cmd of ['mv', 'sync']) {
      rmSync(join(bin, cmd), { force: true });
      if (!on) {
        symlinkSync('busybox', join(bin, cmd));
        continue;
      }
      const after = cmd === 'mv' ? 'pc_renamed "$@"' : 'pc_synced "$@"';
      writeFileSync(join(bin, cmd), `#!/bin/sh\nPC_DIR=${OPENWRT_STATE_DIR}; PC_OUT=${out}\n. ${HELPER}\nbusybox ${cmd} "$@" || exit\n${after}\n`, { mode: 0o755 });
    }
  }

  beforeAll(async () => {
    lab = await startTestLab(1, { openwrt: ['r1'] });
    r = lab.routers[0];
    stateHost = join(openwrtTree(r).etc, 'multilink');
    out = join(lab.dir, 'power-cut');
    // B: without lte (its rule, route and sysctl go) and other weights.
    const pbB = join(lab.dir, 'playbook-b.yaml');
    writeFileSync(pbB, readFileSync(lab.playbook, 'utf8').split('\n').filter((l) => !/name: lte/.test(l)).join('\n').replace('weight: 2', 'weight: 5'));
    inv.A = lab.inventory;
    inv.B = join(lab.dir, 'inventory-b.yaml');
    writeFileSync(inv.B, readFileSync(lab.inventory, 'utf8').split(lab.playbook).join(pbB));
  }, 180_000);

  afterAll(async () => {
    if (lab) await stopTestLab(lab);
  });

  it('a cut before current is renamed boots A exactly, from then on B exactly; the next deploy goes through', async () => {
    // What each generation is once booted.
    expect((await deploy('B')).outcome).toBe('changed');
    await reboot();
    const fpB = fingerprint();
    expect((await deploy('A')).outcome).toBe('changed');
    await reboot();
    const fpA = fingerprint();
    expect(fpA).not.toBe(fpB);
    expect(fpA).toMatch(/ML_/);

    // The change A → B, an image after each rename into the state folder.
    rmSync(out, { recursive: true, force: true });
    const start = await runOnRouter(lab, r.name, `mkdir -p ${out} && PC_DIR=${OPENWRT_STATE_DIR} PC_OUT=${out} && . ${HELPER} && pc_durable_all && : > ${out}/on`);
    expect(start.code, start.stderr).toBe(0);
    wrap(true);
    let change;
    try {
      change = await deploy('B');
    } finally {
      rmSync(join(out, 'on'), { force: true });
      wrap(false);
    }
    expect(change.outcome, change.message).toBe('changed');
    const images = readdirSync(out)
      .filter((f) => /^\d+$/.test(f))
      .map(Number)
      .sort((a, b) => a - b)
      .map((k) => ({ k, why: readFileSync(join(out, `${k}.why`), 'utf8').trim() }));
    const commit = images.findIndex((i) => i.why === 'current');
    expect(commit, images.map((i) => i.why).join(', ')).toBeGreaterThan(0);
    // ml_write's renames of the apply (payload, ownership record) come before it.
    expect(images.slice(0, commit).some((i) => i.why === 'owned.json')).toBe(true);

    const booted: string[] = [];
    for (const [i, img] of images.entries()) {
      rmSync(stateHost, { recursive: true, force: true });
      cpSync(join(out, String(img.k)), stateHost, { recursive: true, verbatimSymlinks: true });
      const log = await reboot();
      const fp = fingerprint();
      const want = i < commit ? 'A' : 'B';
      const got = fp === fpA ? 'A' : fp === fpB ? 'B' : 'neither';
      booted.push(`cut after ${img.why}: ${got}`);
      expect(got, `a cut after renaming ${img.why} (image ${img.k}) booted ${got}, not ${want}\n${log}`).toBe(want);
      // The transaction the cut left behind is settled, the ownership record read: a deploy goes through.
      if (i === commit - 1 || i === images.length - 1) {
        const next = await deploy('B');
        expect(next.code, next.message).toBe(0);
        expect(next.outcome).toBe(want === 'B' ? 'unchanged' : 'changed');
      }
    }
    console.log(`power cut after each of ${images.length} renames of a change: ${booted.join('; ')}`);
  }, 300_000);

  it('an ownership record left empty is refused, named, until the boot hook writes it again', async () => {
    expect((await deploy('B')).code).toBe(0);
    writeFileSync(join(stateHost, 'owned.json'), '');
    const refused = await deploy('B', '--check');
    expect(refused.code).toBe(1);
    expect(refused.message).toMatch(new RegExp(`ownership record is damaged: ${OPENWRT_STATE_DIR}/owned.json is empty.*sh ${OPENWRT_STATE_DIR}/boot.sh`));
    await reboot();
    expect(existsSync(join(stateHost, 'owned.json')) && readFileSync(join(stateHost, 'owned.json'), 'utf8').length).toBeGreaterThan(0);
    expect((await deploy('B', '--check')).code).toBe(0);
  }, 120_000);
});
