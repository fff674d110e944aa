// ml_reset (src/render/reset.ts) against real netfilter and iproute2 in scratch namespaces:
// whatever state multilink's objects are in, a reset makes them exactly the snapshot, with
// multilink's jump rules back at their old positions among other people's rules, and
// nothing of anyone else's touched.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scopeOf, snapshotFromFacts } from '../src/apply/snapshot.js';
import { gatherRequest } from '../src/facts/gather-request.js';
import { gatherScript, parseGather } from '../src/facts/gather.js';
import type { DesiredState } from '../src/model/desired.js';
import { resetFunction } from '../src/render/reset.js';
import { monitorControlLib } from '../src/remote/programs.js';
import { lines, shellLib } from '../src/shell/lib.js';
import { sh } from '../src/shell/sh.js';
import { twoLinkDesired } from './helpers/desired.js';
import { netnsSupport, ScratchNetns } from './helpers/netns.js';

const support = netnsSupport();
if (!support.ok) console.warn(`skipping reset-netns tests: ${support.reason}`);

const made: ScratchNetns[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const ns of made) ns.delete();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function desiredFor(flavour: 'legacy' | 'nft'): DesiredState {
  const d = twoLinkDesired();
  const dir = mkdtempSync(join(tmpdir(), 'ml-reset-'));
  dirs.push(dir);
  d.settings = { ...d.settings, iptables: flavour, stateDir: join(dir, 'state'), runDir: join(dir, 'run') };
  return d;
}

/** PREROUTING with multilink's jumps between other people's rules, as some router has it. */
const PRIOR = `*mangle
:ML_MARK - [0:0]
:ML_BALANCE - [0:0]
-A PREROUTING -i eth9 -j RETURN
-A PREROUTING -i lan0 -j ML_MARK
-A PREROUTING -p udp -m udp --dport 53 -j ACCEPT
-A PREROUTING -i lan1 -j ML_MARK
-A PREROUTING -i lan2 -j ML_MARK
-A PREROUTING -p tcp -m tcp --dport 80 -j ACCEPT
-A ML_MARK -j ML_BALANCE
-A ML_BALANCE -j MARK --set-xmark 0x100/0xff00
COMMIT
`;

describe.skipIf(!support.ok).each(['legacy', 'nft'] as const)('ml_reset on iptables-%s', (flavour) => {
  it('brings back the snapshot exactly: ML_ chains, jumps at their positions, ip rules, routes, sysctls; a foreign rule at its priority stays', () => {
    const ns = new ScratchNetns();
    made.push(ns);
    ns.veth('wan1', '100.64.1.2/24');
    ns.veth('wan2', '100.64.2.2/24');
    const d = desiredFor(flavour);
    const load = ns.sh(`iptables-${flavour}-restore --noflush <<'EOF'\n${PRIOR}EOF\n`);
    expect(load.code, load.stderr).toBe(0);
    ns.ip('rule', 'add', 'priority', '1000', 'fwmark', '0x100/0xff00', 'lookup', '101');
    ns.ip('route', 'add', 'default', 'via', '100.64.1.1', 'dev', 'wan1', 'table', '101');
    ns.exec('sh', '-c', 'echo 0 > /proc/sys/net/ipv4/conf/wan1/rp_filter');
    const save = (): string => ns.exec(`iptables-${flavour}-save`, '-t', 'mangle').replace(/^#.*\n/gm, '').replace(/ \[\d+:\d+\]$/gm, '');
    const before = save();
    const rulesBefore = ns.ip('rule', 'show');
    const req = gatherRequest(d);
    const gathered = ns.sh(gatherScript(req).text);
    expect(gathered.code, gathered.stderr).toBe(0);
    const facts = parseGather(gathered.stdout, req);
    const scope = scopeOf({ priorities: [1000, 1001], tables: [101, 102] });
    const snapshot = snapshotFromFacts(facts, scope, ['net/ipv4/conf/wan1/rp_filter']);

    // Everything multilink owns changes: jumps gone or moved, chains refilled and added, rules and routes changed.
    const mess = ns.sh(`set -e
iptables-${flavour} -t mangle -D PREROUTING -i lan1 -j ML_MARK
iptables-${flavour} -t mangle -D PREROUTING -i lan0 -j ML_MARK
iptables-${flavour} -t mangle -I PREROUTING 1 -i lan9 -j ML_MARK
iptables-${flavour} -t mangle -N ML_NEW
iptables-${flavour} -t mangle -A ML_NEW -j RETURN
iptables-${flavour} -t mangle -A ML_BALANCE -j MARK --set-xmark 0x200/0xff00
ip rule del priority 1000
ip rule add priority 1001 fwmark 0x200/0xff00 lookup 102
ip rule add priority 1001 from 198.51.100.7 lookup 50
ip route add default via 100.64.2.1 dev wan2 table 102
echo 2 > /proc/sys/net/ipv4/conf/wan1/rp_filter
`);
    expect(mess.code, mess.stderr).toBe(0);
    expect(save()).not.toBe(before);

    const reset = ns.sh(`${lines(shellLib(flavour), monitorControlLib(d.settings.stateDir), resetFunction(snapshot, scope, d.settings.stateDir, d.settings.runDir), sh`ml_reset && ml_tried_all`).text}\n`);
    expect(reset.code, reset.stdout + reset.stderr).toBe(0);
    expect(save()).toBe(before);
    // Multilink's rules exactly as before; the foreign one added at its priority meanwhile stays.
    const rulesAfter = ns.ip('rule', 'show').split('\n');
    expect(rulesAfter.filter((l) => !l.includes('198.51.100.7')).join('\n')).toBe(rulesBefore);
    expect(rulesAfter.filter((l) => l.includes('198.51.100.7'))).toEqual(['1001:\tfrom 198.51.100.7 lookup 50']);
    expect(ns.ip('route', 'show', 'table', '101').trim()).toBe('default via 100.64.1.1 dev wan1');
    expect(ns.ip('route', 'show', 'table', '102').trim()).toBe('');
    expect(ns.exec('cat', '/proc/sys/net/ipv4/conf/wan1/rp_filter').trim()).toBe('0');
  });
});
