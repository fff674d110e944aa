// drift: the plan read as differences (table-driven over hand-made changes to a converged
// router), the per-host engine over a fake transport, the command's exit codes, and its
// human and JSON views.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyDrift, driftExitCode } from '../src/plan/drift.js';
import { planHost } from '../src/plan/plan.js';
import { driftHost } from '../src/deploy/drift.js';
import { driftJson, driftTable, driftText } from '../src/report/drift-report.js';
import { FakeTransport } from '../src/transport/fake-transport.js';
import { run } from '../src/cli.js';
import { loadProject } from '../src/load/resolve.js';
import { compileHost } from '../src/compile/desired-state.js';
import type { HostConfig } from '../src/model/config.js';
import type { DesiredState } from '../src/model/desired.js';
import type { DriftReport } from '../src/model/drift.js';
import type { HostFacts } from '../src/model/facts.js';
import { convergedFacts, twoLinkDesired } from './helpers/desired.js';
import { convergedFactsFor } from './helpers/converged.js';
import { gatherOutput } from './helpers/gather-output.js';
import { hermeticWorld } from './helpers/ansible-world.js';

type Mutation = (f: HostFacts) => void;
const chain = (f: HostFacts, table: 'mangle' | 'nat' | 'raw', name: string) => f.iptables[table].chains.find((c) => c.name === name)!;

describe('classifyDrift', () => {
  it('a converged router is in sync, with the planner’s reason', () => {
    const v = classifyDrift(twoLinkDesired(), convergedFacts());
    expect(v).toMatchObject({ status: 'in_sync', differences: [] });
    expect(v.message).toMatch(/^all \d+ owned objects match/);
  });

  const DRIFT: [string, Mutation, { kind: string; op: string; object: string; expected?: string; actual?: string }][] = [
    [
      'a rule deleted in an ML_ chain',
      (f) => chain(f, 'mangle', 'ML_BALANCE').rules.shift(),
      { kind: 'iptables', op: 'update', object: 'mangle ML_BALANCE', actual: '-m mark --mark 0x0/0xff00 -j MARK --set-xmark 0x200/0xff00' },
    ],
    [
      'a rule added inside an ML_ chain',
      (f) => chain(f, 'mangle', 'ML_MARK').rules.splice(1, 0, '-s 192.0.2.66/32 -j RETURN'),
      { kind: 'iptables', op: 'update', object: 'mangle ML_MARK' },
    ],
    [
      'a probability edited',
      (f) => {
        const rules = chain(f, 'mangle', 'ML_BALANCE').rules;
        rules[0] = rules[0].replace('0.50000000000', '0.30000000000');
      },
      { kind: 'iptables', op: 'update', object: 'mangle ML_BALANCE' },
    ],
    ['a jump rule missing', (f) => (chain(f, 'mangle', 'PREROUTING').rules = []), { kind: 'iptables', op: 'create', object: 'mangle PREROUTING -i lan0 -j ML_MARK', expected: '-A PREROUTING -i lan0 -j ML_MARK' }],
    ['an ML_ chain deleted', (f) => (f.iptables.nat.chains = f.iptables.nat.chains.filter((c) => c.name !== 'ML_MASQ')), { kind: 'iptables', op: 'create', object: 'nat ML_MASQ' }],
    ['an ip rule deleted', (f) => (f.ipRules = f.ipRules.filter((r) => r.priority !== 1000)), { kind: 'rule', op: 'create', object: 'rule 1000', expected: 'from all fwmark 0x100/0xff00 lookup 101' }],
    ['a sysctl changed', (f) => (f.sysctls['net/ipv4/conf/wan1/rp_filter'] = '0'), { kind: 'sysctl', op: 'update', object: 'net/ipv4/conf/wan1/rp_filter', expected: '2', actual: '0' }],
    ['a route deleted', (f) => (f.routes[102] = []), { kind: 'route', op: 'create', object: 'table 102', expected: 'default via 100.64.2.1 dev wan2' }],
    ['a foreign route in an owned table', (f) => f.routes[101].push({ text: '192.0.2.0/25 dev wan1 scope link', dst: '192.0.2.0/25', dev: 'wan1' }), { kind: 'route', op: 'delete', object: 'table 101', actual: '192.0.2.0/25 dev wan1 scope link' }],
    ['a module unloaded', (f) => (f.modules.nf_conntrack_ftp = 'missing'), { kind: 'module', op: 'create', object: 'nf_conntrack_ftp' }],
  ];

  it.each(DRIFT)('%s is drift, named by kind and object', (_name, mutate, want) => {
    const facts = convergedFacts();
    mutate(facts);
    const v = classifyDrift(twoLinkDesired(), facts);
    expect(v.status).toBe('drift');
    expect(v.differences).toEqual([expect.objectContaining(want)]);
  });

  it('multi-line chains keep both sides, for a unified diff', () => {
    const facts = convergedFacts();
    chain(facts, 'mangle', 'ML_BALANCE').rules.push('-j RETURN');
    const [d] = classifyDrift(twoLinkDesired(), facts).differences;
    expect(d.expected).toBe(twoLinkDesired().chains[1].rules.join('\n'));
    expect(d.actual?.split('\n')).toHaveLength(3);
  });

  const CLASHES: [string, Mutation, { object: string; expected?: string; actual: string; detail: RegExp }][] = [
    [
      'a foreign ip rule in an owned table',
      (f) => f.ipRules.splice(3, 0, { priority: 1600, text: 'from 192.0.2.0/25 lookup 101', table: '101' }),
      { object: 'rule 1600', actual: 'from 192.0.2.0/25 lookup 101', detail: /uses routing table 101, which multilink owns/ },
    ],
    [
      'a foreign ip rule on multilink’s mark bits',
      (f) => f.ipRules.splice(3, 0, { priority: 1700, text: 'from all fwmark 0x300/0xff00 lookup 55', fwmark: 0x300, mask: 0xff00, table: '55' }),
      { object: 'rule 1700', actual: 'from all fwmark 0x300/0xff00 lookup 55', detail: /overlap multilink_mark_mask 0xff00/ },
    ],
    [
      'a foreign ip rule at a priority multilink wants but does not own',
      (f) => {
        f.owned!.priorities = [1000];
        f.ipRules = f.ipRules.map((r) => (r.priority === 1001 ? { priority: 1001, text: 'from 198.51.100.0/24 lookup main', table: 'main' } : r));
      },
      { object: 'rule 1001', expected: 'from all fwmark 0x200/0xff00 lookup 102', actual: 'from 198.51.100.0/24 lookup main', detail: /priority 1001 is not multilink's/ },
    ],
  ];

  it.each(CLASHES)('%s: deploy refuses it, drift reports it as a rule difference', (_name, mutate, want) => {
    const facts = convergedFacts();
    mutate(facts);
    expect(planHost(twoLinkDesired(), facts).action).toBe('refused');
    const v = classifyDrift(twoLinkDesired(), facts);
    expect(v.status).toBe('drift');
    const clash = v.differences.find((d) => d.op === 'clash');
    expect(clash).toMatchObject({ kind: 'rule', object: want.object, actual: want.actual, ...(want.expected ? { expected: want.expected } : {}) });
    expect(clash?.expected).toBe(want.expected);
    expect(clash?.detail).toMatch(want.detail);
  });

  it('a clash and ordinary drift together: both listed', () => {
    const facts = convergedFacts();
    facts.sysctls['net/ipv4/ip_forward'] = '0';
    facts.ipRules.splice(3, 0, { priority: 1600, text: 'from 192.0.2.0/25 lookup 102', table: '102' });
    const v = classifyDrift(twoLinkDesired(), facts);
    expect(v.status).toBe('drift');
    expect(v.differences.map((d) => `${d.kind} ${d.op} ${d.object}`)).toEqual(['sysctl update net/ipv4/ip_forward', 'rule clash rule 1600']);
  });

  const ERRORS: [string, Mutation, RegExp][] = [
    ['a sysctl whose interface is gone', (f) => (f.sysctls['net/ipv4/conf/wan2/rp_filter'] = null), /cannot be compared: .*wan2\/rp_filter does not exist on the host: is there an interface wan2\?/],
    [
      'a foreign iptables rule writing multilink’s mark bits',
      (f) => chain(f, 'mangle', 'FORWARD').rules.push('-j MARK --set-xmark 0x100/0xff00'),
      /cannot be compared: .*sets mark bits 0xff00/,
    ],
  ];

  it.each(ERRORS)('%s: the host cannot be checked (error)', (_name, mutate, message) => {
    const facts = convergedFacts();
    mutate(facts);
    const v = classifyDrift(twoLinkDesired(), facts);
    expect(v.status).toBe('error');
    expect(v.message).toMatch(message);
  });

  it('exit codes: 0 all in sync, 2 drift, 1 any host not checked', () => {
    expect(driftExitCode(['in_sync', 'in_sync'])).toBe(0);
    expect(driftExitCode(['in_sync', 'drift'])).toBe(2);
    expect(driftExitCode(['drift', 'unreachable'])).toBe(1);
    expect(driftExitCode(['in_sync', 'error'])).toBe(1);
    expect(driftExitCode([])).toBe(0);
  });
});

describe('driftHost over a fake transport', () => {
  const cfg = { name: 'r1', connection: { host: '198.18.0.11', become: false }, settings: twoLinkDesired().settings } as unknown as HostConfig;
  const opts = { acceptNewHostKeys: false, connectTimeoutMs: 1000, commandTimeoutMs: 1000 };
  const answering = (facts: HostFacts): FakeTransport => new FakeTransport(() => ({ stdout: gatherOutput(facts), stderr: '', code: 0 }));

  it('in sync: one connection, one round trip, the gather script only, session closed', async () => {
    const t = answering(convergedFacts());
    const h = await driftHost(cfg, twoLinkDesired(), t, opts);
    expect(h).toMatchObject({ host: 'r1', status: 'in_sync', differences: [] });
    expect(t.connectionCount('r1')).toBe(1);
    expect(t.execCount('r1')).toBe(1);
    expect(t.execsFor('r1')[0].stdin).toContain('ml_gather');
    expect(t.openSessionCount).toBe(0);
  });

  it('drift: the differences, still one round trip', async () => {
    const facts = convergedFacts();
    facts.sysctls['net/ipv4/conf/wan1/rp_filter'] = '0';
    const t = answering(facts);
    const h = await driftHost(cfg, twoLinkDesired(), t, opts);
    expect(h.status).toBe('drift');
    expect(h.differences).toEqual([{ kind: 'sysctl', op: 'update', object: 'net/ipv4/conf/wan1/rp_filter', expected: '2', actual: '0' }]);
    expect(t.execCount('r1')).toBe(1);
  });

  it('unreachable', async () => {
    const t = answering(convergedFacts());
    t.setUnreachable('r1', 'connect timed out after 1 s');
    const h = await driftHost(cfg, twoLinkDesired(), t, opts);
    expect(h).toMatchObject({ status: 'unreachable', differences: [] });
    expect(h.message).toBe('connect timed out after 1 s');
  });

  it('a failed gather is an error naming the cause', async () => {
    const t = new FakeTransport(() => ({ stdout: '', stderr: 'no iptables-nft tools on this host\n', code: 90 }));
    const h = await driftHost(cfg, twoLinkDesired(), t, opts);
    expect(h.status).toBe('error');
    expect(h.message).toMatch(/gathering facts failed \(exit 90\): no iptables-nft tools/);
    expect(t.openSessionCount).toBe(0);
  });

  it('output that is not the gather script’s is an error', async () => {
    const t = new FakeTransport(() => ({ stdout: 'hello\n', stderr: '', code: 0 }));
    const h = await driftHost(cfg, twoLinkDesired(), t, opts);
    expect(h.status).toBe('error');
    expect(h.message).toMatch(/lacks section "flavour"/);
  });
});

describe('views', () => {
  const report: DriftReport = {
    command: 'drift',
    hosts: [
      { host: 'r1', status: 'in_sync', differences: [], message: 'all 17 owned objects match' },
      {
        host: 'r2',
        status: 'drift',
        message: '3 differences',
        differences: [
          { kind: 'iptables', op: 'update', object: 'mangle ML_BALANCE', expected: 'a\nb\nc', actual: 'a\nx\nc' },
          { kind: 'sysctl', op: 'update', object: 'net/ipv4/conf/wan1/rp_filter', expected: '2', actual: '0' },
          { kind: 'rule', op: 'clash', object: 'rule 1600', actual: 'from 192.0.2.0/25 lookup 101', detail: 'uses routing table 101' },
          { kind: 'route', op: 'delete', object: 'table 101', actual: '192.0.2.0/25 dev wan1 scope link' },
        ],
      },
      { host: 'r3', status: 'unreachable', differences: [], message: 'connection refused' },
    ],
    summary: { in_sync: 1, drift: 1, unreachable: 1, error: 0 },
  };

  it('human: per-host lines, a unified diff for multi-line sides, then the table', () => {
    const text = driftText(report);
    expect(text).toContain('r1: in_sync - all 17 owned objects match');
    expect(text).toContain('r2: drift - 3 differences');
    expect(text).toContain('  ~ iptables mangle ML_BALANCE\n    --- r2: iptables mangle ML_BALANCE (live)\n    +++ r2: iptables mangle ML_BALANCE (compiled)\n    @@ -1,3 +1,3 @@\n     a\n    -x\n    +b\n     c');
    expect(text).toContain('  ~ sysctl net/ipv4/conf/wan1/rp_filter = 2 (was 0)');
    expect(text).toContain('  ! rule rule 1600: foreign "from 192.0.2.0/25 lookup 101" - uses routing table 101');
    expect(text).toContain('  - route table 101 (live: 192.0.2.0/25 dev wan1 scope link)');
    expect(text).toContain('r3: unreachable - connection refused');
    expect(driftTable(report).split('\n')).toEqual([
      'HOST  STATUS       DIFFERENCES  DETAIL',
      'r1    in_sync      0',
      'r2    drift        4',
      'r3    unreachable  -            connection refused',
      '',
      '3 hosts: in_sync=1 drift=1 unreachable=1',
    ]);
  });

  it('JSON: the report itself, nothing added', () => {
    // Each host's outcome under the key every fleet command uses; status kept for one release.
    expect(JSON.parse(driftJson(report))).toEqual({ ...report, hosts: report.hosts.map((h) => ({ ...h, outcome: h.status })) });
  });
});

describe('multilink drift, in-process with a fake transport', () => {
  let dir: string;
  let inventory: string;
  let desired: Map<string, DesiredState>;
  const facts = new Map<string, HostFacts>();
  let transport: FakeTransport;
  let inFlight = 0;
  let maxInFlight = 0;

  const drift = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    let stdout = '';
    let stderr = '';
    const code = await run(['node', 'multilink', 'drift', inventory, ...args], { out: (t) => (stdout += `${t}\n`), err: (t) => (stderr += `${t}\n`) }, () => transport, undefined, hermeticWorld());
    return { code, stdout, stderr };
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'multilink-drift-'));
    inventory = join(dir, 'inventory.yaml');
    writeFileSync(
      join(dir, 'playbook.yaml'),
      `- name: two links
  hosts: edge
  balance: { method: random, traffic: [forwarded, local], lan: [lan0] }
  links:
    - { name: dsl, interface: wan1, gateway: 100.64.1.1, weight: 1 }
    - { name: cable, interface: wan2, gateway: 100.64.2.1, weight: 3 }
`,
    );
    const hosts = ['r1', 'r2', 'r3', 'r4'].map((h, i) => `        ${h}: { ansible_host: 203.0.113.${10 + i} }`).join('\n');
    writeFileSync(inventory, `all:\n  vars:\n    multilink_playbooks: [playbook.yaml]\n    multilink_boot: none\n  children:\n    edge:\n      hosts:\n${hosts}\n`);
    const project = loadProject(inventory, {});
    expect(project.diagnostics).toEqual([]);
    desired = new Map(project.hosts.map((h) => [h.name, compileHost(h)]));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const reset = (): void => {
    for (const [name, d] of desired) facts.set(name, convergedFactsFor(d, name === 'r2' ? 'legacy' : 'nft'));
    transport = new FakeTransport(async (host) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return { stdout: gatherOutput(facts.get(host)!), stderr: '', code: 0 };
    });
  };

  it('every host in sync: exit 0, one connection and one round trip each', async () => {
    reset();
    const res = await drift();
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^r1: in_sync - all \d+ owned objects match/m);
    expect(res.stdout).toContain('\n4 hosts: in_sync=4\n');
    for (const h of desired.keys()) {
      expect(transport.connectionCount(h)).toBe(1);
      expect(transport.execCount(h)).toBe(1);
    }
  });

  it('drift on one host: exit 2; --json is one document whose hosts and differences match the human output', async () => {
    reset();
    const r3 = facts.get('r3')!;
    r3.sysctls['net/ipv4/conf/wan1/rp_filter'] = '0';
    chain(r3, 'mangle', 'ML_BALANCE').rules.reverse();
    const human = await drift();
    expect(human.code).toBe(2);
    const json = await drift('--json');
    expect(json.code).toBe(2);
    const doc = JSON.parse(json.stdout) as DriftReport;
    expect(doc.command).toBe('drift');
    expect(doc.summary).toEqual({ in_sync: 3, drift: 1, unreachable: 0, error: 0 });
    expect(doc.hosts.map((h) => [h.host, h.status])).toEqual([['r1', 'in_sync'], ['r2', 'in_sync'], ['r3', 'drift'], ['r4', 'in_sync']]);
    const diffs = doc.hosts[2].differences;
    expect(diffs.map((d) => `${d.kind} ${d.object}`)).toEqual(['sysctl net/ipv4/conf/wan1/rp_filter', 'iptables mangle ML_BALANCE']);
    for (const d of diffs) expect(human.stdout).toContain(`${d.kind} ${d.object}`);
    expect(human.stdout).toMatch(/^r3\s+drift\s+2$/m);
    expect(human.stdout).toContain('--- r3: iptables mangle ML_BALANCE (live)');
  });

  it('an unreachable host or a failed gather: exit 1, even with drift elsewhere', async () => {
    reset();
    facts.get('r3')!.sysctls['net/ipv4/ip_forward'] = '0';
    transport.setUnreachable('r1', 'connection refused');
    const res = await drift('--json');
    expect(res.code).toBe(1);
    const doc = JSON.parse(res.stdout) as DriftReport;
    expect(doc.summary).toEqual({ in_sync: 2, drift: 1, unreachable: 1, error: 0 });
    expect(doc.hosts[0]).toMatchObject({ host: 'r1', status: 'unreachable', differences: [] });
  });

  it('--limit and --forks: only the named hosts, never more than N at once', async () => {
    reset();
    maxInFlight = 0;
    const res = await drift('--limit', 'r2:r4', '--forks', '1', '--json');
    expect(res.code).toBe(0);
    expect((JSON.parse(res.stdout) as DriftReport).hosts.map((h) => h.host)).toEqual(['r2', 'r4']);
    expect(maxInFlight).toBe(1);
    expect(transport.connectionCount('r1')).toBe(0);
  });
});
