// The lab of issue 9 tested as a lab, before any deploy: its ISPs really drop spoofed sources
// (and carry the same traffic from the right source), r1's and the LAN host's services answer,
// an inbound connection or a port forward works exactly when its replies leave by the link
// it came in on, the point-to-point link forwards without a gateway, and r1 is an
// OpenWrt-like router: BusyBox userland, no bash or coreutils, /var in RAM, a reboot that
// runs its rc.d hooks. The rules a test adds by hand on r1 stand in for a correct router.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabInfo } from '../src/lab/lab.js';
import { labSsh, sh, stopTestLab } from './helpers/lab.js';
import {
  addPortForward,
  connectToRouterService,
  hostileLabSupport,
  inboundToWanAddress,
  openLanConnections,
  removePortForward,
  runOnRouter,
  simulateReboot,
  spoofedDrops,
  sshSessions,
  startHostileLab,
  throughPortForward,
  wanAddress,
} from './helpers/hostile-lab.js';
import { openConnections } from '../src/lab/dataplane-traffic.js';

const can = hostileLabSupport();
if (!can.ok) console.warn(`skipping hostile lab tests: ${can.reason}`);

describe.skipIf(!can.ok)('issue 9 lab: BCP38 ISPs, services, port forward, point-to-point uplink, OpenWrt-like r1', () => {
  let lab: LabInfo;
  /** A command in r1's namespace with the host's tools (the test's hand-made router fixes). */
  const r1 = (script: string) => {
    const res = sh('ip', ['netns', 'exec', lab.routers[0].namespace, 'sh', '-ec', script]);
    expect(res.code, `${script}\n${res.stderr}`).toBe(0);
    return res.stdout;
  };
  const toServer = (source: string) =>
    openConnections(lab, { from: lab.routers[0].namespace, source, count: 10, concurrency: 10, perMs: 1500, totalMs: 20_000 });

  beforeAll(async () => {
    lab = await startHostileLab({ uplinks: ['ptp'], openwrt: true });
  }, 120_000);

  afterAll(async () => {
    if (lab) await stopTestLab(lab);
  });

  it('an ISP drops packets whose source is another link’s, and carries them with its own source', async () => {
    const [wan1, wan2] = [wanAddress(lab, 'dsl'), wanAddress(lab, 'cable')];
    // Out of wan2 whatever the source: wan1's address (spoofed there), then wan2's own. The
    // gateway's MAC is learnt first with wan2's own address: a strict ISP also ignores ARP
    // requests from a foreign source, and the test is about the packets.
    r1('ping -c 1 -W 2 -I wan2 100.64.2.1 >/dev/null');
    r1(`ip rule add to ${lab.dataplane!.serverAddress} lookup 250 priority 50; ip route add default via 100.64.2.1 dev wan2 table 250`);
    try {
      const before = await spoofedDrops(lab);
      expect(await toServer(wan1)).toEqual({ ok: 0, failed: 10, notStarted: 0 });
      expect(await spoofedDrops(lab)).toBeGreaterThanOrEqual(before + 10);
      expect(await toServer(wan2)).toEqual({ ok: 10, failed: 0, notStarted: 0 });
    } finally {
      r1('ip rule del priority 50; ip route flush table 250');
    }
    // By main routing (wan1), wan1's address passes.
    expect(await toServer(wan1)).toEqual({ ok: 10, failed: 0, notStarted: 0 });
  });

  it('the LAN host reaches r1’s service and r1 reaches the LAN host’s service', async () => {
    expect(await connectToRouterService(lab)).toEqual({ ok: 10, failed: 0, notStarted: 0 });
    expect(await openLanConnections(lab)).toEqual({ ok: 10, failed: 0, notStarted: 0 });
  });

  it('inbound to a secondary WAN address fails while replies take main’s default, and works when they leave by its link', async () => {
    expect(await inboundToWanAddress(lab, 'dsl')).toEqual({ ok: 10, failed: 0, notStarted: 0 });
    expect(await inboundToWanAddress(lab, 'cable', { perMs: 1500 })).toEqual({ ok: 0, failed: 10, notStarted: 0 });
    r1(`ip rule add from ${wanAddress(lab, 'cable')} lookup 251 priority 51; ip route add default via 100.64.2.1 dev wan2 table 251`);
    try {
      expect(await inboundToWanAddress(lab, 'cable')).toEqual({ ok: 10, failed: 0, notStarted: 0 });
    } finally {
      r1('ip rule del priority 51; ip route flush table 251');
    }
  });

  it('a port forward on lte reaches the LAN host’s service exactly when its replies leave by lte', async () => {
    const pf = await addPortForward(lab, { link: 'lte', port: 8443 });
    try {
      expect(await throughPortForward(lab, pf, { perMs: 1500 })).toEqual({ ok: 0, failed: 10, notStarted: 0 });
      // As mwan3 does it: a connection that came in on wan3 is marked, its replies restore the mark.
      r1(
        [
          'iptables-nft -t mangle -A PREROUTING -i wan3 -m conntrack --ctstate NEW -j CONNMARK --set-mark 0x33',
          'iptables-nft -t mangle -A PREROUTING -i lan0 -j CONNMARK --restore-mark',
          'ip rule add fwmark 0x33 lookup 252 priority 52',
          'ip route add default via 100.64.3.1 dev wan3 table 252',
        ].join('; '),
      );
      expect(await throughPortForward(lab, pf)).toEqual({ ok: 10, failed: 0, notStarted: 0 });
    } finally {
      sh('ip', ['netns', 'exec', lab.routers[0].namespace, 'sh', '-c', 'iptables-nft -t mangle -F PREROUTING; ip rule del priority 52; ip route flush table 252']);
      await removePortForward(lab, pf);
    }
    expect(lab.dataplane!.portForwards).toEqual([]);
  });

  it('the point-to-point uplink has no gateway and forwards through `default dev wan5`', async () => {
    const link = r1('ip -d link show wan5');
    expect(link).toMatch(/NOARP/);
    expect(r1('ip -4 addr show dev wan5')).toMatch(/inet 100\.64\.5\.11 peer 100\.64\.5\.1\/32/);
    const ptp = wanAddress(lab, 'ptp');
    r1(`ip rule add from ${ptp} lookup 253 priority 53; ip route add default dev wan5 table 253`);
    try {
      expect(await toServer(ptp)).toEqual({ ok: 10, failed: 0, notStarted: 0 });
      expect(await inboundToWanAddress(lab, 'ptp')).toEqual({ ok: 10, failed: 0, notStarted: 0 });
    } finally {
      r1('ip rule del priority 53; ip route flush table 253');
    }
  });

  it('r1 is OpenWrt-like: root with BusyBox ash, no bash or coreutils, BusyBox ping without -m, only iptables/ip6tables/nft/ip/conntrack/sshd in /usr/sbin, /var in RAM', () => {
    const res = labSsh(lab, 'r1', [
      'id -u',
      'grep "^root:" /etc/passwd',
      'readlink /proc/$$/exe',
      'command -v bash || echo no-bash',
      'readlink "$(command -v ls)"',
      'ls /usr/sbin | tr "\\n" " "; echo',
      'ping -m 1 -c 1 -W 1 100.64.1.1 2>&1 | head -1',
      'ping -c 1 -W 1 -I wan2 100.64.2.1 >/dev/null && echo ping-I-ok',
      'grep " /var " /proc/mounts',
    ].join('; '));
    expect(res.code, res.stderr).toBe(0);
    const [uid, passwd, exe, bash, ls, sbin, pingM, pingI, varMount] = res.stdout.trim().split('\n');
    expect(uid).toBe('0');
    expect(passwd).toMatch(/^root:x:0:0:[^:]*:[^:]*:\/bin\/sh$/);
    expect(exe).toMatch(/busybox$/);
    expect(bash).toBe('no-bash');
    expect(ls).toBe('busybox');
    expect(sbin.trim().split(' ').sort()).toEqual(
      ['conntrack', 'ip', 'iptables', 'iptables-legacy', 'iptables-legacy-restore', 'iptables-legacy-save', 'iptables-nft', 'iptables-nft-restore',
        'iptables-nft-save', 'iptables-restore', 'iptables-save', 'sshd', 'xtables-legacy-multi', 'xtables-nft-multi',
        // and IPv6's, as OpenWrt's ip6tables-zz-legacy / ip6tables-nft packages give them (issue 18)
        'ip6tables', 'ip6tables-legacy', 'ip6tables-legacy-restore', 'ip6tables-legacy-save', 'ip6tables-nft', 'ip6tables-nft-restore', 'ip6tables-nft-save', 'ip6tables-restore', 'ip6tables-save',
        // and nft, as a stock OpenWrt 22.03+ has it (issue 19)
        'nft'].sort(),
    );
    expect(pingM).toMatch(/invalid option -- 'm'/);
    expect(pingI).toBe('ping-I-ok');
    expect(varMount).toMatch(/^tmpfs \/var tmpfs /);
    // None of it leaks to the host.
    expect(sh('grep', ['-c', ' /var tmpfs', '/proc/self/mounts']).stdout.trim()).toBe('0');
  });

  it('lists r1’s SSH sessions, and a simulated reboot stops them, empties /var, resets netfilter, keeps port forwards and runs the rc.d hooks', async () => {
    const hook = [
      '#!/bin/sh /etc/rc.common',
      'START=95',
      'start() { echo booted > /var/booted; }',
    ].join('\n');
    const setup = await runOnRouter(lab, 'r1', `printf '%s\\n' '${hook.replace(/'/g, "'\\''")}' > /etc/init.d/labhook && chmod +x /etc/init.d/labhook && /etc/init.d/labhook enable && echo before > /var/marker && ls /etc/rc.d`);
    expect(setup.stdout.trim()).toBe('S95labhook');
    const pf = await addPortForward(lab, { link: 'lte', port: 8444 });
    r1('iptables-nft -t mangle -N LABX; iptables-nft -t mangle -A PREROUTING -j LABX; ip rule add priority 77 from 203.0.113.77 lookup 77; ip route add default dev wan5 table 77');
    const session = spawn('ssh', ['-F', '/dev/null', '-i', lab.privateKey, '-o', `UserKnownHostsFile=${lab.knownHosts}`, '-o', 'BatchMode=yes', `root@${lab.routers[0].mgmtAddress}`, 'sleep 30'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 50 && sshSessions(lab, 'r1').length === 0; i++) await new Promise((ok) => setTimeout(ok, 100));
      expect(sshSessions(lab, 'r1')).toHaveLength(1);

      const reboot = await simulateReboot(lab, 'r1');
      expect(reboot.hooks).toEqual([{ hook: '/etc/rc.d/S95labhook', code: 0 }]);
      expect(reboot.stopped.length).toBeGreaterThan(0);
      expect(sshSessions(lab, 'r1')).toEqual([]);
      const after = await runOnRouter(lab, 'r1', 'cat /var/booted; [ -e /var/marker ] || echo marker-gone; ls /etc/init.d');
      expect(after.stdout.trim().split('\n')).toEqual(['booted', 'marker-gone', 'labhook']);
      expect(r1('iptables-nft-save -t mangle')).not.toMatch(/LABX/);
      expect(r1('ip rule show')).not.toMatch(/^77:/m);
      expect(r1('iptables-nft-save -t nat')).toMatch(/--dport 8444 .*DNAT --to-destination 192\.0\.2\.10:8080/);
      // The lab's own processes live on: r1's service answers.
      expect(await connectToRouterService(lab)).toEqual({ ok: 10, failed: 0, notStarted: 0 });
    } finally {
      session.kill('SIGTERM');
      await removePortForward(lab, pf);
      await runOnRouter(lab, 'r1', '/etc/init.d/labhook disable; rm -f /etc/init.d/labhook');
    }
  });
});
