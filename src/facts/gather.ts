// Gathers every fact of one host in a single round trip: one script, sections marked in its
// output, one pure parser per section.
import type { IptablesFlavourSetting } from '../model/config.js';
import { NETFILTER_TABLES, type NetfilterTable } from '../model/desired.js';
import type { HostFacts, IptablesFlavour, LiveRoute, ModuleState } from '../model/facts.js';
import { quote } from '../quote.js';
import { IPTABLES_SAVE_FUNCTION, iptablesSaveCommand, parseIptablesSave } from './iptables-save.js';
import { generationsCommand, parseGenerations } from './generations.js';
import { monitorRuntimeCommand, monitorScriptCommand, parseMonitor } from './monitor.js';
import { IP_RULE_COMMAND, parseIpRules } from './ip-rule.js';
import { ipRouteCommand, parseIpRoutes } from './ip-route.js';
import { isModuleName, moduleCommand, parseModule } from './modules.js';
import { OWNED_LIST, ownedCommand, parseOwned } from './owned.js';
import { ABSENT, isSysctlKey, parseSysctl, sysctlCommand } from './sysctl.js';

export interface GatherRequest {
  iptables: IptablesFlavourSetting;
  tables: number[];
  sysctls: string[];
  modules: string[];
  stateDir: string;
}

const SECTION = '@@ML ';
const RC = '@@ML-rc ';

/**
 * Chooses the iptables tools: the configured flavour, or for `auto` the one the host's
 * `iptables` command uses. Falls back to plain iptables-save/-restore (OpenWrt, old
 * distributions) only when they are of the wanted flavour.
 */
export function flavourPrelude(setting: IptablesFlavourSetting): string {
  return `ml_want=${quote(setting)}
if [ "$ml_want" = auto ]; then
  case "$(iptables -V 2>/dev/null)" in
    *nf_tables*) ml_want=nft ;;
    *legacy*) ml_want=legacy ;;
    *) if command -v iptables-nft-save >/dev/null 2>&1; then ml_want=nft; else ml_want=legacy; fi ;;
  esac
fi
if command -v "iptables-$ml_want-save" >/dev/null 2>&1; then
  ML_SAVE="iptables-$ml_want-save"; ML_RESTORE="iptables-$ml_want-restore"
else
  case "$(iptables-save -V 2>/dev/null)" in *nf_tables*) ml_have=nft ;; *) ml_have=legacy ;; esac
  if [ "$ml_have" != "$ml_want" ] || ! command -v iptables-save >/dev/null 2>&1; then
    echo "no iptables-$ml_want tools on this host" >&2; exit 90
  fi
  ML_SAVE=iptables-save; ML_RESTORE=iptables-restore
fi
ML_FLAVOUR=$ml_want`;
}

export const SCRIPT_HEADER = `PATH=/usr/sbin:/sbin:/usr/bin:/bin:$PATH
LC_ALL=C
export PATH LC_ALL`;

/** One section of a gather-style script: a marker line, the command's output, its exit code. */
export function section(name: string, command: string): string {
  return `echo ${quote(SECTION + name)}\n{ ${command}\n}\necho "${RC}$?"`;
}

/**
 * Tables and sysctls multilink owned before but no longer wants are listed in the state
 * folder's owned.list; they are gathered too, so a snapshot can restore them exactly.
 * Each line is checked by shape before it reaches a command.
 */
function ownedListSections(req: GatherRequest): string {
  const list = quote(`${req.stateDir}/${OWNED_LIST}`);
  const tables = new Set(req.tables.map(String));
  const sysctls = new Set(req.sysctls);
  return `if [ -r ${list} ]; then
  while read -r ml_kind ml_arg; do
    case "$ml_kind $ml_arg" in
      ${[...tables].map((t) => `"table ${t}"`).join('|') || '"table -"'}) ;;
      ${[...sysctls].map((k) => quote(`sysctl ${k}`)).join('|') || '"sysctl -"'}) ;;
      "table "*[!0-9]*|"table ") ;;
      "table "*) echo "${SECTION}route $ml_arg"; { ip -4 route show table "$ml_arg" 2>/dev/null || true; }; echo "${RC}$?" ;;
      "sysctl "*..*|"sysctl "*[!A-Za-z0-9_./@-]*|"sysctl ") ;;
      "sysctl "*) echo "${SECTION}sysctl $ml_arg"; if [ -r "/proc/sys/$ml_arg" ]; then cat "/proc/sys/$ml_arg"; else echo ${ABSENT}; fi; echo "${RC}$?" ;;
    esac
  done < ${list}
fi`;
}

/** A shell function, ml_gather, printing every fact as a section. */
export function gatherFunction(req: GatherRequest): string {
  for (const m of req.modules) if (!isModuleName(m)) throw new Error(`invalid module name ${JSON.stringify(m)}`);
  for (const k of req.sysctls) if (!isSysctlKey(k)) throw new Error(`invalid sysctl key ${JSON.stringify(k)}`);
  for (const t of req.tables) if (!Number.isInteger(t)) throw new Error(`invalid table ${t}`);
  const body = [
    section('flavour', 'echo "$ML_FLAVOUR"'),
    ...NETFILTER_TABLES.map((t) => section(`iptables ${t}`, iptablesSaveCommand(t))),
    section('ip-rule', IP_RULE_COMMAND),
    ...[...new Set(req.tables)].map((t) => section(`route ${t}`, ipRouteCommand(t))),
    ...req.sysctls.map((k) => section(`sysctl ${k}`, sysctlCommand(k))),
    ...req.modules.map((m) => section(`module ${m}`, moduleCommand(m))),
    section('owned', ownedCommand(req.stateDir)),
    ownedListSections(req),
    section('generations', generationsCommand(req.stateDir)),
    section('monitor-script', monitorScriptCommand(req.stateDir)),
    section('monitor-runtime', monitorRuntimeCommand(req.stateDir)),
  ];
  return `${IPTABLES_SAVE_FUNCTION}\nml_gather() {\n${body.join('\n')}\n}`;
}

/** Everything a script needs before it can call ml_gather. */
export function gatherPrelude(req: GatherRequest): string {
  return [SCRIPT_HEADER, flavourPrelude(req.iptables), gatherFunction(req)].join('\n');
}

export function gatherScript(req: GatherRequest): string {
  return `${gatherPrelude(req)}\nml_gather\n`;
}

interface Section {
  name: string;
  body: string;
  rc: number;
}

export function splitSections(stdout: string): Section[] {
  const sections: Section[] = [];
  let current: { name: string; lines: string[] } | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith(SECTION)) {
      current = { name: line.slice(SECTION.length), lines: [] };
    } else if (line.startsWith(RC) && current) {
      sections.push({ name: current.name, body: current.lines.join('\n'), rc: Number(line.slice(RC.length)) });
      current = undefined;
    } else if (current) {
      current.lines.push(line);
    }
  }
  return sections;
}

export class GatherError extends Error {
  override name = 'GatherError';
}

/** Parses the gather script's output into HostFacts; a failed section is an error naming it. */
export function parseGather(stdout: string, req: GatherRequest): HostFacts {
  const sections = new Map<string, Section>();
  for (const s of splitSections(stdout)) if (!sections.has(s.name)) sections.set(s.name, s);
  const get = (name: string): string => {
    const s = sections.get(name);
    if (!s) throw new GatherError(`gather output lacks section "${name}"`);
    if (s.rc !== 0) throw new GatherError(`gathering "${name}" failed with exit code ${s.rc}`);
    return s.body;
  };
  const flavour = get('flavour').trim();
  if (flavour !== 'legacy' && flavour !== 'nft') throw new GatherError(`unknown iptables flavour ${JSON.stringify(flavour)}`);
  const iptables = Object.fromEntries(NETFILTER_TABLES.map((t) => [t, parseIptablesSave(get(`iptables ${t}`))])) as Record<
    NetfilterTable,
    ReturnType<typeof parseIptablesSave>
  >;
  const routes: Record<number, LiveRoute[]> = {};
  const sysctls: Record<string, string | null> = {};
  for (const name of sections.keys()) {
    const route = /^route (\d+)$/.exec(name);
    if (route) routes[Number(route[1])] = parseIpRoutes(get(name));
    const sysctl = /^sysctl (.+)$/.exec(name);
    if (sysctl) sysctls[sysctl[1]] = parseSysctl(get(name));
  }
  for (const t of req.tables) get(`route ${t}`);
  for (const k of req.sysctls) get(`sysctl ${k}`);
  const modules: Record<string, ModuleState> = {};
  for (const m of req.modules) modules[m] = parseModule(get(`module ${m}`));
  let owned;
  try {
    owned = parseOwned(get('owned'));
  } catch (e) {
    throw new GatherError(`the ownership record ${req.stateDir}/owned.json is unreadable: ${(e as Error).message}`);
  }
  return {
    flavour: flavour as IptablesFlavour,
    iptables,
    ipRules: parseIpRules(get('ip-rule')),
    routes,
    sysctls,
    modules,
    owned,
    generations: parseGenerations(get('generations')),
    monitor: parseMonitor(get('monitor-script'), get('monitor-runtime')),
  };
}
