// `multilink remove`'s planner (plan/remove.ts): from the router's own ownership record and
// live state, everything multilink owns goes (both families), other people's objects stay,
// sysctls get their values from before multilink, and the files go after the confirmation.
import { describe, expect, it } from 'vitest';
import type { HostFacts } from '../src/model/facts.js';
import { planRemove, removalRequest, NOTHING_OWNED } from '../src/plan/remove.js';
import { parsePaths } from '../src/facts/paths.js';
import { parseControlReply } from '../src/remote/txn-reply.js';
import { purgeFilesFunction } from '../src/render/purge.js';
import { renderPlan } from '../src/render/ops.js';
import { removalDesired } from '../src/plan/remove.js';
import { INITD_SCRIPT } from '../src/render/boot.js';
import { compileHost } from '../src/compile/desired-state.js';
import { convergedFacts, pristineFacts, twoLinkDesired } from './helpers/desired.js';
import { convergedFactsFor } from './helpers/converged.js';
import { hostConfig, link } from './fixtures/render/host-config.js';

const settings = twoLinkDesired().settings;
const present = { state: true, run: false, leftovers: [] };

describe('planRemove', () => {
  it('removes every ML_ chain and jump, its ip rules and tables, the monitor; sysctls back to their values before multilink; foreign objects stay', () => {
    const facts: HostFacts = { ...convergedFacts(), monitor: { script: '# multilink monitor', running: true, pid: 42, links: [] }, paths: present };
    const plan = planRemove('r1', settings, facts);
    expect(plan.action).toBe('change');
    const ops = plan.ops!;
    expect(ops.iptables.flatMap((t) => t.drop).sort()).toEqual(['ML_BALANCE', 'ML_MARK', 'ML_MASQ']);
    expect(ops.iptables.flatMap((t) => t.unhook)).toEqual([
      { chain: 'PREROUTING', rule: '-i lan0 -j ML_MARK' },
      { chain: 'POSTROUTING', rule: '-j ML_MASQ' },
    ]);
    // The foreign MARK rule and the foreign ip rule at 1500 are nobody's business here.
    expect(JSON.stringify(ops)).not.toContain('8080');
    expect(ops.rulesDelete.map((r) => r.priority)).toEqual([1000, 1001]);
    expect(ops.routesFlush).toEqual([101, 102]);
    expect(ops.sysctls).toEqual([
      { key: 'net/ipv4/ip_forward', value: '0' },
      { key: 'net/ipv4/conf/wan1/rp_filter', value: '1' },
    ]);
    expect(ops.monitor).toMatchObject({ stop: true, remove: true, start: false });
    expect(ops.owned).toEqual(NOTHING_OWNED);
    expect(ops.purge).toEqual({ bootFiles: [], initd: false, runDir: settings.runDir, stateDir: settings.stateDir, leftovers: [] });
    expect(plan.diagnostics).toEqual([]);
  });

  it('a foreign rule on multilink\'s mark bits, which would refuse a deploy, does not stop a removal', () => {
    const facts = convergedFacts();
    facts.ipRules.push({ priority: 2000, text: 'from all fwmark 0x100/0xff00 lookup 200', fwmark: 0x100, mask: 0xff00, table: '200' });
    facts.iptables.mangle.chains[0].rules.push('-j MARK --set-xmark 0x100/0xff00');
    const plan = planRemove('r1', settings, { ...facts, paths: present });
    expect(plan.action).toBe('change');
    expect(plan.ops!.rulesDelete.map((r) => r.priority)).toEqual([1000, 1001]);
    expect(plan.clashes).toEqual([]);
  });

  it('IPv6: ip6tables chains and jumps, ip -6 rules and routes go too', () => {
    const desired = compileHost(hostConfig({ links: [link('dsl', 1, 1, { gateway6: 'fe80::1' }), link('cable', 2, 2)] }));
    const facts = { ...convergedFactsFor(desired), paths: present };
    const plan = planRemove('r1', desired.settings, facts);
    const six = plan.ops!.iptables.filter((t) => t.family === 6);
    expect(six.flatMap((t) => t.drop).length).toBeGreaterThan(0);
    expect(six.flatMap((t) => t.unhook).length).toBeGreaterThan(0);
    expect(plan.ops!.rulesDelete.some((r) => r.family === 6)).toBe(true);
    expect(plan.ops!.routesFlush6).toEqual([101]);
    // The check after the apply: nothing of it is left, the files are the confirmation's.
    const after: HostFacts = { ...pristineFacts(), owned: NOTHING_OWNED, routes: {}, paths: present };
    expect(planRemove('r1', desired.settings, after, { purge: false }).action).toBe('noop');
    expect(planRemove('r1', desired.settings, after).action).toBe('change');
  });

  it('ML_ chains but no ownership record (another state folder?): the chains go, and a warning says what is left alone', () => {
    const facts = { ...convergedFacts(), owned: null, paths: { state: false, run: false, leftovers: [] } };
    const plan = planRemove('r1', settings, facts);
    expect(plan.ops!.iptables.flatMap((t) => t.drop).length).toBe(3);
    expect(plan.ops!.rulesDelete).toEqual([]);
    expect(plan.diagnostics.map((d) => d.severity)).toEqual(['warning']);
    expect(plan.diagnostics[0].summary).toMatch(/no ownership record in \/var\/lib\/multilink/);
    expect(planRemove('r1', settings, convergedFacts()).diagnostics).toEqual([]);
  });

  it('nothing of multilink\'s on the host: noop, saying so; a sysctl already at its prior value is left alone', () => {
    const none = planRemove('r1', settings, { ...pristineFacts(), paths: { state: false, run: false, leftovers: [] } });
    expect(none.action).toBe('noop');
    expect(none.reason).toMatch(/nothing of multilink's/);
    const facts = { ...pristineFacts(), owned: { ...NOTHING_OWNED, sysctls: { 'net/ipv4/conf/wan1/rp_filter': '1' } }, paths: present };
    expect(planRemove('r1', settings, facts).ops!.sysctls).toEqual([]);
  });

  it('the boot hook found on the router, the run folder and what an interrupted purge left go after the confirmation', () => {
    const leftover = `${settings.stateDir}.purge-0123456789abcdef`;
    const facts: HostFacts = {
      ...pristineFacts(),
      bootHook: { systemd: false, initd: true, files: { [INITD_SCRIPT]: '#!/bin/sh', [`${settings.stateDir}/boot.sh`]: null }, links: {} },
      paths: { state: false, run: true, leftovers: [leftover] },
    };
    const plan = planRemove('r1', settings, facts);
    expect(plan.ops!.purge).toEqual({ bootFiles: [INITD_SCRIPT], initd: true, runDir: settings.runDir, stateDir: settings.stateDir, leftovers: [leftover] });
    expect(plan.changes.map((c) => `${c.op} ${c.object}`)).toEqual([`delete ${INITD_SCRIPT}`, `delete ${settings.runDir}`, `delete ${leftover}`]);
    const text = purgeFilesFunction(plan.ops!.purge!).text;
    expect(text).toContain(`rm -f ${INITD_SCRIPT}`);
    expect(text).toContain('../init.d/multilink');
    expect(text).toContain(`rm -rf ${leftover}`);
    // The network part renders to nothing: the transaction only writes the empty record.
    const r = renderPlan(plan.ops!, removalDesired('r1', settings));
    expect([r.iptables, r.ip6tables, ...r.rules, ...r.routes, ...r.sysctls]).toEqual(['', '']);
  });
});

describe('what remove gathers and reads back', () => {
  it('asks for the folders, the boot hook and what the ownership record names, no compiled table', () => {
    expect(removalRequest({ ...settings, boot: 'auto' })).toMatchObject({ tables: [], sysctls: [], modules: [], boot: 'auto', paths: true });
  });

  it('folders present, leftovers only of its own state folder', () => {
    const s = '/var/lib/multilink';
    expect(parsePaths(`state\nrun\nleftover ${s}.purge-0123456789abcdef\nleftover /etc.purge-0123456789abcdef\nleftover ${s}.purge-x\n`, s)).toEqual({
      state: true,
      run: true,
      leftovers: [`${s}.purge-0123456789abcdef`],
    });
  });

  it('a control reply after the purge', () => {
    expect(parseControlReply('@@ML-R txn purged\n')).toEqual({ kind: 'purged' });
  });
});
