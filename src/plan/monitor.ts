// Plans the link monitor: its script (compared by tag), whether it must be (re)started, and
// which balancing chain the router must have now. While the monitor has a link out, the
// expected chain is the one precompiled for the healthy links: that is link state, not drift.
import type { DesiredState } from '../model/desired.js';
import type { HostFacts } from '../model/facts.js';
import type { Change, MonitorOps } from '../model/plan.js';
import { fullMask } from '../compile/monitor.js';
import { ipv6Links } from '../compile/links.js';
import { monitorTag, scriptTag } from '../render/monitor.js';
import { StateLayout } from '../shell/layout.js';

export interface MonitorPlan {
  changes: Change[];
  ops?: MonitorOps;
  /** The balancing chain expected live, given the monitor's state. */
  balance: string[];
  /** The healthy-link mask that balance was chosen for (undefined without a monitor). */
  mask?: number;
  /** IPv6's balancing chain expected live (a play with IPv6). */
  balance6?: string[];
}

export function planMonitor(desired: DesiredState, facts: HostFacts): MonitorPlan {
  const layout = new StateLayout(desired.settings.stateDir);
  const live = facts.monitor;
  const chain = desired.chains.find((c) => c.table === desired.balanceChain.table && c.name === desired.balanceChain.name && c.family === undefined);
  const chain6 = desired.chains.find((c) => c.table === desired.balanceChain.table && c.name === desired.balanceChain.name && c.family === 6);
  const m = desired.monitor;
  if (!m) {
    const balance6 = chain6 ? { balance6: chain6.rules } : {};
    if (!live.script && !live.running) return { changes: [], balance: chain?.rules ?? [], ...balance6 };
    return {
      changes: [{ kind: 'file', op: 'delete', object: layout.monitorScript, actual: live.running ? `running (pid ${live.pid})` : 'stopped' }],
      ops: { write: false, stop: true, remove: true, resetState: true, start: false },
      balance: chain?.rules ?? [],
      ...balance6,
    };
  }
  const sameLinks = (live.linkNames ?? []).join(' ') === m.links.map((l) => l.name).join(' ');
  const mask = sameLinks && live.mask !== undefined && m.balance[String(live.mask)] ? live.mask : fullMask(m.links);
  // A guard-only monitor keeps no link state: the chains are the play's, as with no monitor.
  const plan: MonitorPlan = m.guardOnly ? { changes: [], balance: chain?.rules ?? [], ...(chain6 ? { balance6: chain6.rules } : {}) } : { changes: [], balance: m.balance[String(mask)], mask };
  if (m.balance6) {
    const mask6 = sameLinks && live.mask6 !== undefined && m.balance6[String(live.mask6)] ? live.mask6 : fullMask(ipv6Links(m.links));
    plan.balance6 = m.balance6[String(mask6)];
  }
  // method adaptive: the weights in force are what the monitor learnt, run-time state like
  // link health: whatever balancing chain it loaded is expected; only a missing one is not.
  const liveChain = facts.iptables[desired.balanceChain.table].chains.find((c) => c.name === desired.balanceChain.name);
  if (m.adaptive && liveChain && liveChain.rules.length > 0) plan.balance = liveChain.rules;
  const tag = monitorTag(desired);
  const liveTag = live.script ? scriptTag(live.script) : undefined;
  if (liveTag !== tag) {
    plan.changes.push({ kind: 'file', op: live.script ? 'update' : 'create', object: layout.monitorScript, expected: `monitor ${tag}`, ...(liveTag ? { actual: `monitor ${liveTag}` } : {}) });
    plan.ops = { write: true, stop: live.running, start: true, remove: false, resetState: !sameLinks };
  } else if (!live.running) {
    plan.changes.push({ kind: 'file', op: 'update', object: layout.monitorPid, expected: 'monitor running', actual: 'monitor not running' });
    plan.ops = { write: false, stop: false, start: true, remove: false, resetState: false };
  }
  return plan;
}

/** The desired state with the balancing chains (IPv4's, IPv6's) the monitor's state calls for. */
export function withBalance(desired: DesiredState, balance: string[], balance6?: string[]): DesiredState {
  const { table, name } = desired.balanceChain;
  const pick = (c: DesiredState['chains'][number]): string[] | undefined => (c.table !== table || c.name !== name ? undefined : c.family === 6 ? balance6 : balance);
  return { ...desired, chains: desired.chains.map((c) => ({ ...c, rules: pick(c) ?? c.rules })) };
}
