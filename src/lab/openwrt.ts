// OpenWrt-like lab routers: the same namespace router, but its sshd (and so every login)
// runs in a mount namespace where /usr/bin is BusyBox (ash as /bin/sh, BusyBox ping without
// -m, no bash, no coreutils), /usr/sbin holds only iptables, ip6tables, ip, conntrack and sshd, /etc is
// the router's own folder (persistent, with a small /etc/rc.common and /etc/rc.d for boot
// hooks) and /var and /run are RAM. Commands reach it over SSH, or here through nsenter.
// A stock one (openwrtStock) is as a stock OpenWrt 23.05/24.10 image has it: BusyBox for every
// command, `ip` included (no `oif` rules, no -batch), and only nft and sshd in /usr/sbin: no
// iptables of any kind, no conntrack tool, no `timeout`.
import { spawn } from 'node:child_process';
import { closeSync, constants, copyFileSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from './errors.js';
import { openLog, writeNewFile } from './lab-folder.js';
import { programFile } from './lab-process.js';
import type { LabRouter } from './manifest.js';
import { runSync } from './run.js';

/** Commands an OpenWrt-like router needs on the host → Debian package. */
export const OPENWRT_COMMANDS: Readonly<Record<string, string>> = { busybox: 'busybox', nsenter: 'util-linux', unshare: 'util-linux', nft: 'nftables' };

/** Programs of /usr/sbin: bound from the host's files onto empty placeholders. */
export const OPENWRT_SBIN_BINARIES = ['xtables-nft-multi', 'xtables-legacy-multi', 'conntrack', 'sshd', 'ip', 'nft'] as const;
/** BusyBox applets left out: iproute2's `ip` in /usr/sbin stands for OpenWrt's ip-full. */
const SKIPPED_APPLETS = new Set(['ip', 'ipaddr', 'iplink', 'iproute', 'iprule', 'iptunnel', 'ipneigh']);
/** A stock image's /usr/sbin: nft and sshd, nothing else. */
export const OPENWRT_STOCK_SBIN_BINARIES = ['sshd', 'nft'] as const;
/** BusyBox applets a stock image lacks (OpenWrt's BusyBox is built without `timeout`). */
const STOCK_SKIPPED_APPLETS = new Set(['timeout']);

export interface OpenwrtTree {
  root: string;
  bin: string;
  sbin: string;
  etc: string;
}

export function openwrtTree(r: Pick<LabRouter, 'dir'>): OpenwrtTree {
  const root = join(r.dir, 'openwrt');
  return { root, bin: join(root, 'bin'), sbin: join(root, 'sbin'), etc: join(root, 'etc') };
}

/** The applets of the host's BusyBox. */
export function busyboxApplets(): string[] {
  const r = runSync('busybox', ['--list'], { allowFailure: true });
  if (r.code !== 0) throw new LabError('an OpenWrt-like lab router needs BusyBox (apt-get install busybox)');
  return r.stdout.split('\n').map((l) => l.trim()).filter((a) => /^[a-z0-9_.[-]+$/.test(a));
}

/** The files of the router's tree (pure): symlink name → target, and /etc's files. */
export function openwrtEtcFiles(r: Pick<LabRouter, 'name'>): Record<string, string> {
  return {
    passwd: ['root:x:0:0:root:/root:/bin/sh', 'sshd:x:100:65534:sshd:/run/sshd:/bin/false', 'nobody:x:65534:65534:nobody:/var:/bin/false', ''].join('\n'),
    group: ['root:x:0:', 'nogroup:x:65534:', ''].join('\n'),
    'nsswitch.conf': ['passwd: files', 'group: files', 'shadow: files', 'hosts: files', ''].join('\n'),
    hosts: '127.0.0.1 localhost\n',
    hostname: `${r.name}\n`,
    openwrt_release: ["DISTRIB_ID='OpenWrt'", "DISTRIB_RELEASE='multilink-lab'", "DISTRIB_DESCRIPTION='multilink lab router (BusyBox userland)'", ''].join('\n'),
  };
}

/** iptables and ip6tables of both flavours (as OpenWrt's iptables-zz-legacy and ip6tables-zz-legacy packages give them). */
export function sbinLinks(flavour: 'nft' | 'legacy'): Record<string, string> {
  const links: Record<string, string> = {};
  for (const ip of ['iptables', 'ip6tables']) {
    for (const f of ['nft', 'legacy'] as const) {
      for (const t of ['', '-save', '-restore']) links[`${ip}-${f}${t}`] = `xtables-${f}-multi`;
    }
    for (const t of ['', '-save', '-restore']) links[`${ip}${t}`] = `${ip}-${flavour}${t}`;
  }
  return links;
}

/** Writes the router's tree under its folder (removed with it on down). */
export function buildOpenwrtTree(r: LabRouter, applets: readonly string[]): OpenwrtTree {
  const t = openwrtTree(r);
  for (const d of [t.bin, t.sbin, t.etc, join(t.etc, 'init.d'), join(t.etc, 'rc.d')]) mkdirSync(d, { recursive: true, mode: 0o755 });
  const placeholder = (file: string): void => writeNewFile(file, '', 0o755);
  placeholder(join(t.bin, 'busybox'));
  const skipped = r.openwrtStock ? STOCK_SKIPPED_APPLETS : SKIPPED_APPLETS;
  for (const a of applets) if (a !== 'busybox' && !skipped.has(a)) symlinkSync('busybox', join(t.bin, a));
  for (const b of r.openwrtStock ? OPENWRT_STOCK_SBIN_BINARIES : OPENWRT_SBIN_BINARIES) placeholder(join(t.sbin, b));
  if (!r.openwrtStock) for (const [name, target] of Object.entries(sbinLinks(r.iptables))) symlinkSync(target, join(t.sbin, name));
  for (const [name, text] of Object.entries(openwrtEtcFiles(r))) writeNewFile(join(t.etc, name), text);
  // The dynamic loader's cache and the names iptables reads, as on any system.
  for (const f of ['ld.so.cache', 'protocols', 'services']) if (existsSync(`/etc/${f}`)) copyFileSync(`/etc/${f}`, join(t.etc, f), constants.COPYFILE_EXCL);
  copyFileSync(programFile('openwrt-rc-common.sh'), join(t.etc, 'rc.common'), constants.COPYFILE_EXCL);
  return t;
}

/** Starts the router's sshd in its own mount namespace (openwrt-sshd.sh); its pid is sshd's. */
export function spawnOpenwrtSshd(r: LabRouter): number {
  const fd = openLog(r.sshdLog);
  try {
    // ip netns exec, unshare (no --fork) and sh each exec the next: the pid is sshd's own.
    const args = ['netns', 'exec', r.namespace, 'unshare', '-m', '--propagation', 'private', '/bin/sh', programFile('openwrt-sshd.sh'), openwrtTree(r).root, r.sshdConfig];
    const child = spawn('ip', args, { detached: true, stdio: ['ignore', fd, fd] });
    child.on('error', () => undefined);
    child.unref();
    if (child.pid === undefined) throw new LabError(`could not start sshd in ${r.namespace}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}
