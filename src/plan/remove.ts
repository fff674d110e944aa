// Plans `multilink remove`: everything multilink owns on a router goes, as the router's own
// ownership record and live state say (a host no play targets any more has no compiled
// state): every ML_ chain and jump into one (iptables and ip6tables), its ip rules and the
// routes of its tables (both families), the link monitor; every sysctl gets back the value it
// had before multilink. Those are applied, confirmed and restorable like any deploy; the boot
// hook and the state and run folders go after the confirmation (PurgeOps). Pure.
import { Diagnostics, type Diagnostic } from '../diagnostics.js';
import type { HostSettings } from '../model/config.js';
import type { DesiredState, SysctlSpec } from '../model/desired.js';
import type { HostFacts, OwnedRecord } from '../model/facts.js';
import type { Change, HostPlan, PurgeOps } from '../model/plan.js';
import type { GatherRequest } from '../facts/gather-request.js';
import { INITD_SCRIPT } from '../render/boot.js';
import { RunLayout, StateLayout } from '../shell/layout.js';
import { planFamilies } from './families.js';
import { planMonitor } from './monitor.js';
import { planNft } from './nft.js';

/** What the ownership record says once everything is removed. */
export const NOTHING_OWNED: OwnedRecord = { tables: [], priorities: [], chains: [], sysctls: {} };

/** A desired state with nothing in it: what the transaction applies, confirms and records for a removal. */
export function removalDesired(host: string, settings: HostSettings): DesiredState {
  return {
    host,
    settings,
    method: 'random',
    traffic: [],
    links: [],
    chains: [],
    jumps: [],
    rules: [],
    routes: [],
    sysctls: [],
    modules: [],
    balanceChain: { table: 'mangle', name: 'ML_BALANCE' },
  };
}

/** The gather of a removal: what the ownership record names (the gather script reads it), the boot hook, the folders. */
export function removalRequest(settings: HostSettings): GatherRequest {
  return { iptables: settings.iptables, tables: [], sysctls: [], modules: [], stateDir: settings.stateDir, runDir: settings.runDir, boot: settings.boot, paths: true };
}

/** Each sysctl the record kept a prior value of, where it differs now (an interface gone since has none to give back). */
function priorSysctls(facts: HostFacts): { set: SysctlSpec[]; changes: Change[] } {
  const set: SysctlSpec[] = [];
  const changes: Change[] = [];
  for (const [key, value] of Object.entries(facts.owned?.sysctls ?? {})) {
    const live = facts.sysctls[key];
    if (live === null || live === undefined || live === value) continue;
    set.push({ key, value });
    changes.push({ kind: 'sysctl', op: 'update', object: key, expected: `${value} (value before multilink)`, actual: live });
  }
  return { set, changes };
}

/** The files that go after the confirmation, and the changes that say so; undefined: none left. */
function planPurge(settings: HostSettings, facts: HostFacts): { ops: PurgeOps; changes: Change[] } | undefined {
  const paths = facts.paths ?? { state: false, run: false, leftovers: [] };
  const hook = facts.bootHook;
  const bootFiles = hook ? [...Object.entries(hook.files), ...Object.entries(hook.links)].filter(([, v]) => v !== null).map(([k]) => k) : [];
  const state = new StateLayout(settings.stateDir).dir;
  const run = new RunLayout(settings.runDir).dir;
  const changes: Change[] = [
    ...bootFiles.map((f): Change => ({ kind: 'file', op: 'delete', object: f, actual: 'boot hook' })),
    ...(paths.run ? [{ kind: 'file', op: 'delete', object: run, actual: 'run folder' } satisfies Change] : []),
    ...(paths.state ? [{ kind: 'file', op: 'delete', object: state, actual: 'state folder' } satisfies Change] : []),
    ...paths.leftovers.map((p): Change => ({ kind: 'file', op: 'delete', object: p, actual: 'left by an interrupted remove' })),
  ];
  if (changes.length === 0) return undefined;
  return { ops: { bootFiles, initd: bootFiles.includes(INITD_SCRIPT), runDir: run, stateDir: state, leftovers: paths.leftovers }, changes };
}

/**
 * ML_ chains are multilink's by their name, but its ip rules, routes and prior sysctl values
 * are known only from the ownership record: without one, say what is left alone.
 */
function orphanWarning(host: string, settings: HostSettings, facts: HostFacts, chains: boolean): Diagnostic[] {
  if (facts.owned || !chains) return [];
  const summary = `ML_ chains but no ownership record in ${settings.stateDir}: only the chains and their jumps are removed; ip rules, routes and sysctls multilink set are known only from that record (is multilink_state_dir the one this host was deployed with?)`;
  return [{ severity: 'warning', summary, host }];
}

/**
 * The removal plan. `purge: false` (the check after the apply) leaves the files out: the
 * router has made the removal once nothing else is left.
 */
export function planRemove(host: string, settings: HostSettings, facts: HostFacts, options: { purge: boolean } = { purge: true }): HostPlan {
  const empty = removalDesired(host, settings);
  // Other people's objects that would clash with a deploy are no concern of a removal: it
  // touches only what is multilink's.
  const ignored = new Diagnostics();
  const { iptables, rules, routes, routesFlush6: flush6 } = planFamilies(empty, empty, facts, ignored, facts.v6 !== undefined);
  // The nft backend's table goes whole, when the router has one.
  const nft = planNft(null, facts.nft?.state === 'ok' ? facts.nft.table : undefined);
  const sysctls = priorSysctls(facts);
  const monitor = planMonitor(empty, facts);
  const purge = options.purge ? planPurge(settings, facts) : undefined;
  const changes = [...sysctls.changes, ...routes.changes, ...rules.changes, ...iptables.changes, ...nft.changes, ...monitor.changes, ...(purge?.changes ?? [])];
  const base = { host, changes, clashes: [], diagnostics: orphanWarning(host, settings, facts, iptables.changes.length > 0) };
  if (changes.length === 0) {
    return { ...base, action: 'noop', reason: 'nothing of multilink\'s is on this host (no ML_ chain or table inet multilink, ip rule, route or sysctl it owns, no monitor, boot hook or state folder)' };
  }
  return {
    ...base,
    action: 'change',
    ops: {
      flavour: facts.flavour,
      modules: [],
      sysctls: sysctls.set,
      rulesDelete: rules.remove,
      rulesAdd: [],
      routesFlush: routes.flush,
      ...(flush6.length > 0 ? { routesFlush6: flush6 } : {}),
      routesReplace: [],
      routesDelete: [],
      iptables: iptables.tables,
      ...(nft.ops ? { nft: nft.ops } : {}),
      owned: NOTHING_OWNED,
      ...(monitor.ops ? { monitor: monitor.ops } : {}),
      ...(purge ? { purge: purge.ops } : {}),
    },
  };
}
