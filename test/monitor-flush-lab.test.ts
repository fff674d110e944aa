// Issue 23, Medium 4, on a lab router: a link that dies while a deploy holds the lock (its
// confirmation window: the plan received, the lock held by a live process, taken with the
// router's own txn-lock.sh) has its chain change deferred; its conntrack entries must not be
// deleted before a chain without it is in force (they would be made again at once on the dead
// link, by the old chain), and must be deleted when the deferred load happens. Shown with a
// UDP flow of the router's own (a packet every 100 ms from one source port, like a WireGuard
// tunnel): on dsl, the only tier-1 link, it must end up on a live link once the lock goes.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabInfo } from '../src/lab/lab.js';
import { labRunDir } from '../src/lab/lab-files.js';
import { RunLayout } from '../src/shell/layout.js';
import { cli } from './helpers/cli.js';
import { inRouter, labInventoryWith, labSupport, sh, startTestLab, stopTestLab } from './helpers/lab.js';

const support = labSupport();
if (!support.ok) console.warn(`skipping monitor flush lab tests: ${support.reason}`);

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));
const SPORT = 40123;
const MARK = { dsl: 256, cable: 512, lte: 768 };
const LIB = new URL('../src/shell/lib.sh', import.meta.url).pathname;
const LOCK = new URL('../src/remote/txn-lock.sh', import.meta.url).pathname;
const TXN_ID = 'feedc0de00000023';

/** A UDP flow: a packet every 100 ms from SPORT to 198.51.100.3:9999, for at most 90 s. */
const FLOW = `import dgram from 'node:dgram';
const s = dgram.createSocket('udp4');
s.on('error', () => undefined);
s.bind(${SPORT}, () => {
  const t = setInterval(() => s.send('x', 9999, '198.51.100.3', () => undefined), 100);
  setTimeout(() => { clearInterval(t); s.close(); }, 90000);
});
`;

describe.skipIf(!support.ok)('issue 23 §4: the failed link\'s flows move once the deferred chain is in force', () => {
  let lab: LabInfo;
  let inv: string;
  const pids: number[] = [];
  const r = () => lab.routers[0];
  const up = (...args: string[]) => sh('ip', ['netns', 'exec', lab.upstreamNamespace, ...args]);
  const state = () => {
    const f = new RunLayout(labRunDir(r())).monitorState;
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  };
  /** The flow's conntrack entry: its id and mark, or undefined while there is none. */
  function flow(): { id: string; mark: number } | undefined {
    const res = inRouter(lab, r().name, 'conntrack', ['-L', '-p', 'udp', '--sport', String(SPORT), '-o', 'id']);
    const m = /mark=(\d+).*id=(\d+)/.exec(res.stdout);
    return m ? { mark: Number(m[1]), id: m[2] } : undefined;
  }
  async function until<T>(what: () => T | undefined | false, limitMs: number): Promise<T | undefined> {
    const start = Date.now();
    for (;;) {
      const v = what();
      if (v) return v;
      if (Date.now() - start > limitMs) return undefined;
      await sleep(100);
    }
  }
  function start(args: string[]): number {
    const child = spawn('ip', ['netns', 'exec', r().namespace, ...args], { detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${args.join(' ')}`);
    pids.push(child.pid);
    return child.pid;
  }
  const stop = (pid: number) => {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone already
    }
  };

  beforeAll(async () => {
    lab = await startTestLab(1);
    for (const a of ['198.51.100.2/32', '198.51.100.3/32']) expect(up('ip', 'addr', 'add', a, 'dev', 'lo').code).toBe(0);
    // dsl the only tier-1 link: new connections go to it alone while it is up.
    const pb = readFileSync(lab.playbook, 'utf8')
      .replace(/(name: cable, .*weight: 2) }/, '$1, tier: 2 }')
      .replace('  rp_filter: loose', '  rp_filter: loose\n  health: { targets: [198.51.100.2, 198.51.100.3], interval: 1s, down_after: 3, up_after: 3, quorum: 1 }');
    expect(pb).toMatch(/name: cable, .*tier: 2 }/);
    inv = labInventoryWith(lab, 'health', pb);
    const res = await cli('deploy', inv, '--json');
    expect(res.code, res.stdout + res.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    for (const p of pids) stop(p);
    if (lab) await stopTestLab(lab);
  });

  it('a link dying in a deploy\'s confirmation window: its flows stay until the lock goes, then move to a live link', async () => {
    expect(await until(() => /^mask 7$/m.test(state()), 15_000), state()).toBe(true);
    const flowFile = join(lab.dir, 'udp-flow.mjs');
    writeFileSync(flowFile, FLOW);
    const sender = start([process.execPath, flowFile]);
    const before = await until(() => flow(), 10_000);
    expect(before?.mark).toBe(MARK.dsl);

    // A deploy in its confirmation window: the lock taken, its plan received, its holder alive.
    const epochFile = join(lab.dir, 'lock-epoch');
    const holderScript = `ML_IPTABLES=none; . '${LIB}'
ML_STATE='${r().stateDir}'; ML_TXN_ID=${TXN_ID}; ML_HOLDER='a deploy in its confirmation window'; ML_LEASE_S=300; ML_WAIT_S=120
. '${LOCK}'
ml_lock >/dev/null || exit 1
mkdir -p "$ML_STATE/txn/$ML_TXN_ID" && : > "$ML_STATE/txn/$ML_TXN_ID/received" || exit 1
echo "$ml_epoch" > '${epochFile}'
exec sleep 60`;
    const holder = start(['sh', '-c', holderScript]);
    expect(await until(() => existsSync(epochFile) && readFileSync(epochFile, 'utf8').trim(), 10_000)).toBeTruthy();
    const epoch = readFileSync(epochFile, 'utf8').trim();
    const breakRule = ['iptables-nft', '-I', 'INPUT', '-i', 'isp1', '-j', 'DROP'];
    expect(up(...breakRule).code).toBe(0);
    try {
      expect(await until(() => /^link dsl down/m.test(state()), 10_000), state()).toBe(true);
      // Two more rounds while the lock holds the chain back: the entry is the same one, still on dsl.
      await sleep(2000);
      const held = flow();
      expect(held, 'the flow was deleted while the old chain was in force').toEqual(before);

      // The deploy ends: its lock goes; the deferred chain is loaded within an interval or two.
      writeFileSync(join(epoch, 'released'), '');
      writeFileSync(join(r().stateDir, 'txn', TXN_ID, 'ended'), 'test\n');
      stop(holder);
      const moved = await until(() => {
        const f = flow();
        return f && f.mark !== MARK.dsl ? f : undefined;
      }, 6_000);
      expect(moved, `the flow stayed on the dead link: ${JSON.stringify(flow())}`).toBeDefined();
      expect([MARK.cable, MARK.lte]).toContain(moved?.mark);
    } finally {
      stop(sender);
      up('iptables-nft', '-D', 'INPUT', '-i', 'isp1', '-j', 'DROP');
    }
    expect(await until(() => /^link dsl up/m.test(state()), 10_000), state()).toBe(true);
  }, 90_000);
});
