// Round trip against real netfilter and iproute2: what a deploy sends to a fresh router (the
// payload and commands `multilink render` prints) must load, and every rule string compile
// produces must be exactly what iptables-save (legacy and nft) and ip print back. Runs in
// scratch network namespaces only; the host's own netfilter is never touched.
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balanceRules } from '../src/compile/balance.js';
import { compileHost } from '../src/compile/desired-state.js';
import { freshFacts } from '../src/facts/fresh.js';
import { parseIptablesSave } from '../src/facts/iptables-save.js';
import type { HostConfig } from '../src/model/config.js';
import type { DesiredState, JumpSpec, NetfilterTable } from '../src/model/desired.js';
import { NETFILTER_TABLES } from '../src/model/desired.js';
import { planHost } from '../src/plan/plan.js';
import { routeShowText, ruleShowText } from '../src/render/ip.js';
import { chainPayload, tableOpsPayload } from '../src/render/iptables-restore.js';
import { renderPlan, type RenderedPlan } from '../src/render/ops.js';
import { lines, shellLib } from '../src/shell/lib.js';
import { ChainSim } from './fixtures/render/chain-sim.js';
import { exception, hostConfig, link } from './fixtures/render/host-config.js';

type Flavour = 'legacy' | 'nft';
const FLAVOURS: Flavour[] = ['legacy', 'nft'];

/** What a first deploy sends for this desired state (the planner on a fresh router, rendered). */
function firstDeploy(d: DesiredState): RenderedPlan {
  const ops = planHost(d, freshFacts(d)).ops;
  if (!ops) throw new Error('a fresh router needs every object');
  return renderPlan(ops, d);
}

/** Every ML_ chain declared and refilled, no jumps: what a plan sends when every chain changed. */
function chainsOnly(d: DesiredState): string {
  return d.chains.map((c) => chainPayload(c.table, c.name, c.rules)).join('');
}

/** Only the given jumps (appended), with the desired chains. */
function withJumps(d: DesiredState, jumps: JumpSpec[]): string {
  return tableOpsPayload(
    NETFILTER_TABLES.map((table) => ({
      table,
      declare: d.chains.filter((c) => c.table === table).map((c) => c.name),
      unhook: [],
      fill: d.chains.filter((c) => c.table === table).map((c) => ({ name: c.name, rules: c.rules })),
      drop: [],
      hook: jumps.filter((j) => j.table === table).map((j) => ({ chain: j.chain, rule: j.rule })),
    })),
  );
}

function whyNot(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (network namespaces need it)';
  const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (netns.error || netns.status !== 0) return `no usable \`ip netns\` (${netns.error?.message ?? netns.stderr.trim()})`;
  for (const f of FLAVOURS) {
    for (const tool of [`iptables-${f}-restore`, `iptables-${f}-save`]) {
      const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
      if (r.error || r.status !== 0) return `${tool} not available (apt-get install -y iptables)`;
    }
  }
  return undefined;
}

const skipReason = whyNot();
if (skipReason) console.warn(`render round-trip tests skipped: ${skipReason}`);

let nsCounter = 0;
function newNamespace(): string {
  const name = `mlrt-${process.pid}-${nsCounter++}`;
  execFileSync('ip', ['netns', 'add', name]);
  return name;
}

function inNs(ns: string, cmd: string[], input?: string): string {
  return execFileSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

function deleteNamespace(ns: string | undefined): void {
  if (ns) spawnSync('ip', ['netns', 'delete', ns]);
}

/** Chain name → rules, from iptables-save output of one table (multilink's own parser). */
function parseSave(text: string): Map<string, string[]> {
  return new Map(parseIptablesSave(text).chains.map((c) => [c.name, c.rules]));
}

function saveTable(ns: string, f: Flavour, table: NetfilterTable, counters = false): string {
  return inNs(ns, [`iptables-${f}-save`, '-t', table, ...(counters ? ['-c'] : [])]);
}

/** Empties mangle, nat and raw of the namespace (a restore without --noflush replaces them). */
function resetTables(ns: string, f: Flavour): void {
  inNs(ns, [`iptables-${f}-restore`], NETFILTER_TABLES.map((t) => `*${t}\nCOMMIT\n`).join(''));
}

function expectLiveEqualsDesired(ns: string, f: Flavour, d: DesiredState): void {
  for (const table of NETFILTER_TABLES) {
    const live = parseSave(saveTable(ns, f, table));
    const liveMl = [...live.entries()].filter(([name]) => name.startsWith('ML_'));
    const wanted = d.chains.filter((c) => c.table === table);
    expect(Object.fromEntries(liveMl), `${f} ${table} ML_ chains`).toEqual(Object.fromEntries(wanted.map((c) => [c.name, c.rules])));
    for (const builtin of ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']) {
      const jumps = d.jumps.filter((j) => j.table === table && j.chain === builtin).map((j) => j.rule);
      expect(live.get(builtin) ?? [], `${f} ${table} ${builtin} jumps`).toEqual(jumps);
    }
  }
}

const fullPlay: Partial<HostConfig['play']> = {
  lan: ['lan0', 'lan1'],
  helpers: ['ftp'],
  links: [link('dsl', 1, 1), link('cable', 2, 1, { masquerade: false }), link('lte', 3, 1)],
  exceptions: [
    exception({ destination: '192.168.1.0/24', via: 'main' }),
    exception({ protocol: 'tcp', ports: [21, 22, 80, 443, 6667], via: 'dsl' }),
    exception({ protocol: 'udp', ports: [53], via: 'dsl' }),
    exception({ destination: '203.0.113.5/32', protocol: 'tcp', ports: [25], via: 'cable' }),
    exception({ destination: '198.51.100.0/24', protocol: 'udp', via: 'lte' }),
    exception({ ports: [5060], via: 'cable' }),
    exception({ protocol: 'tcp', ports: Array.from({ length: 17 }, (_, i) => 7000 + i), via: 'main' }),
    exception({ in: ['lan1'], via: 'lte' }),
    exception({ source: ['192.0.2.0/25', '198.51.100.7/32'], in: ['lan0', 'lan1'], protocol: 'udp', ports: [5060], via: 'dsl' }),
    exception({ source: ['192.0.2.128/25'], destination: '203.0.113.0/24', protocol: 'tcp', via: 'main' }),
  ],
};

function withMask(cfg: HostConfig, markMask: number): HostConfig {
  return { ...cfg, settings: { ...cfg.settings, markMask } };
}

const SCENARIOS: [string, HostConfig][] = [
  ['random 1:1:1, every exception kind, ftp, masquerade, two lans', hostConfig({ ...fullPlay, method: 'random' })],
  ['random 1:2:3', hostConfig({ method: 'random' })],
  ['random 1:6', hostConfig({ method: 'random', links: [link('a', 1, 1), link('b', 2, 6)] })],
  ['random 1:4095:3:4093 (half-even ties)', hostConfig({ method: 'random', links: [link('a', 1, 1), link('b', 2, 4095), link('c', 3, 3), link('d', 4, 4093)] })],
  ['random 97:1:13:250:7', hostConfig({ method: 'random', links: [97, 1, 13, 250, 7].map((w, i) => link(`l${i + 1}`, i + 1, w)) })],
  ['nth 1:2:3', hostConfig({ ...fullPlay, method: 'nth', links: [link('dsl', 1, 1), link('cable', 2, 2), link('lte', 3, 3)] })],
  ['nth 5:3', hostConfig({ method: 'nth', links: [link('a', 1, 5), link('b', 2, 3)] })],
  ['sticky 1:2:3', hostConfig({ ...fullPlay, method: 'sticky', links: [link('dsl', 1, 1), link('cable', 2, 2), link('lte', 3, 3)] })],
  ['tiers, local only', hostConfig({ method: 'random', traffic: ['local'], helpers: ['ftp'], links: [link('a', 1, 2), link('b', 2, 0), link('c', 3, 1, { tier: 2 })] })],
  ['forwarded only, no masquerade', hostConfig({ method: 'random', traffic: ['forwarded'], links: [link('a', 1, 1, { masquerade: false })] })],
  ['mask 0xff', withMask(hostConfig({ method: 'sticky' }), 0xff)],
  ['mask 0xffffffff', withMask(hostConfig({ ...fullPlay, method: 'nth' }), 0xffffffff)],
  ['mask 0xf0000', withMask(hostConfig({ method: 'random' }), 0xf0000)],
];

describe.skipIf(skipReason !== undefined).each(FLAVOURS)('iptables-%s round trip', (f) => {
  let ns: string | undefined;
  beforeAll(() => {
    ns = newNamespace();
  });
  afterAll(() => deleteNamespace(ns));

  it.each(SCENARIOS)('%s: iptables-save prints back exactly the desired rules', (_name, cfg) => {
    if (!ns) throw new Error('no namespace');
    const d = compileHost(cfg);
    resetTables(ns, f);
    inNs(ns, [`iptables-${f}-restore`, '--noflush'], firstDeploy(d).iptables);
    expectLiveEqualsDesired(ns, f, d);
    // Loading the chains again empties and refills them: nothing doubles, jumps untouched.
    inNs(ns, [`iptables-${f}-restore`, '--noflush'], chainsOnly(d));
    expectLiveEqualsDesired(ns, f, d);
  });

  it('IPv6 exceptions by source and LAN: ip6tables-save prints back exactly the desired rules', () => {
    if (!ns) throw new Error('no namespace');
    const d = compileHost(
      hostConfig({
        ...fullPlay,
        method: 'sticky',
        links: [link('dsl', 1, 1, { gateway6: '2001:db8:1::1' }), link('cable', 2, 1), link('lte', 3, 1, { gateway6: 'auto' })],
        exceptions: [
          exception({ in: ['lan1'], via: 'lte' }),
          exception({ source: ['2001:db8:5::/48', '2001:db8:6::1/128', '192.0.2.0/24'], in: ['lan0', 'lan1'], protocol: 'udp', ports: [5060], via: 'dsl' }),
          exception({ source: ['fd00:0:0:1::/64'], destination: '2001:db8:99::/48', protocol: 'tcp', via: 'main' }),
        ],
      }),
    );
    const v6 = d.chains.filter((c) => c.family === 6 && c.table === 'mangle');
    expect(v6.find((c) => c.name === 'ML_NEW')?.rules.filter((r) => r.includes('-s ')).length).toBe(5);
    inNs(ns, [`ip6tables-${f}-restore`], NETFILTER_TABLES.map((t) => `*${t}\nCOMMIT\n`).join(''));
    inNs(ns, [`ip6tables-${f}-restore`, '--noflush'], firstDeploy(d).ip6tables);
    const live = parseSave(inNs(ns, [`ip6tables-${f}-save`, '-t', 'mangle']));
    for (const c of v6) expect(live.get(c.name), `${f} ip6tables ${c.name}`).toEqual(c.rules);
  });

  it('replacing only the balance chain with a subset leaves the rest as it was', () => {
    if (!ns) throw new Error('no namespace');
    const d = compileHost(hostConfig({ ...fullPlay, method: 'sticky' }));
    resetTables(ns, f);
    inNs(ns, [`iptables-${f}-restore`, '--noflush'], firstDeploy(d).iptables);
    const subset = balanceRules(d.links.filter((l) => l.index !== 2), d.method, d.settings.markMask);
    inNs(ns, [`iptables-${f}-restore`, '--noflush'], chainPayload(d.balanceChain.table, d.balanceChain.name, subset));
    const replaced = { ...d, chains: d.chains.map((c) => (c.name === 'ML_BALANCE' ? { ...c, rules: subset } : c)) };
    expectLiveEqualsDesired(ns, f, replaced);
  });

  it('random on the real kernel: 3,000 packets through 1:2:3, each marked once, shares near 1/6, 2/6, 3/6', () => {
    if (!ns) throw new Error('no namespace');
    const d = compileHost(hostConfig({ method: 'random' }));
    resetTables(ns, f);
    inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
    const hook = { table: 'mangle' as const, chain: 'OUTPUT' as const, rule: '-o lo -p udp -m udp --dport 9 -j ML_BALANCE' };
    inNs(ns, [`iptables-${f}-restore`, '--noflush'], withJumps(d, [hook]));
    inNs(ns, ['bash', '-c', 'for i in $(seq 3000); do printf x > /dev/udp/127.0.0.1/9; done']);
    const perLink = [0, 0, 0];
    for (const line of saveTable(ns, f, 'mangle', true).split('\n')) {
      const m = /^\[(\d+):\d+\] -A ML_BALANCE .*--set-xmark 0x([123])00\//.exec(line);
      if (m) perLink[Number(m[2]) - 1] += Number(m[1]);
    }
    expect(perLink.reduce((a, b) => a + b, 0)).toBe(3000);
    // 5 standard deviations of a binomial with n = 3000 is under 4.6 points.
    perLink.forEach((n, i) => expect(Math.abs(n / 3000 - (i + 1) / 6)).toBeLessThan(0.046));
  });

  it('nth on the real kernel: connection by connection, the same links as the simulator, exact per cycle', () => {
    if (!ns) throw new Error('no namespace');
    const d = compileHost(hostConfig({ method: 'nth' }));
    resetTables(ns, f);
    inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
    const hook = { table: 'mangle' as const, chain: 'OUTPUT' as const, rule: '-o lo -p udp -m udp --dport 9 -j ML_BALANCE' };
    inNs(ns, [`iptables-${f}-restore`, '--noflush'], withJumps(d, [hook]));
    const balance = d.chains.find((c) => c.name === 'ML_BALANCE')?.rules ?? [];
    const sim = new ChainSim(balance);
    const counters = (): number[] =>
      saveTable(ns ?? '', f, 'mangle', true)
        .split('\n')
        .flatMap((line) => {
          const m = /^\[(\d+):\d+\] -A ML_BALANCE /.exec(line);
          return m ? [Number(m[1])] : [];
        });
    let before = counters();
    const kernel: number[] = [];
    const simulated: number[] = [];
    for (let n = 0; n < 12; n++) {
      inNs(ns, ['bash', '-c', 'printf x > /dev/udp/127.0.0.1/9']);
      const after = counters();
      const fired = after.map((c, i) => c - before[i]);
      expect(fired.reduce((a, b) => a + b, 0), `packet ${n + 1} matched one rule`).toBe(1);
      const rule = balance[fired.indexOf(1)];
      kernel.push(Number(/--set-xmark (0x[0-9a-f]+)\//.exec(rule)?.[1]));
      simulated.push(sim.run());
      before = after;
    }
    expect(kernel).toEqual(simulated);
    expect(kernel.filter((m) => m === 0x100)).toHaveLength(2);
    expect(kernel.filter((m) => m === 0x200)).toHaveLength(4);
    expect(kernel.filter((m) => m === 0x300)).toHaveLength(6);
  });
});

describe.skipIf(skipReason !== undefined)('ip rule, ip route and sysctl round trip', () => {
  let ns: string | undefined;
  beforeAll(() => {
    ns = newNamespace();
    for (const [i, name] of ['wan1', 'wan2', 'eth0.100'].entries()) {
      inNs(ns, ['ip', 'link', 'add', name, 'type', 'veth', 'peer', 'name', `peer${i}`]);
      inNs(ns, ['ip', 'addr', 'add', `100.64.${i + 1}.2/24`, 'dev', name]);
      inNs(ns, ['ip', 'link', 'set', name, 'up']);
      inNs(ns, ['ip', 'link', 'set', `peer${i}`, 'up']);
    }
  });
  afterAll(() => deleteNamespace(ns));

  /** Runs rendered commands in the namespace, under lib.sh as a deploy runs them. */
  function runRendered(actions: RenderedPlan['rules']): void {
    inNs(ns ?? '', ['sh', '-s'], `${lines(shellLib('none'), ...actions.map((a) => a.command)).text}\n`);
  }

  it('the rule and route commands a deploy sends read back as ruleShowText / routeShowText', () => {
    if (!ns) throw new Error('no namespace');
    const cfg = hostConfig({ links: [link('a', 1, 1), link('b', 2, 1), link('vlan', 3, 1, { interface: 'eth0.100' })] });
    const d = compileHost(cfg);
    const full = compileHost(withMask({ ...cfg, settings: { ...cfg.settings, rulePriority: 2000, tableBase: 300 } }, 0xffffffff));
    for (const desired of [d, full]) {
      const sent = firstDeploy(desired);
      runRendered(sent.rules);
      runRendered(sent.routes);
      const shown = inNs(ns, ['ip', 'rule', 'show']);
      for (const r of desired.rules) expect(shown.split('\n')).toContain(`${r.priority}:\t${ruleShowText(r)}`);
      for (const r of desired.routes) {
        const lines = inNs(ns, ['ip', 'route', 'show', 'table', String(r.table)]).split('\n').map((l) => l.trim()).filter(Boolean);
        expect(lines).toEqual([routeShowText(r)]);
      }
    }
  });

  it('the sysctl writes a deploy sends set the keys they name, in the namespace, dotted interface names too', () => {
    if (!ns) throw new Error('no namespace');
    for (const [mode, value] of [['loose', '2'], ['off', '0']] as const) {
      const d = compileHost(hostConfig({ links: [link('a', 1, 1), link('vlan', 3, 1, { interface: 'eth0.100' })], rpFilter: mode }));
      for (const key of ['net/ipv4/conf/wan1/rp_filter', 'net/ipv4/conf/eth0.100/rp_filter']) inNs(ns, ['sh', '-c', `echo 1 > /proc/sys/${key}`]);
      runRendered(firstDeploy(d).sysctls);
      for (const s of d.sysctls) {
        expect(s.value === value || s.key === 'net/ipv4/ip_forward', s.key).toBe(true);
        expect(inNs(ns, ['cat', `/proc/sys/${s.key}`]).trim(), s.key).toBe(s.value);
      }
    }
  });
});
