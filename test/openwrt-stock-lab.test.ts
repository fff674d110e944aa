// Issue 19 §2: a stock OpenWrt image with nothing installed (BusyBox for every command, `ip`
// included: no `oif` rules, no -batch; BusyBox ping; only nft and sshd in /usr/sbin: no
// iptables, no conntrack tool, no `timeout`), behind the data plane's three ISPs (rp_filter=1
// their side). One lab for the file: lib.sh without iptables; deploy with health
// (multilink_firewall auto), unchanged, drift 0, status with every link up; each link's probe
// leaves by its own link; a dead upstream taken out within interval × down_after + 1 s and put
// back, its TCP connections reset and its UDP flows refused by the table (no conntrack -D
// there); a simulated reboot restores the generation and the monitor.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabInfo } from '../src/lab/lab.js';
import { addServerAddress, startHold, startStreamServer } from '../src/lab/dataplane-traffic.js';
import { dataplaneOf } from '../src/lab/dataplane-setup.js';
import { inNamespace, waitFor } from '../src/lab/lab-process.js';
import { shellLib } from '../src/shell/lib.js';
import { cli } from './helpers/cli.js';
import { stopTestLab } from './helpers/lab.js';
import { breakIsp, deployToR1, hostileLabSupport, issue9Playbook, monitorStateOn, repairIsp, runOnRouter, expectRebootRestores, startHostileLab } from './helpers/hostile-lab.js';

const can = hostileLabSupport();
if (!can.ok) console.warn(`skipping the stock OpenWrt router tests: ${can.reason}`);
const HEALTH = { targets: ['198.51.100.1', '198.51.100.2'], intervalS: 1, downAfter: 3, upAfter: 3, quorum: 1 };
const LINKS = ['dsl', 'cable', 'lte'];

describe.skipIf(!can.ok)('a stock OpenWrt router with nothing installed', () => {
  let lab: LabInfo;
  let inventory = '';
  const allUp = async (): Promise<boolean> => {
    const s = await monitorStateOn(lab);
    return s !== undefined && LINKS.every((l) => s.links[l] === 'up');
  };
  const balance = async (): Promise<string> => (await runOnRouter(lab, 'r1', 'nft -s list chain inet multilink ML_BALANCE')).stdout;
  const deploy = async (): Promise<string | undefined> => {
    const d = await deployToR1(lab, 'stock', issue9Playbook(lab, { weights: [1, 2, 3], health: HEALTH, extraLinks: [] }));
    inventory = d.inventory;
    expect(d.result.code, d.result.stdout + d.result.stderr).toBe(0);
    return d.outcome;
  };

  beforeAll(async () => {
    lab = await startHostileLab({ openwrtStock: true });
    await addServerAddress(lab, '198.51.100.2');
  }, 120_000);
  afterAll(async () => {
    if (lab) await stopTestLab(lab);
  });

  it('is the stock image: BusyBox ip without oif, no iptables, no conntrack, no timeout', async () => {
    const r = await runOnRouter(lab, 'r1', 'for c in iptables iptables-save ip6tables conntrack timeout; do command -v "$c" && echo "has $c"; done; ls /usr/sbin; ip rule add oif lo table 1 2>&1; echo rc=$?');
    expect(r.stdout).not.toMatch(/^has /m);
    expect(r.stdout.split('\n').filter((l) => /^[a-z]/.test(l) && !l.startsWith('rc=') && !/invalid argument/.test(l)).sort()).toEqual(['nft', 'sshd']);
    expect(r.stdout).toMatch(/invalid argument 'oif'/);
  });

  it("lib.sh runs without iptables: saves print nothing, a restore that would make something fails naming the package, an empty one passes", async () => {
    const script = `${shellLib('nft').text}
ml_flavour_name
ml_save mangle; echo "save rc=$? ml_save6 $(ml_save6 nat | tr -d "\\n" | wc -c)"
printf '*mangle\\nCOMMIT\\n' > /var/tmp/ml-empty; ml_restore /var/tmp/ml-empty; echo "empty rc=$?"
printf '*mangle\\n:ML_X - [0:0]\\n-A ML_X -j RETURN\\nCOMMIT\\n' > /var/tmp/ml-full; ml_restore6 /var/tmp/ml-full; echo "full rc=$?"
rm -f /var/tmp/ml-empty /var/tmp/ml-full`;
    const r = await runOnRouter(lab, 'r1', script);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['none', 'save rc=0 ml_save6 0', 'empty rc=0', 'full rc=1']);
    expect(r.stderr).toMatch(/no iptables on this host \(.*OpenWrt: opkg install iptables-nft ip6tables-nft, or apk add iptables-nft ip6tables-nft\)/);
  });

  it('deploys with health (auto chooses nft), then nothing to do; drift 0; status has every link up', async () => {
    expect(await deploy()).toBe('changed');
    expect(await deploy()).toBe('unchanged');
    const drift = await cli('drift', inventory, '--json');
    expect(drift.code, drift.stdout + drift.stderr).toBe(0);
    expect(await balance()).toMatch(/numgen random mod 6 vmap/);
    expect(await waitFor(allUp, 10_000, 100)).toBeDefined();
    const status = await cli('status', inventory, '--json');
    expect(status.code, status.stdout + status.stderr).toBe(0);
    const r1 = (JSON.parse(status.stdout) as { hosts: { firewall?: string; links: { link: string; health?: string }[] }[] }).hosts[0];
    expect(r1.firewall).toBe('nft');
    expect(r1.links.map((l) => [l.link, l.health])).toEqual(LINKS.map((l) => [l, 'up']));
  }, 120_000);

  it("each link's probe, a BusyBox `ping -I`, leaves by that link and is answered (the ISPs drop foreign sources)", async () => {
    // Counted where packets leave the router, after the mark re-routed them: 1262-byte echo requests by device.
    const count = LINKS.map((_, i) => `oifname "wan${i + 1}" icmp type echo-request ip length 1262 counter`).join('; ');
    const setup = await runOnRouter(lab, 'r1', `nft add table inet mltest && nft 'add chain inet mltest post { type filter hook postrouting priority 0; policy accept; }' && for r in ${LINKS.map((_, i) => `'${count.split('; ')[i]}'`).join(' ')}; do nft add rule inet mltest post $r || exit 1; done`);
    expect(setup.code, setup.stderr).toBe(0);
    try {
      for (let k = 1; k <= LINKS.length; k++) {
        const ping = await runOnRouter(lab, 'r1', `ping -c 1 -W 2 -s 1234 -I wan${k} ${HEALTH.targets[0]}`);
        expect(ping.code, `ping -I wan${k}: ${ping.stdout}${ping.stderr}`).toBe(0);
      }
      const listed = (await runOnRouter(lab, 'r1', 'nft list chain inet mltest post')).stdout;
      const packets = LINKS.map((_, i) => Number(new RegExp(`oifname "wan${i + 1}" .* counter packets (\\d+)`).exec(listed)?.[1]));
      expect(packets, listed).toEqual([1, 1, 1]);
    } finally {
      await runOnRouter(lab, 'r1', 'nft delete table inet mltest');
    }
  }, 30_000);

  it("a dead upstream leaves the numgen map within interval × down_after + 1 s and comes back after repair; without a conntrack tool its TCP connections are reset and its UDP flows refused, the others' untouched", async () => {
    expect(await waitFor(allUp, 10_000, 100)).toBeDefined();
    // And the balance in force has all three (the state file is written before the map is loaded).
    let map = '';
    expect(await waitFor(async () => /numgen random mod 6 /.test((map = await balance())), 10_000, 100), map).toBeDefined();
    const dp = dataplaneOf(lab);
    await startStreamServer(lab, { maxS: 40, mode: 'echo' });
    // UDP: a sink on the server that never answers; connected client sockets send every 100 ms.
    const sink = inNamespace(dp.serverNamespace, process.execPath, ['-e', `const s = require('node:dgram').createSocket('udp4'); s.bind(9999, '${dp.serverAddress}'); setTimeout(() => s.close(), 27000);`], { timeoutMs: 45_000, allowFailure: true });
    const udpScript = `const dgram = require('node:dgram'); const out = [];
for (let i = 0; i < 12; i++) { const s = dgram.createSocket('udp4'); const st = { port: 0, refused: [] }; out.push(st);
  s.on('error', (e) => { if (e.code === 'ECONNREFUSED') st.refused.push(Date.now()); });
  s.connect(9999, '${dp.serverAddress}', () => { st.port = s.address().port; const t = setInterval(() => s.send('x', (e) => { if (e && e.code === 'ECONNREFUSED') st.refused.push(Date.now()); }), 100); setTimeout(() => { clearInterval(t); s.close(); }, 25000); }); }
setTimeout(() => console.log(JSON.stringify(out)), 25500);`;
    const listening = async (): Promise<boolean> => (await inNamespace(dp.serverNamespace, 'ss', ['-Hlun', 'sport = :9999'], { allowFailure: true })).stdout.includes(':9999');
    expect(await waitFor(listening, 10_000, 100)).toBeDefined();
    const udp = inNamespace(dp.clientNamespace, process.execPath, ['-e', udpScript], { timeoutMs: 45_000 });
    // Long enough for the slowest start under load (up to 10 s), the failover and the backed-off retransmission.
    const hold = startHold(lab, { count: 12, maxS: 25, sendMs: 100 });
    try {
      // Every stream and flow made (and balanced) before the link dies: read from the router's conntrack table.
      let ct = '';
      const made = async (): Promise<boolean> => {
        ct = (await runOnRouter(lab, 'r1', 'cat /proc/net/nf_conntrack')).stdout;
        const lines = ct.split('\n');
        const tcp = lines.filter((l) => l.includes(' tcp ') && l.includes(' ESTABLISHED ') && l.includes(' dport=9000 '));
        return tcp.length >= 12 && lines.filter((l) => l.includes(' udp ') && l.includes(' dport=9999 ')).length >= 12;
      };
      expect(await waitFor(made, 10_000, 200), ct).toBeDefined();
      // The client's own entry (its port and the service's, in this order): not another with the same port number.
      const markOf = (proto: string, port: number): number | undefined => {
        const line = ct.split('\n').find((l) => l.includes(` ${proto} `) && l.includes(` sport=${port} dport=${proto === 'tcp' ? 9000 : 9999} `));
        return line ? Number(/ mark=(\d+)/.exec(line)?.[1]) : undefined;
      };
      const breakAt = Date.now();
      await breakIsp(lab, 2);
      const downAt = await waitFor(async () => !(await balance()).includes('ML_BAL_200'), 10_000, 100);
      expect(downAt).toBeDefined();
      expect(((downAt ?? Infinity) - breakAt) / 1000).toBeLessThanOrEqual(HEALTH.intervalS * HEALTH.downAfter + 1 + 0.5);
      expect(await balance()).toMatch(/numgen random mod 4 vmap \{ 0 : jump ML_BAL_100, 1-3 : jump ML_BAL_300 \}/);
      // Link state, not drift.
      const drift = await cli('drift', inventory, '--json');
      expect(drift.code, drift.stdout).toBe(0);
      const [held, sent] = await Promise.all([hold.done, udp]);
      const table = (await runOnRouter(lab, 'r1', 'nft list table inet multilink; cat /var/run/multilink/log')).stdout;
      const streams = held.streams.map((s) => ({ mark: markOf('tcp', s.port), error: s.error, afterMs: s.errorAt - breakAt }));
      // Refused after the break: by the table (the sink never answers; nothing else refuses).
      const flows = (JSON.parse(sent.stdout) as { port: number; refused: number[] }[]).map((f) => {
        const at = f.refused.find((t) => t >= breakAt);
        return { mark: markOf('udp', f.port), afterMs: at === undefined ? -1 : at - breakAt, refused: at !== undefined };
      });
      const limitMs = (HEALTH.intervalS * HEALTH.downAfter + 1 + 0.5) * 1000;
      // Weights 1:2:3: some of 12 on cable (mark 0x200) and some elsewhere, or the test shows nothing.
      for (const list of [streams, flows]) {
        expect(list.some((x) => x.mark === 0x200), JSON.stringify(list)).toBe(true);
        expect(list.some((x) => x.mark !== 0x200), JSON.stringify(list)).toBe(true);
      }
      for (const s of streams) {
        if (s.mark === 0x200) {
          expect(s.error, JSON.stringify(s) + table).toBe('ECONNRESET');
          // The reset answers the client's first packet once the link is out: unacknowledged since
          // the break, the stream sends only retransmissions, backing off (0.2, 0.4, 0.8… s), so
          // that packet comes at most about as long again after the failover.
          expect(s.afterMs).toBeLessThanOrEqual(2 * limitMs + 1000);
        } else expect(s.error, JSON.stringify(s)).toBe('');
      }
      // UDP: only the dead link's flows are refused. The kernel rate-limits the ICMP errors to one
      // client (net.ipv4.icmp_ratelimit: a burst of 6, then about one a second), so not every
      // one of several flows hears at once: at least one does within the bound.
      for (const f of flows) if (f.mark !== 0x200) expect(f.refused, JSON.stringify(f)).toBe(false);
      const heard = flows.filter((f) => f.mark === 0x200 && f.refused).map((f) => f.afterMs);
      expect(heard.length, JSON.stringify(flows)).toBeGreaterThan(0);
      expect(Math.min(...heard)).toBeLessThanOrEqual(limitMs);
    } finally {
      await repairIsp(lab, 2);
      await sink;
    }
    expect(await waitFor(async () => (await balance()).includes('ML_BAL_200'), 10_000, 100)).toBeDefined();
  }, 90_000);

  it('a reboot restores the generation and the monitor', async () => {
    await expectRebootRestores(lab, 'r1', inventory, balance, allUp);
  }, 60_000);

  it('remove takes everything away, on nft alone', async () => {
    const res = await cli('remove', inventory, '--limit', 'r1', '--json');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const left = await runOnRouter(lab, 'r1', 'nft list table inet multilink >/dev/null 2>&1 && echo table; ip rule | grep -c lookup');
    expect(left.stdout.split('\n')[0]).toBe('3');
    const again = await cli('remove', inventory, '--limit', 'r1', '--check', '--json');
    expect(again.code, again.stdout + again.stderr).toBe(0);
  }, 60_000);
});
