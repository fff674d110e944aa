// Issue 5, the data-plane lab: a client behind r1, three shaped ISPs and a server behind
// them. After a deploy, traffic from the client really goes out over the links the
// balance chain picks: downloads, exact nth shares, passive and active FTP through
// masqueraded secondary links, an ISP broken and repaired, and nothing left after down.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, jsonHosts } from './helpers/cli.js';
import { labSupport, reserveTestLab, startTestLab, stopTestLab } from './helpers/lab.js';
import { deployPlaybook, perLink } from './helpers/dataplane.js';
import { breakIsp, labUp, readLab, repairIsp, type LabInfo } from '../src/lab/lab.js';
import { addClientAddresses, inClient, openConnections } from '../src/lab/dataplane-traffic.js';
import { inNamespace } from '../src/lab/lab-process.js';
import { renderDataplanePlaybook } from '../src/lab/lab-playbooks.js';
import { iperfSummaryFromJson } from '../src/lab/dataplane-measure.js';
import { findCommand } from '../src/lab/packages.js';
import { isRunning, listNamespacesSync } from '../src/lab/host-net.js';

function dataplaneSupport(): { ok: boolean; reason?: string } {
  const base = labSupport();
  if (!base.ok) return base;
  for (const cmd of ['iperf3', 'vsftpd', 'curl']) if (!findCommand(cmd)) return { ok: false, reason: `${cmd} is missing (apt-get install iperf3 vsftpd curl)` };
  return { ok: true };
}

const support = dataplaneSupport();
if (!support.ok) console.warn(`skipping data-plane lab tests: ${support.reason}`);

describe.skipIf(!support.ok)('data-plane lab (client, 3 shaped ISPs, server)', () => {
  let lab: LabInfo;
  let stopped = false;

  const deployWith = (method: 'random' | 'nth', weights: number[]): Promise<void> =>
    deployPlaybook(lab, `${method}-${weights.join('-')}`, renderDataplanePlaybook({ method, weights }));


  beforeAll(async () => {
    lab = await startTestLab(1, { dataplane: true });
  }, 180_000);

  afterAll(async () => {
    if (lab && !stopped) await stopTestLab(lab);
  });

  it('comes up with a client, a server and every server process running', () => {
    const dp = lab.dataplane!;
    expect(lab.routers.map((r) => r.name)).toEqual(['r1']);
    const ns = listNamespacesSync();
    for (const n of [dp.clientNamespace, dp.serverNamespace, dp.upstreamNamespace, lab.routers[0].namespace]) expect(ns.has(n)).toBe(true);
    // sshd; iperf3 servers; vsftpd, the server's, the LAN host's and the router's TCP services.
    expect(lab.processes.length).toBe(1 + dp.iperfPorts.length + 4);
    for (const p of lab.processes) expect(isRunning(p.pid)).toBe(true);
  });

  it('refuses a data-plane lab of more than one router, and rates without --dataplane', async () => {
    await expect(labUp({ dataplane: true, routers: 2, dir: join(lab.dir, 'never') })).rejects.toThrow(/exactly one router/);
    await expect(labUp({ rates: [1, 2, 3], dir: join(lab.dir, 'never') })).rejects.toThrow(/only to a data-plane lab/);
    await expect(labUp({ dataplane: true, rates: [1, 0, 3], dir: join(lab.dir, 'never') })).rejects.toThrow(/whole numbers of Mbit/);
  });

  it('after a deploy, a download from the client through the router succeeds', async () => {
    const dp = lab.dataplane!;
    const res = await cli('deploy', dp.inventory, '--json');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(jsonHosts(res).r1.outcome).toBe('changed');
    const r = await inClient(lab, 'iperf3', ['-c', dp.serverAddress, '-p', String(dp.iperfPorts[0]), '-R', '-P', '4', '-t', '2', '-J'], { timeoutMs: 30_000 });
    const sum = iperfSummaryFromJson(r.stdout);
    expect(sum.receivedBytes).toBeGreaterThan(1_000_000);
    // Never more than the three ISPs together (payload < wire rate).
    expect(sum.receivedBps).toBeLessThan(dp.rates.reduce((a, b) => a + b, 0) * 1e6);
  });

  it('nth 1:1:1: 30 short connections, exactly 10 on each link', async () => {
    await deployWith('nth', [1, 1, 1]);
    let result = { ok: 0, failed: 0, notStarted: 0 };
    const shares = await perLink(lab, async () => {
      result = await openConnections(lab, { count: 30, concurrency: 5 });
    });
    expect(result).toEqual({ ok: 30, failed: 0, notStarted: 0 });
    expect(shares).toEqual({ dsl: 10, cable: 10, lte: 10 });
  });

  it('passive and active FTP downloads succeed over every (masqueraded) link', async () => {
    const dp = lab.dataplane!;
    for (const mode of [['--ftp-pasv'], ['--ftp-port', '-']]) {
      // nth 1:1:1 from the previous test: three control connections in a row use the three links.
      const shares = await perLink(lab, async () => {
        for (let i = 0; i < 3; i++) {
          const r = await inClient(lab, 'curl', ['-sS', ...mode, '-o', '/dev/null', '-w', '%{size_download}', '--max-time', '20', dp.ftpUrl], { timeoutMs: 30_000, allowFailure: true });
          expect(r.code, `curl ${mode.join(' ')}: ${r.stderr}`).toBe(0);
          expect(Number(r.stdout)).toBe(dp.ftpFileBytes);
        }
      });
      // Data connections are RELATED (conntrack ftp helper): they inherit the link, never rebalanced.
      expect(shares, mode.join(' ')).toEqual({ dsl: 1, cable: 1, lte: 1 });
    }
  });

  it('breakIsp drops exactly the broken ISP’s connections; repairIsp restores it', async () => {
    await breakIsp(lab, 2);
    await breakIsp(lab, 2); // idempotent
    const broken = await openConnections(lab, { count: 30, concurrency: 10, perMs: 1500 });
    expect(broken).toEqual({ ok: 20, failed: 10, notStarted: 0 });
    await repairIsp(lab, 2);
    const repaired = await openConnections(lab, { count: 30, concurrency: 10, perMs: 3000 });
    expect(repaired).toEqual({ ok: 30, failed: 0, notStarted: 0 });
  });

  it('exceptions by source and LAN (issue 22 §4): a source subnet leaves by its link, masqueraded there, never balanced', async () => {
    const dp = lab.dataplane!;
    // A "guest" half of the LAN over lte, a "phone" range over cable for the server's port; the rest balanced.
    await addClientAddresses(lab, ['192.0.2.130', '192.0.2.40', '192.0.2.70']);
    const exceptions = [
      { source: ['192.0.2.128/25'], in: ['lan0'], via: 'lte' },
      { source: ['192.0.2.32/27'], protocol: 'tcp' as const, ports: [dp.tcpPort], via: 'cable' },
    ];
    await deployPlaybook(lab, 'by-source', renderDataplanePlaybook({ method: 'nth', weights: [1, 1, 1], exceptions }));
    const wanOf = new Map(dp.isps.map((i) => [i.routerAddress, i.link]));
    /** The link each of SOURCE's connections to the server left by: the reply goes to that WAN's (masqueraded) address. */
    const egress = async (source: string): Promise<string[]> => {
      const res = await inNamespace(lab.routers[0].namespace, 'conntrack', ['-L', '-p', 'tcp', '--dport', String(dp.tcpPort), '-s', source], { timeoutMs: 15_000, allowFailure: true });
      return res.stdout.split('\n').filter((l) => l.includes('src=')).map((l) => wanOf.get([...l.matchAll(/\bdst=(\S+)/g)][1]?.[1] ?? '') ?? `? ${l}`);
    };
    for (const [source, link] of [['192.0.2.130', 'lte'], ['192.0.2.40', 'cable']]) {
      let result = { ok: 0, failed: 0, notStarted: 0 };
      const balanced = await perLink(lab, async () => {
        result = await openConnections(lab, { count: 6, concurrency: 3, source, perMs: 3000, totalMs: 30_000 });
      });
      expect(result, source).toEqual({ ok: 6, failed: 0, notStarted: 0 });
      expect(balanced, source).toEqual({ dsl: 0, cable: 0, lte: 0 });
      expect(await egress(source), source).toEqual(Array(6).fill(link));
    }
    // Outside both subnets: balanced, nth 1:1:1 over every link.
    const shares = await perLink(lab, async () => {
      expect(await openConnections(lab, { count: 6, concurrency: 3, source: '192.0.2.70', perMs: 3000, totalMs: 30_000 })).toEqual({ ok: 6, failed: 0, notStarted: 0 });
    });
    expect(shares).toEqual({ dsl: 2, cable: 2, lte: 2 });
    expect((await egress('192.0.2.70')).sort()).toEqual(['cable', 'cable', 'dsl', 'dsl', 'lte', 'lte']);
    // Facts read them back: drift finds the rules as deployed, on iptables and then on nft.
    const inventory = join(lab.dir, 'inventory-by-source.yaml');
    const inSync = async (inv: string): Promise<void> => {
      const drift = await cli('drift', inv, '--json');
      expect(drift.code, drift.stdout + drift.stderr).toBe(0);
      expect((JSON.parse(drift.stdout) as { hosts: { outcome: string }[] }).hosts.map((h) => h.outcome)).toEqual(['in_sync']);
    };
    await inSync(inventory);
    if (!findCommand('nft')) return;
    const nftInventory = join(lab.dir, 'inventory-by-source-nft.yaml');
    writeFileSync(nftInventory, readFileSync(inventory, 'utf8').replace(/multilink_firewall: \w+/, 'multilink_firewall: nft'));
    const moved = await cli('deploy', nftInventory, '--json');
    expect(moved.code, moved.stdout + moved.stderr).toBe(0);
    expect(jsonHosts(moved).r1.changes.map((c) => c.kind)).toContain('nft');
    await inSync(nftInventory);
    // A new guest source (no conntrack entry yet): over lte by the nft table's rules.
    await addClientAddresses(lab, ['192.0.2.131']);
    expect(await openConnections(lab, { count: 3, concurrency: 3, source: '192.0.2.131', perMs: 3000, totalMs: 30_000 })).toEqual({ ok: 3, failed: 0, notStarted: 0 });
    expect(await egress('192.0.2.131')).toEqual(['lte', 'lte', 'lte']);
  });

  it('a data-plane lab that fails after its servers started leaves nothing behind', async () => {
    const opts = await reserveTestLab();
    let seen: LabInfo | undefined;
    await expect(
      labUp({
        ...opts,
        dataplane: true,
        onStep: (step) => {
          if (step !== 'ready') return;
          seen = readLab(opts.dir);
          throw new Error('stop here');
        },
      }),
    ).rejects.toThrow(/stop here/);
    expect(seen?.dataplane).toBeDefined();
    const left = listNamespacesSync();
    expect(seen!.namespaces.map((n) => n.name).filter((n) => left.has(n))).toEqual([]);
    expect(seen!.processes.length).toBe(1 + seen!.dataplane!.iperfPorts.length + 4);
    expect(seen!.processes.map((p) => p.pid).filter(isRunning)).toEqual([]);
    expect(readLab(opts.dir)).toBeUndefined();
  });

  it('labDown leaves no namespace, process or file behind', async () => {
    const dp = lab.dataplane!;
    const pids = lab.processes.map((p) => p.pid);
    const names = lab.namespaces.map((n) => n.name);
    expect(names).toEqual(expect.arrayContaining([dp.clientNamespace, dp.serverNamespace]));
    const dir = lab.dir;
    stopped = true;
    await stopTestLab(lab);
    const left = listNamespacesSync();
    expect(names.filter((n) => left.has(n))).toEqual([]);
    expect(pids.filter(isRunning)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });
});
