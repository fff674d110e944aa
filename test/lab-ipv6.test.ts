// The dual-stack data-plane lab of issue 18 (`lab up --dataplane --ipv6`), without multilink:
// r1's WANs take their addresses by SLAAC and their gateways from the ISPs' RAs, each ISP
// carries IPv6 to the server and drops sources outside its /64, the LAN is a ULA, and the
// faults do what they say (a replaced ISP router, RAs stopped, IPv6 broken with IPv4
// working, a 1,400-byte hop). One lab for the file; `lab down` leaves nothing.
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, type LabInfo } from '../src/lab/lab.js';
import { openConnections } from '../src/lab/dataplane-traffic.js';
import { sleep } from '../src/lab/run.js';
import { sh, stopTestLab } from './helpers/lab.js';
import {
  breakIsp6,
  clearMtuHop,
  inR1,
  ipv6LabSupport,
  ipv6Of,
  LAN_ADDRESS6,
  MTU_HOP_BYTES,
  pingFrom,
  repairIsp6,
  replaceIspRouter6,
  resumeIspRas,
  routerWans6,
  SERVER_ADDRESS6,
  setMtuHop,
  spoofedDrops6,
  startIpv6Lab,
  stopIspRas,
  viaIsp,
  type RouterWan6,
} from './helpers/ipv6-lab.js';

const can = ipv6LabSupport();
if (!can.ok) console.warn(`skipping the IPv6 lab tests: ${can.reason}`);

/** Polls r1's IPv6 per WAN until cond holds (true) or limitMs passes (false). */
async function until(lab: LabInfo, cond: (wans: RouterWan6[]) => boolean, limitMs: number): Promise<boolean> {
  const end = Date.now() + limitMs;
  for (;;) {
    if (cond(await routerWans6(lab))) return true;
    if (Date.now() > end) return false;
    await sleep(50);
  }
}

const gatewaysOn = (wans: RouterWan6[], dev: string): string[] => wans.find((w) => w.dev === dev)?.defaults.map((d) => d.gateway) ?? [];

describe.skipIf(!can.ok)('dual-stack data-plane lab (lab up --dataplane --ipv6)', () => {
  let lab: LabInfo;

  beforeAll(async () => {
    lab = await startIpv6Lab();
  }, 120_000);

  afterAll(async () => {
    if (lab) await stopTestLab(lab);
  });

  it('gives each WAN a SLAAC address in its ISP’s /64 and a proto ra default via the ISP’s link-local, and nothing static', async () => {
    const v6 = ipv6Of(lab);
    const wans = await routerWans6(lab);
    for (const isp of v6.isps) {
      const wan = wans.find((w) => w.dev === isp.routerInterface);
      expect(isp.routerAddress.startsWith(`2001:db8:${isp.k}:0:`), isp.routerAddress).toBe(true);
      expect(wan?.addresses.map((a) => [a.address, a.dynamic, a.tentative])).toEqual([[isp.routerAddress, true, false]]);
      expect(wan?.defaults).toEqual([{ gateway: `fe80::${isp.k}:1`, dev: isp.routerInterface, protocol: 'ra' }]);
    }
    // Every IPv6 default in r1's main table came from an RA; its sysctls are a fresh router's.
    expect(inR1(lab, 'ip', ['-6', 'route', 'show', 'default']).stdout.trim().split('\n').every((l) => / proto ra /.test(l))).toBe(true);
    const sysctl = inR1(lab, 'sysctl', ['-n', 'net.ipv6.conf.all.forwarding', 'net.ipv6.conf.wan1.forwarding', 'net.ipv6.conf.wan1.accept_ra', 'net.ipv6.conf.wan2.accept_ra', 'net.ipv6.conf.wan3.accept_ra']);
    expect(sysctl.stdout.trim().split('\n')).toEqual(['0', '0', '1', '1', '1']);
  });

  it('reaches the server over IPv6 through each ISP from that WAN’s own address', () => {
    for (const isp of ipv6Of(lab).isps) {
      const route = inR1(lab, 'ip', ['-6', 'route', 'get', SERVER_ADDRESS6, 'oif', isp.routerInterface]).stdout;
      expect(route).toContain(`via ${isp.gateway} dev ${isp.routerInterface} `);
      expect(route).toContain(`src ${isp.routerAddress} `);
      const ping = pingFrom(lab, 6, isp.routerInterface, SERVER_ADDRESS6, { count: 2 });
      expect(ping.received, ping.output).toBe(2);
      expect(ping.output).toContain(`from ${isp.routerAddress} ${isp.routerInterface}`);
    }
  });

  it('answers on IPv6 at the server: the TCP "ok" service through an ISP, iperf3 listening', async () => {
    const ok = await viaIsp(lab, 2, 6, (source) => openConnections(lab, { from: lab.routers[0].namespace, source, host: SERVER_ADDRESS6, count: 5, concurrency: 5, perMs: 3000, totalMs: 15_000 }));
    expect(ok).toEqual({ ok: 5, failed: 0, notStarted: 0 });
    const ss = sh('ip', ['netns', 'exec', lab.dataplane!.serverNamespace, 'ss', '-Hltn']).stdout;
    for (const port of lab.dataplane!.iperfPorts) expect(ss).toContain(`[${SERVER_ADDRESS6}]:${port} `);
  });

  it('ISP 1 drops a packet from wan1 with wan2’s source (BCP38 for IPv6) and counts it', async () => {
    const wan2 = ipv6Of(lab).isps[1].routerAddress;
    const before = await spoofedDrops6(lab, 1);
    const ping = await viaIsp(lab, 1, 6, (source) => pingFrom(lab, 6, source, SERVER_ADDRESS6, { count: 3 }), wan2);
    expect(ping.received, ping.output).toBe(0);
    expect((await spoofedDrops6(lab, 1)) - before).toBeGreaterThanOrEqual(3);
    // The same from wan1's own address passes.
    expect((await viaIsp(lab, 1, 6, (source) => pingFrom(lab, 6, source, SERVER_ADDRESS6, { count: 2 }))).received).toBe(2);
  });

  it('the LAN is dual stack: the client reaches r1’s ULA and its service over IPv6', async () => {
    const cl = lab.dataplane!.clientNamespace;
    const ping = sh('ip', ['netns', 'exec', cl, 'ping', '-6', '-n', '-c', '2', '-i', '0.2', '-W', '1', LAN_ADDRESS6]);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    expect(sh('ip', ['netns', 'exec', cl, 'ip', '-6', 'route', 'show', 'default']).stdout).toContain(`default via ${LAN_ADDRESS6} dev eth0`);
    const r = await openConnections(lab, { from: cl, host: LAN_ADDRESS6, port: lab.dataplane!.routerServicePort, count: 5, concurrency: 5, perMs: 3000, totalMs: 15_000 });
    expect(r).toEqual({ ok: 5, failed: 0, notStarted: 0 });
  });

  it('replacing ISP 2’s router changes r1’s gateway on wan2 to the new link-local within a few seconds', async () => {
    const start = Date.now();
    const r = await replaceIspRouter6(lab, 2);
    expect(r).toEqual({ previous: 'fe80::2:1', gateway: 'fe80::2:2' });
    expect(await until(lab, (w) => gatewaysOn(w, 'wan2').join() === 'fe80::2:2', 5000)).toBe(true);
    const took = Date.now() - start;
    expect(took).toBeLessThan(5000);
    console.log(`ISP 2's router replaced: r1's gateway on wan2 is fe80::2:2 after ${took} ms`);
    expect(gatewaysOn(await routerWans6(lab), 'wan1')).toEqual(['fe80::1:1']);
    expect(pingFrom(lab, 6, 'wan2', SERVER_ADDRESS6, { count: 2 }).received).toBe(2);
    expect(inR1(lab, 'ip', ['-6', '-o', 'addr', 'show', 'dev', 'wan2', 'scope', 'global']).stdout).toContain(ipv6Of(lab).isps[1].routerAddress);
  });

  it('stopping ISP 1’s RAs takes r1’s IPv6 gateway on wan1 away (its address stays); resuming gives it back', async () => {
    await stopIspRas(lab, 1);
    expect(await until(lab, (w) => gatewaysOn(w, 'wan1').length === 0, 3000)).toBe(true);
    expect(inR1(lab, 'ip', ['-6', '-o', 'addr', 'show', 'dev', 'wan1', 'scope', 'global']).stdout).toContain(ipv6Of(lab).isps[0].routerAddress);
    await resumeIspRas(lab, 1);
    expect(await until(lab, (w) => gatewaysOn(w, 'wan1').join() === 'fe80::1:1', 3000)).toBe(true);
  });

  it('breaking ISP 3’s IPv6 stops IPv6 through it while its IPv4 works; repaired, IPv6 works again', async () => {
    const server4 = lab.dataplane!.serverAddress;
    await breakIsp6(lab, 3);
    try {
      expect(pingFrom(lab, 6, 'wan3', SERVER_ADDRESS6, { count: 2 }).received).toBe(0);
      expect((await viaIsp(lab, 3, 4, (source) => pingFrom(lab, 4, source, server4, { count: 2 }))).received).toBe(2);
      // r1 still hears ISP 3's RAs: the gateway stays, only the path is dead.
      expect(gatewaysOn(await routerWans6(lab), 'wan3')).toEqual(['fe80::3:1']);
    } finally {
      await repairIsp6(lab, 3);
    }
    expect(pingFrom(lab, 6, 'wan3', SERVER_ADDRESS6, { count: 2 }).received).toBe(2);
  });

  it('a 1,400-byte hop on ISP 2’s path answers a 1,500-byte IPv6 packet with Packet Too Big, and r1 caches mtu 1400', async () => {
    await setMtuHop(lab, 2);
    try {
      expect(ipv6Of(lab).isps[1].mtuHop).toBe(MTU_HOP_BYTES);
      const big = pingFrom(lab, 6, 'wan2', SERVER_ADDRESS6, { count: 2, size: 1500 - 48 });
      expect(big.received).toBe(0);
      expect(big.output).toMatch(/[Pp]acket too big: mtu=1400|message too long, mtu[:=] ?1400/);
      expect(inR1(lab, 'ip', ['-6', 'route', 'get', SERVER_ADDRESS6, 'oif', 'wan2']).stdout).toMatch(/ mtu 1400 /);
      expect(pingFrom(lab, 6, 'wan2', SERVER_ADDRESS6, { count: 2, size: MTU_HOP_BYTES - 48 }).received).toBe(2);
      // Only ISP 2's path is smaller.
      expect(pingFrom(lab, 6, 'wan1', SERVER_ADDRESS6, { count: 2, size: 1500 - 48 }).received).toBe(2);
    } finally {
      await clearMtuHop(lab, 2);
    }
    expect(ipv6Of(lab).isps[1].mtuHop).toBeUndefined();
  });

  it('writes gateway6: auto on every link of the generated playbook (not deployed here: the loader learns gateway6 elsewhere)', () => {
    const text = readFileSync(lab.dataplane!.playbook, 'utf8');
    expect(text.match(/gateway6: auto/g)).toHaveLength(3);
  });

  it('lab down removes everything: namespaces, radvd and every other process, files', async () => {
    const namespaces = lab.namespaces.map((n) => n.name);
    const radvd = ipv6Of(lab).radvdPid;
    expect(radvd).toBeGreaterThan(0);
    await labDown({ dir: lab.dir });
    const left = sh('ip', ['netns', 'list']).stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => namespaces.includes(n));
    expect(left).toEqual([]);
    const running = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(lab.dir);
      } catch {
        return false;
      }
    });
    expect(running).toEqual([]);
    expect(readdirSync(lab.dir)).toEqual([]);
  });
});
