import { describe, expect, it } from 'vitest';
import type { NetfilterTable } from '../src/model/desired.js';
import type { HostPlan } from '../src/model/plan.js';
import { planHost } from '../src/plan/plan.js';
import { renderPlan } from '../src/render/ops.js';
import { bootHookFiles } from '../src/render/boot.js';
import { gatherRequest } from '../src/facts/gather-request.js';
import { parseGather } from '../src/facts/gather.js';
import { gatherOutput } from './helpers/gather-output.js';
import { tableOpsPayload } from '../src/render/iptables-restore.js';

/** The restore payload the plan's operations on one table render to (undefined: table untouched). */
function payload(plan: HostPlan, table: NetfilterTable): string | undefined {
  const ops = plan.ops!.iptables.filter((t) => t.table === table);
  return ops.length === 0 ? undefined : tableOpsPayload(ops);
}
import { convergedFacts, pristineFacts, twoLinkDesired } from './helpers/desired.js';

describe('planHost', () => {
  it('plans every object on a pristine router, in apply order, keeping prior sysctls', () => {
    const plan = planHost(twoLinkDesired(), pristineFacts());
    expect(plan.action).toBe('change');
    expect(plan.changes.map((c) => `${c.kind}:${c.op}:${c.object}`)).toEqual([
      'sysctl:update:net/ipv4/ip_forward',
      'sysctl:update:net/ipv4/conf/wan1/rp_filter',
      'route:create:table 101',
      'route:create:table 102',
      'rule:create:rule 1000',
      'rule:create:rule 1001',
      'iptables:create:mangle ML_MARK',
      'iptables:create:mangle ML_BALANCE',
      'iptables:create:mangle PREROUTING -i lan0 -j ML_MARK',
      'iptables:create:nat ML_MASQ',
      'iptables:create:nat POSTROUTING -j ML_MASQ',
      'file:create:/var/lib/multilink/owned.json',
    ]);
    expect(plan.ops!.owned.sysctls).toEqual({ 'net/ipv4/ip_forward': '0', 'net/ipv4/conf/wan1/rp_filter': '1', 'net/ipv4/conf/wan2/rp_filter': '2' });
    expect(plan.ops!.modules).toEqual([]);
    expect(payload(plan, 'mangle')).toBe(
      [
        '*mangle',
        ':ML_MARK - [0:0]',
        ':ML_BALANCE - [0:0]',
        ...twoLinkDesired().chains.filter((c) => c.table === 'mangle').flatMap((c) => c.rules.map((r) => `-A ${c.name} ${r}`)),
        '-I PREROUTING 1 -i lan0 -j ML_MARK',
        'COMMIT',
        '',
      ].join('\n'),
    );
    expect(payload(plan, 'raw')).toBeUndefined();
  });

  it('is a no-op with a reason on a converged router', () => {
    const plan = planHost(twoLinkDesired(), convergedFacts());
    expect(plan.action).toBe('noop');
    expect(plan.changes).toEqual([]);
    expect(plan.reason).toMatch(/^all \d+ owned objects match/);
  });

  it('repairs only what drifted: a rule deleted by hand inside an ML_ chain', () => {
    const facts = convergedFacts();
    const bal = facts.iptables.mangle.chains.find((c) => c.name === 'ML_BALANCE')!;
    bal.rules.shift();
    const plan = planHost(twoLinkDesired(), facts);
    expect(plan.changes).toHaveLength(1);
    expect(plan.changes[0]).toMatchObject({ kind: 'iptables', op: 'update', object: 'mangle ML_BALANCE' });
    expect(payload(plan, 'mangle')).toContain(':ML_BALANCE - [0:0]');
    expect(payload(plan, 'mangle')).not.toContain(':ML_MARK');
    expect(payload(plan, 'nat')).toBeUndefined();
  });

  it('removes duplicate jumps and stale ML_ chains, and never touches foreign rules', () => {
    const facts = convergedFacts();
    facts.iptables.mangle.chains.find((c) => c.name === 'PREROUTING')!.rules.push('-i lan0 -j ML_MARK', '-i lan9 -j ML_OLD');
    facts.iptables.mangle.chains.push({ name: 'ML_OLD', policy: '-', rules: ['-j RETURN'] });
    const plan = planHost(twoLinkDesired(), facts);
    const mangle = payload(plan, 'mangle')!;
    expect(mangle.split('\n')).toEqual(['*mangle', ':ML_OLD - [0:0]', '-D PREROUTING -i lan0 -j ML_MARK', '-D PREROUTING -i lan9 -j ML_OLD', '-X ML_OLD', 'COMMIT', '']);
    expect(mangle).not.toContain('8080');
  });

  it('refuses to overwrite a foreign ip rule at its priority', () => {
    const facts = pristineFacts();
    facts.ipRules.push({ priority: 1000, text: 'from 198.51.100.0/24 lookup 50', table: '50' });
    const plan = planHost(twoLinkDesired(), facts);
    expect(plan.action).toBe('refused');
    expect(plan.reason).toMatch(/ip rule at priority 1000 is not multilink's/);
    expect(plan.ops).toBeUndefined();
  });

  it('takes over its own drifted rule at an owned priority', () => {
    const facts = convergedFacts();
    facts.ipRules[1] = { priority: 1000, text: 'from all fwmark 0x100/0xff00 lookup 109', fwmark: 0x100, mask: 0xff00, table: '109' };
    const plan = planHost(twoLinkDesired(), facts);
    expect(plan.action).toBe('change');
    expect(plan.ops!.rulesDelete).toEqual([{ priority: 1000, text: 'from all fwmark 0x100/0xff00 lookup 109' }]);
    expect(plan.ops!.rulesAdd).toEqual([twoLinkDesired().rules[0]]);
  });

  it('a foreign rule that appeared at a priority multilink owns is a clash, never deleted with its own', () => {
    const facts = convergedFacts();
    facts.ipRules.push({ priority: 1001, text: 'from 198.51.100.7 lookup 50', table: '50' });
    const plan = planHost(twoLinkDesired(), facts);
    expect(plan.action).toBe('refused');
    expect(plan.reason).toMatch(/ip rule at priority 1001 is not multilink's: "from 198.51.100.7 lookup 50", which multilink uses: it appeared there since/);
    expect(plan.clashes.map((c) => c.object)).toEqual(['rule 1001']);
  });

  it('a priority multilink no longer uses: its own rule goes by full selector, a foreign one there stays', () => {
    const facts = convergedFacts();
    facts.owned!.tables.push(103);
    facts.owned!.priorities.push(1002);
    facts.ipRules.push({ priority: 1002, text: 'from all fwmark 0x300/0xff00 lookup 103', fwmark: 0x300, mask: 0xff00, table: '103' });
    facts.ipRules.push({ priority: 1002, text: 'from 198.51.100.7 lookup 50', table: '50' });
    const plan = planHost(twoLinkDesired(), facts);
    expect(plan.ops!.rulesDelete).toEqual([{ priority: 1002, text: 'from all fwmark 0x300/0xff00 lookup 103' }]);
    expect(renderPlan(plan.ops!, twoLinkDesired()).rules.map((a) => a.command.text)).toEqual([
      'ml_n=0; while [ "$ml_n" -lt 100 ] && ip -4 rule del priority 1002 from all fwmark 0x300/0xff00 lookup 103 2>/dev/null; do ml_n=$((ml_n + 1)); done',
    ]);
  });

  it('reports clashes: foreign rule in our table, overlapping marks, foreign routes, missing interface', () => {
    const facts = pristineFacts();
    facts.ipRules.push({ priority: 2000, text: 'from 198.51.100.0/24 lookup 101', table: '101' });
    facts.ipRules.push({ priority: 2001, text: 'from all fwmark 0x300/0x300 lookup 60', fwmark: 0x300, mask: 0x300, table: '60' });
    facts.iptables.mangle.chains[0].rules.push('-j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff');
    facts.routes[102] = [{ text: '203.0.113.0/24 via 100.64.2.9 dev wan2', dst: '203.0.113.0/24' }];
    facts.sysctls['net/ipv4/conf/wan2/rp_filter'] = null;
    const plan = planHost(twoLinkDesired(), facts);
    expect(plan.action).toBe('refused');
    const text = plan.diagnostics.map((d) => d.summary).join('\n');
    expect(text).toMatch(/uses routing table 101, which multilink owns/);
    expect(text).toMatch(/matches mark bits that overlap/);
    expect(text).toMatch(/copies mark bits 0xffffffff/);
    expect(text).toMatch(/routing table 102 already holds routes/);
    expect(text).toMatch(/net\/ipv4\/conf\/wan2\/rp_filter does not exist on the host: is there an interface wan2\?/);
  });

  it('cleans up what it owned and no longer wants, restoring prior sysctls', () => {
    const facts = convergedFacts();
    facts.owned!.tables.push(103);
    facts.owned!.priorities.push(1002);
    facts.owned!.sysctls['net/ipv4/conf/wan3/rp_filter'] = '1';
    facts.ipRules.push({ priority: 1002, text: 'from all fwmark 0x300/0xff00 lookup 103', fwmark: 0x300, mask: 0xff00, table: '103' });
    const plan = planHost(twoLinkDesired(), facts);
    expect(plan.action).toBe('change');
    expect(plan.ops!.routesFlush).toEqual([103]);
    expect(plan.ops!.rulesDelete).toEqual([{ priority: 1002, text: 'from all fwmark 0x300/0xff00 lookup 103' }]);
    expect(plan.ops!.sysctls).toEqual([{ key: 'net/ipv4/conf/wan3/rp_filter', value: '1' }]);
    expect(plan.ops!.owned.tables).toEqual([101, 102]);
    expect(Object.keys(plan.ops!.owned.sysctls)).not.toContain('net/ipv4/conf/wan3/rp_filter');
  });

  it('a deleted or changed boot hook is a change (and drift), repaired by installing the hook in the apply', () => {
    const desired = { ...twoLinkDesired(), settings: { ...twoLinkDesired().settings, boot: 'systemd' as const } };
    const hook = bootHookFiles('systemd', desired.settings.stateDir, { systemd: true, initd: false });
    const facts = { ...convergedFacts(), bootHook: { systemd: true, initd: false, files: { ...hook.files } as Record<string, string | null>, links: { ...hook.links } as Record<string, string | null> } };
    expect(planHost(desired, facts).action).toBe('noop');
    // Through the gather's own text and parser, as a deploy reads it.
    expect(planHost(desired, parseGather(gatherOutput(facts), gatherRequest(desired))).action).toBe('noop');
    facts.bootHook.files['/etc/systemd/system/multilink-restore.service'] = null;
    facts.bootHook.files['/var/lib/multilink/boot.sh'] = '#!/bin/sh\necho edited by hand';
    delete facts.bootHook.links['/etc/systemd/system/multi-user.target.wants/multilink-restore.service'];
    const plan = planHost(desired, facts);
    expect(plan.changes.map((c) => `${c.op} ${c.object}`)).toEqual([
      'update /var/lib/multilink/boot.sh',
      'create /etc/systemd/system/multilink-restore.service',
      'create /etc/systemd/system/multi-user.target.wants/multilink-restore.service',
    ]);
    expect(plan.ops!.bootHook).toBe(true);
    // multilink_boot: none checks nothing.
    expect(planHost(twoLinkDesired(), facts).action).toBe('noop');
  });

  it('rp_filter: off with net.ipv4.conf.all.rp_filter at 1 has no effect: the plan warns (and gathers the all value for it)', () => {
    const desired = twoLinkDesired();
    desired.sysctls = desired.sysctls.map((s) => (s.key.endsWith('/rp_filter') ? { ...s, value: '0' } : s));
    expect(gatherRequest(desired).sysctls).toContain('net/ipv4/conf/all/rp_filter');
    expect(gatherRequest(twoLinkDesired()).sysctls).not.toContain('net/ipv4/conf/all/rp_filter');
    const facts = convergedFacts();
    for (const k of Object.keys(facts.sysctls)) if (k.endsWith('/rp_filter')) facts.sysctls[k] = '0';
    facts.sysctls['net/ipv4/conf/all/rp_filter'] = '1';
    const plan = planHost(desired, facts);
    expect(plan.action).toBe('noop');
    expect(plan.diagnostics.filter((d) => d.severity === 'warning').map((d) => d.summary)).toEqual([
      expect.stringMatching(/^rp_filter: off has no effect on wan1, wan2 while net\.ipv4\.conf\.all\.rp_filter is 1/),
    ]);
    facts.sysctls['net/ipv4/conf/all/rp_filter'] = '0';
    expect(planHost(desired, facts).diagnostics).toEqual([]);
  });

  it('loads a missing module, but not one built in or on a kernel without modules', () => {
    for (const [state, n] of [['missing', 1], ['loaded', 0], ['builtin', 0], ['no-module-support', 0]] as const) {
      const facts = convergedFacts();
      facts.modules.nf_conntrack_ftp = state;
      const plan = planHost(twoLinkDesired(), facts);
      expect(plan.ops?.modules ?? []).toHaveLength(n);
    }
  });
});
