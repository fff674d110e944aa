// The apply script and the gather script against real netfilter and iproute2 in scratch
// namespaces (no SSH): apply converges, a second plan is a no-op, foreign objects survive.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyStepsFunction, type ApplyInput } from '../src/apply/steps.js';
import { gatherRequest } from '../src/facts/gather-request.js';
import { gatherScript, parseGather } from '../src/facts/gather.js';
import { planHost } from '../src/plan/plan.js';
import type { DesiredState } from '../src/model/desired.js';
import { monitorControlLib } from '../src/remote/programs.js';
import { stepFailure } from '../src/remote/txn-reply.js';
import { lines, shellLib } from '../src/shell/lib.js';
import { fieldOf, parseReply } from '../src/shell/reply.js';
import { sh } from '../src/shell/sh.js';
import { twoLinkDesired } from './helpers/desired.js';
import { netnsSupport, ScratchNetns } from './helpers/netns.js';

const support = netnsSupport();
if (!support.ok) console.warn(`skipping apply-netns tests: ${support.reason}`);

const made: ScratchNetns[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const ns of made) ns.delete();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function router(): ScratchNetns {
  const ns = new ScratchNetns();
  made.push(ns);
  ns.veth('wan1', '100.64.1.2/24');
  ns.veth('wan2', '100.64.2.2/24');
  ns.veth('lan0', '192.0.2.1/24');
  return ns;
}

function desiredFor(flavour: 'legacy' | 'nft'): DesiredState {
  const d = twoLinkDesired();
  const dir = mkdtempSync(join(tmpdir(), 'ml-apply-'));
  dirs.push(dir);
  d.settings = { ...d.settings, iptables: flavour, firewall: 'iptables', stateDir: join(dir, 'state'), runDir: join(dir, 'run') };
  d.modules = [];
  return d;
}

/** The plan's steps as a deploy runs them inside its transaction (whose lock is in the state folder), here on their own. */
function applyScript(input: ApplyInput): string {
  const state = input.desired.settings.stateDir;
  return lines(shellLib(input.ops.flavour), monitorControlLib(state), applyStepsFunction(input), sh`mkdir -p ${state}`, sh`ml_apply_steps`).text;
}

const applied = (stdout: string): boolean => fieldOf(parseReply(stdout), 'applied') !== undefined;
const failure = (stdout: string) => stepFailure(parseReply(stdout));

function gather(ns: ScratchNetns, d: DesiredState) {
  const req = gatherRequest(d);
  const r = ns.sh(gatherScript(req).text);
  expect(r.code, r.stderr).toBe(0);
  return parseGather(r.stdout, req);
}

const FOREIGN = `*mangle
:FOREIGN - [0:0]
-A PREROUTING -p tcp -m tcp --dport 8080 -j MARK --set-xmark 0x5/0xff
-A FOREIGN -j ACCEPT
COMMIT
`;

describe.skipIf(!support.ok).each(['legacy', 'nft'] as const)('apply on iptables-%s', (flavour) => {
  it('converges, then plans a no-op; foreign rules, chains and ip rules stay byte-identical', () => {
    const ns = router();
    const d = desiredFor(flavour);
    const foreignRestore = ns.sh(`printf '%s' '${FOREIGN}' | iptables-${flavour}-restore --noflush`);
    expect(foreignRestore.code, foreignRestore.stderr).toBe(0);
    ns.ip('rule', 'add', 'priority', '1500', 'from', '192.0.2.0/24', 'lookup', '200');
    const save = () => ns.exec(`iptables-${flavour}-save`).replace(/^#.*\n/gm, '');
    const foreignBefore = save().split('\n').filter((l) => /FOREIGN|8080/.test(l));
    const rulesBefore = ns.ip('rule', 'show').split('\n').filter((l) => l.startsWith('1500:'));

    const facts = gather(ns, d);
    expect(facts.flavour).toBe(flavour);
    const plan = planHost(d, facts);
    expect(plan.action).toBe('change');
    const r = ns.sh(applyScript({ ops: plan.ops!, desired: d, ownedBefore: facts.owned }));
    expect(failure(r.stdout)).toBeUndefined();
    expect(applied(r.stdout)).toBe(true);

    const again = planHost(d, gather(ns, d));
    expect(again.changes).toEqual([]);
    expect(again.action).toBe('noop');
    expect(save().split('\n').filter((l) => /FOREIGN|8080/.test(l))).toEqual(foreignBefore);
    expect(ns.ip('rule', 'show').split('\n').filter((l) => l.startsWith('1500:'))).toEqual(rulesBefore);
    expect(ns.ip('route', 'show', 'table', '102').trim()).toBe('default via 100.64.2.1 dev wan2');
    expect(ns.exec('cat', '/proc/sys/net/ipv4/conf/wan1/rp_filter').trim()).toBe('2');

    // Drift by hand, then repair only that.
    ns.exec(`iptables-${flavour}`, '-t', 'mangle', '-D', 'ML_BALANCE', '1');
    ns.ip('rule', 'del', 'priority', '1001');
    const drift = planHost(d, gather(ns, d));
    expect(drift.changes.map((c) => `${c.kind} ${c.object}`)).toEqual(['rule rule 1001', 'iptables mangle ML_BALANCE']);
    const fix = ns.sh(applyScript({ ops: drift.ops!, desired: d, ownedBefore: gather(ns, d).owned }));
    expect(applied(fix.stdout)).toBe(true);
    expect(planHost(d, gather(ns, d)).action).toBe('noop');
  });

  it('stops at the failing step and reports command, exit code and stderr', () => {
    const ns = router();
    const d = desiredFor(flavour);
    d.routes[1] = { ...d.routes[1], via: '203.0.113.9' }; // not on-link on wan2
    const facts = gather(ns, d);
    const plan = planHost(d, facts);
    const r = ns.sh(applyScript({ ops: plan.ops!, desired: d, ownedBefore: facts.owned }));
    const failed = failure(r.stdout);
    expect(failed?.command).toBe('ip route replace default via 203.0.113.9 dev wan2 table 102');
    // The routes go to one `ip -4 -batch -`, which exits 1 where that command alone exits 2.
    expect(failed?.exitCode).toBe(1);
    expect(failed?.stderr).toMatch(/Nexthop has invalid gateway|Network is unreachable/);
    expect(applied(r.stdout)).toBe(false);
  });
});
