// bench/guard-cpu: what the guard-only monitor of a play without health (issue 19 §3) costs a
// router: it looks every second whether another tool flushed multilink's netfilter objects.
// On one lab router, deployed with each backend, the monitor process's CPU (its own and its
// waited-for children's: nft or iptables-save, awk, sleep) is read from /proc over a window.
// Usage: npm run bench:guard-cpu [-- SECONDS] (default 60). Needs root, like the lab.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg } from 'node:os';
import { startLab, stopLab } from './lib/lab-session.js';
import { copyInventory, detectCli, multilink, nftInventory, unexpectedOutcomes } from './lib/multilink.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const seconds = Number(process.argv[2] ?? 60);
if (!Number.isFinite(seconds) || seconds < 5 || seconds > 3600) throw new Error('SECONDS: 5 to 3600');
const log = (line: string): void => void process.stderr.write(`[guard-cpu ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const tick = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU ticks of a process and of the children it waited for (utime stime cutime cstime). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
}

async function main(): Promise<void> {
  const cli = await detectCli(ROOT);
  const lab = await startLab(1, log);
  const out: string[] = [`guard-only monitor CPU, ${new Date().toISOString()}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`, `window ${seconds} s per backend, one lab router, play without health (interval 1 s)`];
  try {
    const r = lab.routers[0];
    for (const backend of ['iptables', 'nft'] as const) {
      const inv = join(lab.dir, `guard-${backend}.yaml`);
      if (backend === 'nft') nftInventory(lab.inventory, inv);
      else copyInventory(lab.inventory, inv);
      const run = await multilink(cli, ['deploy', inv, '--json'], 120_000);
      const bad = unexpectedOutcomes(run, 1, ['changed', 'unchanged']);
      if (bad) throw new Error(`deploy (${backend}): ${bad}`);
      const pid = Number(readFileSync(join(r.stateDir, 'monitor', 'pid'), 'utf8').trim());
      const script = readFileSync(join(r.stateDir, 'monitor', 'monitor.sh'), 'utf8');
      if (!/^ML_INTERVAL=/m.test(script) || !/guard-only|no link monitor/.test(script)) throw new Error('the monitor is not the guard-only one');
      const t0 = Date.now();
      const c0 = cpuTicks(pid);
      await new Promise((ok) => setTimeout(ok, seconds * 1000));
      const c1 = cpuTicks(pid);
      const wall = (Date.now() - t0) / 1000;
      const cpuS = (c1 - c0) / tick;
      const line = `${backend.padEnd(8)} ${r.iptables !== undefined && backend === 'iptables' ? `(iptables-${r.iptables}) ` : ''}CPU ${cpuS.toFixed(2)} s in ${wall.toFixed(1)} s: ${((100 * cpuS) / wall).toFixed(2)} % of one core, ${((1000 * cpuS) / wall).toFixed(1)} ms per 1 s round`;
      log(line);
      out.push(line);
    }
  } finally {
    stopLab(lab);
  }
  const text = `${out.join('\n')}\n`;
  process.stdout.write(text);
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `guard-cpu-${new Date().toISOString().slice(0, 10)}.txt`), text);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
