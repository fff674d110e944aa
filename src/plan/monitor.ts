// Plans the link monitor: its script (compared by tag), whether it must be (re)started, and
// which balancing chain the router must have now. While the monitor has a link out, the
// expected chain is the one precompiled for the healthy links: that is link state, not drift.
import type { DesiredState } from '../model/desired.js';
import type { HostFacts } from '../model/facts.js';
import type { Change, MonitorOps } from '../model/plan.js';
import { fullMask } from '../compile/monitor.js';
import { monitorTag, scriptTag } from '../render/monitor.js';
import { StateLayout } from '../shell/layout.js';

export interface MonitorPlan {
  changes: Change[];
  ops?: MonitorOps;
  /** The balancing chain expected live, given the monitor's state. */
  balance: string[];
  /** The healthy-link mask that balance was chosen for (undefined without a monitor). */
  mask?: number;
}

export function planMonitor(desired: DesiredState, facts: HostFacts): MonitorPlan {
  const layout = new StateLayout(desired.settings.stateDir);
  const live = facts.monitor;
  const chain = desired.chains.find((c) => c.table === desired.balanceChain.table && c.name === desired.balanceChain.name);
  const m = desired.monitor;
  if (!m) {
    if (!live.script && !live.running) return { changes: [], balance: chain?.rules ?? [] };
    return {
      changes: [{ kind: 'file', op: 'delete', object: layout.monitorScript, actual: live.running ? `running (pid ${live.pid})` : 'stopped' }],
      ops: { write: false, stop: true, remove: true, resetState: true, start: false },
      balance: chain?.rules ?? [],
    };
  }
  const sameLinks = (live.linkNames ?? []).join(' ') === m.links.map((l) => l.name).join(' ');
  const mask = sameLinks && live.mask !== undefined && m.balance[String(live.mask)] ? live.mask : fullMask(m.links);
  const plan: MonitorPlan = { changes: [], balance: m.balance[String(mask)], mask };
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

/** The desired state with the balancing chain the monitor's state calls for. */
export function withBalance(desired: DesiredState, balance: string[]): DesiredState {
  const { table, name } = desired.balanceChain;
  return { ...desired, chains: desired.chains.map((c) => (c.table === table && c.name === name ? { ...c, rules: balance } : c)) };
}
