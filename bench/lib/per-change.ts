// One change on one router, looked at closely: multilink's own CLI run in-process over a
// transport that counts what it does (connections, remote executions), alternating two
// weight settings, and the CPU that router spent on it (its sshd's reaped children), against
// one plain `ssh host true`. The routers' CPU per change that the fleet tables show in total.
import type { LabInfo, LabRouter } from '../../src/lab/lab.js';
import type { Session, Transport } from '../../src/transport/transport.js';
import { distCli, distSsh2 } from './dist.js';
import { floor } from './floor.js';
import { childCpuS } from './server-cpu.js';
import { summarize } from './stats.js';

export interface PerChange {
  connections: number;
  executions: number;
  /** Median router CPU seconds of one change. */
  routerCpuS: number;
  /** Median router CPU seconds of one `ssh host true`. */
  floorCpuS: number;
  runs: number;
  outcomes: string[];
}


/** Counts connections and executions (an exec or a conversation each). */
class CountingTransport implements Transport {
  connections = 0;
  executions = 0;
  constructor(private readonly inner: Transport) {}

  async connect(...args: Parameters<Transport['connect']>): Promise<Session> {
    const s = await this.inner.connect(...args);
    this.connections++;
    return {
      exec: (c, o) => (this.executions++, s.exec(c, o)),
      converse: (c, o) => (this.executions++, s.converse(c, o)),
      close: () => s.close(),
    };
  }
}

async function deployOne(inventory: string, router: LabRouter, transport: Transport): Promise<string> {
  let out = '';
  const { run } = await distCli();
  await run(['node', 'multilink', 'deploy', inventory, '--limit', router.name, '--json'], { out: (t) => (out += t), err: () => undefined }, () => transport);
  try {
    return (JSON.parse(out) as { hosts: { outcome: string }[] }).hosts[0]?.outcome ?? 'no report';
  } catch {
    return 'no report';
  }
}

/** `runs` changes on the lab's first router, alternating between two inventories that differ in weights. */
export async function perChange(lab: LabInfo, inventories: [string, string], runs: number, timeoutMs: number): Promise<PerChange> {
  const r = lab.routers[0];
  const cpu: number[] = [];
  const outcomes: string[] = [];
  let connections = 0;
  let executions = 0;
  const { Ssh2Transport } = await distSsh2();
  // Start from the first inventory's state, unmeasured.
  await deployOne(inventories[0], r, new Ssh2Transport());
  for (let i = 0; i < runs; i++) {
    const t = new CountingTransport(new Ssh2Transport());
    const before = childCpuS(r.sshdPid);
    outcomes.push(await deployOne(inventories[(i + 1) % 2], r, t));
    cpu.push(childCpuS(r.sshdPid) - before);
    connections = t.connections;
    executions = t.executions;
  }
  const floorCpu: number[] = [];
  const one = { ...lab, routers: [r] };
  for (let i = 0; i < runs; i++) {
    const before = childCpuS(r.sshdPid);
    await floor(one, timeoutMs);
    floorCpu.push(childCpuS(r.sshdPid) - before);
  }
  return { connections, executions, routerCpuS: summarize(cpu)?.median ?? NaN, floorCpuS: summarize(floorCpu)?.median ?? NaN, runs, outcomes };
}
