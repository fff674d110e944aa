// Gathers every fact of one host in a single round trip: one script, sections marked in its
// output, one pure parser per section.
import { NETFILTER_TABLES, type NetfilterTable } from '../model/desired.js';
import type { FamilyFacts, HostFacts, IptablesFlavour, LiveRoute, LiveTable, ModuleState } from '../model/facts.js';
import { StateLayout } from '../shell/layout.js';
import { lines, section, shellLib } from '../shell/lib.js';
import { parseReply, type Section } from '../shell/reply.js';
import { joinSh, sh, type Sh } from '../shell/sh.js';
import type { GatherRequest } from './gather-request.js';
import { generationsCommand, parseGenerations } from './generations.js';
import { GatherError } from './gather-error.js';
import { IP6_RULE_COMMAND, IP_RULE_COMMAND, parseIpRules } from './ip-rule.js';
import { ipRouteCommand, parseIpRoutes } from './ip-route.js';
import { iptablesSaveSections, parseIptablesSave } from './iptables-save.js';
import { MAIN_DEFAULTS6_COMMAND, MAIN_DEFAULTS_COMMAND, parseMainDefaults } from './main-defaults.js';
import { moduleCommand, parseModule } from './modules.js';
import { monitorRuntimeCommand, monitorScriptCommand, parseMonitor } from './monitor.js';
import { DamagedOwnedError, ownedCommand, parseOwned } from './owned.js';
import { parseRouterTools, routerToolsCommand } from './router.js';
import { bootHookSections, parseBootHook } from './boot-hook.js';
import { parseSysctl, sysctlCommand } from './sysctl.js';
import { nftCommand, parseNftFacts } from './nft-list.js';
import { parsePaths, pathsCommand } from './paths.js';

/**
 * Tables and sysctls multilink owned before but no longer wants are listed in the state
 * folder's owned.list; they are gathered too, so a snapshot can restore them exactly.
 * Each line is checked by shape before it reaches a command.
 */
function ownedListSections(req: GatherRequest): Sh {
  const list = new StateLayout(req.stateDir).ownedList;
  const known = [...new Set(req.tables)].map((t) => `table ${t}`).concat(req.sysctls.map((k) => `sysctl ${k}`));
  // Already gathered above: skipped here.
  const knownCase = known.length > 0 ? sh`      ${joinSh(known.map((k) => sh`${k}`), '|')}) ;;
` : sh``;
  return sh`if [ -r ${list} ]; then
  while read -r ml_kind ml_arg; do
    case "$ml_kind $ml_arg" in
${knownCase}      "table "*[!0-9]*|"table ") ;;
      "table "*) echo "@@ML route $ml_arg"; { ip -4 route show table "$ml_arg" 2>/dev/null || true; }; echo "@@ML-rc $?"
        if [ "$ml_g6" = 1 ]; then echo "@@ML route6 $ml_arg"; { ip -6 route show table "$ml_arg" 2>/dev/null || true; }; echo "@@ML-rc $?"; fi ;;
      "sysctl "*..*|"sysctl "*[!A-Za-z0-9_./@-]*|"sysctl ") ;;
      "sysctl "*) echo "@@ML sysctl $ml_arg"; ml_read "/proc/sys/$ml_arg"; echo "@@ML-rc $?" ;;
    esac
  done < ${list}
fi`;
}

/**
 * IPv6's objects, when the desired state has some or the ownership record says multilink made
 * some (`family 6` in owned.list): a router multilink never gave IPv6 pays nothing for it.
 */
function ipv6Sections(req: GatherRequest): Sh {
  const list = new StateLayout(req.stateDir).ownedList;
  const want = req.ipv6 ? sh`ml_g6=1` : sh`ml_g6=0; if [ -r ${list} ] && grep -qx 'family 6' ${list}; then ml_g6=1; fi`;
  return lines(
    want,
    sh`if [ "$ml_g6" = 1 ]; then`,
    sh`ml_save_sections6 ${NETFILTER_TABLES}`,
    section('ip6-rule', IP6_RULE_COMMAND),
    section('main-defaults6', MAIN_DEFAULTS6_COMMAND),
    ...[...new Set(req.tables)].map((t) => section(`route6 ${t}`, ipRouteCommand(t, 6))),
    sh`fi`,
  );
}

/** A shell function, ml_gather, printing every fact as a section; needs lib.sh before it. */
export function gatherFunction(req: GatherRequest): Sh {
  const body = lines(
    section('flavour', sh`ml_flavour_name`),
    iptablesSaveSections(NETFILTER_TABLES),
    section('nft', nftCommand()),
    section('ip-rule', IP_RULE_COMMAND),
    section('main-defaults', MAIN_DEFAULTS_COMMAND),
    ...[...new Set(req.tables)].map((t) => section(`route ${t}`, ipRouteCommand(t))),
    ipv6Sections(req),
    ...req.sysctls.map((k) => section(`sysctl ${k}`, sysctlCommand(k))),
    ...req.modules.map((m) => section(`module ${m}`, moduleCommand(m))),
    section('owned', ownedCommand(req.stateDir)),
    ownedListSections(req),
    section('generations', generationsCommand(req.stateDir)),
    section('monitor-script', monitorScriptCommand(req.stateDir)),
    section('monitor-runtime', monitorRuntimeCommand(req.stateDir, req.runDir)),
    section('tools', routerToolsCommand(req.stateDir)),
    bootHookSections(req.boot ?? 'none', req.stateDir),
    req.paths && section('paths', pathsCommand(req.stateDir, req.runDir)),
  );
  return sh`ml_gather() {
${body}
}`;
}

/** Route flags that are the kernel's state of a route, not part of it (`linkdown`: no carrier). */
const ROUTE_STATE_FLAGS = ['linkdown', 'dead', 'offload', 'trap', 'rt_offload', 'rt_trap', 'rt_offload_failed'];

/**
 * ml_filter: what the restore check compares: multilink's own objects. Drops the sections a
 * restore cannot or need not bring back (loaded modules, generations, the monitor's pid, the
 * main table's default routes a DHCP client may change, the tools, the boot hook, which
 * folders exist); in the
 * iptables sections everything but ML_ chains and the jumps to them, and in the ip-rule
 * section everything but rules of multilink's shapes at its priorities (src/plan/ip-rules.ts
 * isMultilinkRule): other tools' churn (Docker, kube-proxy, a rule added meanwhile) does not
 * fail a restore that brought multilink's own objects back exactly. Routes are compared
 * without the kernel's state flags (`linkdown` while a cable is out), and in the `followed`
 * tables (`4:T`, `6:T`: a link monitor keeps their default route on the interface's DHCP, RA
 * or PPP gateway, src/render/monitor.ts followedTables) without their gateway.
 */
export function filterFunction(scope: { priorities: readonly number[]; tables: readonly number[] }, followed: readonly string[] = []): Sh {
  const shape = `lookup (${scope.tables.join('|') || 'none'})[ \t]*$|lookup main suppress_prefixlength 0[ \t]*$`;
  const flags = ` (${ROUTE_STATE_FLAGS.join('|')}) `;
  return sh`ml_filter() {
  awk -v prios=${scope.priorities.join(' ')} -v shape=${shape} -v followed=${followed.join(' ')} -v flags=${flags} 'BEGIN { n = split(prios, a, " "); for (i = 1; i <= n; i++) prio[a[i]] = 1; n = split(followed, a, " "); for (i = 1; i <= n; i++) follow[a[i]] = 1 } /^@@ML (module |generations|monitor-runtime|main-defaults|tools|boot-hook|paths)/ { skip = 1 } /^@@ML ip6?tables / { ipt = 1; print; next } /^@@ML ip6?-rule$/ { rule = 1; print; next } /^@@ML route6? [0-9]+$/ { route = ($2 == "route6" ? "6:" : "4:") $3; print; next } /^@@ML-rc / { if (!skip) print; skip = 0; ipt = 0; rule = 0; route = ""; next } rule { split($0, f, ":"); if (!(f[1] in prio) || $0 !~ shape) next } route != "" { r = " " $0 " "; while (gsub(flags, " ", r)) ; if (route in follow && r ~ /^ default /) sub(/ via [^ ]+ /, " ", r); gsub(/^ +| +$/, "", r); print r; next } !skip && (!ipt || /ML_/) { print }'
}`;
}

export function gatherScript(req: GatherRequest): Sh {
  return lines(shellLib(req.iptables), gatherFunction(req), sh`ml_gather`);
}

export { GatherError } from './gather-error.js';

/** Section access for a gather-style reply: a missing or failed section is an error naming it. */
export function sectionReader(stdout: string, what: string): { get(name: string): string; find(name: string): Section | undefined; names(): string[] } {
  const sections = new Map<string, Section>();
  for (const s of parseReply(stdout).sections) if (!sections.has(s.name)) sections.set(s.name, s);
  return {
    get(name) {
      const s = sections.get(name);
      if (!s) throw new GatherError(`${what} output lacks section "${name}"`);
      if (s.rc !== 0) throw new GatherError(`reading "${name}" failed with exit code ${s.rc}${s.body.trim() ? `: ${s.body.trim().split('\n').pop()}` : ''}`);
      return s.body;
    },
    find: (name) => sections.get(name),
    names: () => [...sections.keys()],
  };
}

export function parseFlavour(text: string): IptablesFlavour {
  const flavour = text.trim();
  // A router without iptables (lib.sh's none): nothing of multilink's is in iptables there, and
  // tools.iptables says so; its scripts run lib.sh's no-iptables mode whatever flavour they name.
  if (flavour === 'none') return 'nft';
  if (flavour !== 'legacy' && flavour !== 'nft') throw new GatherError(`unknown iptables flavour ${JSON.stringify(flavour)}`);
  return flavour;
}

/** Parses the gather script's output into HostFacts. */
export function parseGather(stdout: string, req: GatherRequest): HostFacts {
  const r = sectionReader(stdout, 'gather');
  const flavour = parseFlavour(r.get('flavour'));
  const iptables = Object.fromEntries(NETFILTER_TABLES.map((t) => [t, parseIptablesSave(r.get(`iptables ${t}`))])) as Record<NetfilterTable, LiveTable>;
  const routes: Record<number, LiveRoute[]> = {};
  const routes6: Record<number, LiveRoute[]> = {};
  const sysctls: Record<string, string | null> = {};
  for (const name of r.names()) {
    const route = /^route (\d+)$/.exec(name);
    if (route) routes[Number(route[1])] = parseIpRoutes(r.get(name));
    const route6 = /^route6 (\d+)$/.exec(name);
    if (route6) routes6[Number(route6[1])] = parseIpRoutes(r.get(name), 6);
    const sysctl = /^sysctl (.+)$/.exec(name);
    if (sysctl) sysctls[sysctl[1]] = parseSysctl(r.get(name));
  }
  for (const t of req.tables) r.get(`route ${t}`);
  for (const k of req.sysctls) r.get(`sysctl ${k}`);
  const modules: Record<string, ModuleState> = {};
  for (const m of req.modules) modules[m] = parseModule(r.get(`module ${m}`));
  let owned;
  try {
    owned = parseOwned(r.get('owned'));
  } catch (e) {
    const layout = new StateLayout(req.stateDir);
    if (e instanceof DamagedOwnedError) {
      throw new GatherError(
        `the ownership record is damaged: ${e.message} (a power cut soon after a change?); without it multilink cannot tell its own tables, rules and sysctls from other tools', so nothing was changed. The current generation writes it again: on the router run its boot hook, \`sh ${layout.bootScript}\` (or reboot), or without one (multilink_boot: none) \`sh ${layout.generations}/N/state.sh\` for the generation N named in ${layout.current}; then deploy again`,
      );
    }
    throw new GatherError(`the ownership record ${layout.owned} is unreadable: ${(e as Error).message}`);
  }
  const bootHook = parseBootHook(parseReply(stdout).sections);
  const v6: FamilyFacts | undefined = r.find('ip6-rule')
    ? {
        iptables: Object.fromEntries(NETFILTER_TABLES.map((t) => [t, parseIptablesSave(r.get(`ip6tables ${t}`))])) as Record<NetfilterTable, LiveTable>,
        ipRules: parseIpRules(r.get('ip6-rule')),
        mainDefaults: parseMainDefaults(r.get('main-defaults6')),
        routes: routes6,
      }
    : undefined;
  if (req.ipv6 && !v6) throw new GatherError('gather output lacks the IPv6 sections');
  return {
    flavour,
    ...(v6 ? { v6 } : {}),
    iptables,
    ipRules: parseIpRules(r.get('ip-rule')),
    mainDefaults: parseMainDefaults(r.get('main-defaults')),
    routes,
    sysctls,
    modules,
    owned,
    generations: parseGenerations(r.get('generations')),
    monitor: parseMonitor(r.get('monitor-script'), r.get('monitor-runtime')),
    tools: parseRouterTools(r.get('tools')),
    nft: parseNftFacts(r.get('nft')),
    ...(bootHook ? { bootHook } : {}),
    ...(req.paths ? { paths: parsePaths(r.get('paths'), req.stateDir) } : {}),
  };
}

