// Where a no-op deploy's time goes: multilink's own transport and gather script, driven
// in-process phase by phase over the whole fleet (`forks` at a time), with the same inputs a
// deploy uses. Read-only: it connects and gathers, it never applies.
import { loadProject, assertNoErrors } from '../../src/load/resolve.js';
import { compileHost } from '../../src/compile/desired-state.js';
import { gatherRequest } from '../../src/facts/gather-request.js';
import { runPool } from '../../src/util/pool.js';
import { distGather, distSsh2 } from './dist.js';

export interface ProbeRun {
  /** Whole fleet, connect + gather + close per host. */
  wallMs: number;
  connectMs: number[];
  gatherMs: number[];
  closeMs: number[];
  /** Whole fleet, connect + close only (no channel). */
  connectOnlyWallMs: number;
  failures: string[];
  cpuS: number;
}

function ms(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e6;
}

async function targetsOf(inventory: string) {
  const { gatherScript } = await distGather();
  const project = loadProject(inventory, {});
  assertNoErrors(project);
  return project.hosts.map((cfg) => ({ cfg, script: gatherScript(gatherRequest(compileHost(cfg))).text }));
}

/** The gather script a deploy sends to each host, by inventory name. */
export async function gatherScripts(inventory: string): Promise<Map<string, string>> {
  return new Map((await targetsOf(inventory)).map((t) => [t.cfg.name, t.script]));
}

export async function probe(inventory: string, forks: number, timeoutMs: number): Promise<ProbeRun> {
  const targets = await targetsOf(inventory);
  const { Ssh2Transport } = await distSsh2();
  const transport = new Ssh2Transport();
  const failures: string[] = [];
  const out: ProbeRun = { wallMs: 0, connectMs: [], gatherMs: [], closeMs: [], connectOnlyWallMs: 0, failures, cpuS: 0 };
  const connect = (t: (typeof targets)[number]) =>
    transport.connect({ name: t.cfg.name, connection: t.cfg.connection, knownHosts: t.cfg.settings.knownHosts }, { acceptNewHostKeys: false, timeoutMs });

  const cpu0 = process.cpuUsage();
  let t0 = process.hrtime.bigint();
  await runPool(targets, forks, async (t) => {
    try {
      let s = process.hrtime.bigint();
      const session = await connect(t);
      out.connectMs.push(ms(s));
      s = process.hrtime.bigint();
      const res = await session.exec('sh -s', { stdin: t.script, timeoutMs });
      out.gatherMs.push(ms(s));
      if (res.code !== 0) failures.push(`${t.cfg.name}: gather exit ${res.code}`);
      s = process.hrtime.bigint();
      await session.close();
      out.closeMs.push(ms(s));
    } catch (err) {
      failures.push(`${t.cfg.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  out.wallMs = ms(t0);

  t0 = process.hrtime.bigint();
  await runPool(targets, forks, async (t) => {
    try {
      await (await connect(t)).close();
    } catch (err) {
      failures.push(`${t.cfg.name} (connect only): ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  out.connectOnlyWallMs = ms(t0);
  const cpu = process.cpuUsage(cpu0);
  out.cpuS = (cpu.user + cpu.system) / 1e6;
  return out;
}
