// Fact: the link monitor on the router: its script (for its tag, and for exact restores),
// and its runtime state: running or not, the healthy-link mask, each link's state and probe
// statistics. The one reader of the monitor's state file and of its history ring.
import type { MonitorFacts } from '../model/facts.js';
import type { LinkChange, LinkHealth, LinkState, ProbeStats } from '../model/link-state.js';
import { RunLayout, StateLayout } from '../shell/layout.js';
import { sh, type Sh } from '../shell/sh.js';

export function monitorScriptCommand(stateDir: string): Sh {
  const f = new StateLayout(stateDir).monitorScript;
  return sh`if [ -r ${f} ]; then cat ${f}; fi`;
}

/**
 * `now TIME UPTIME`: the router's clock and whole seconds since its boot, printed after the
 * monitor's state file so its changes' times can be counted from the uptime (parseMonitorState).
 */
export const ROUTER_NOW: Sh = sh`ml_nu=; { read -r ml_nu _ < /proc/uptime; } 2>/dev/null; echo "now $(date -u +%Y-%m-%dT%H:%M:%SZ) \${ml_nu%%.*}"`;

export function monitorRuntimeCommand(stateDir: string, runDir: string): Sh {
  const s = new StateLayout(stateDir);
  const r = new RunLayout(runDir);
  return sh`if [ -r ${r.monitorState} ]; then cat ${r.monitorState}; ${ROUTER_NOW}; fi
ml_p=; { read -r ml_p < ${s.monitorPid}; } 2>/dev/null
if ml_runs "$ml_p" monitor.sh; then echo "running $ml_p"; else echo stopped; fi`;
}

export interface MonitorStateFile {
  mask?: number;
  /** IPv6's healthy-link mask (links with a gateway6). */
  mask6?: number;
  linkNames?: string[];
  links: LinkState[];
  /** Per link name, for links the monitor probes. */
  probes?: Record<string, ProbeStats>;
}

const whole = (v: string | undefined): number | undefined => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);

/** `probe NAME sent=N lost=N rtt_us=N|- loss_pm=N` (unknown keys are for newer monitors: skipped). */
function parseProbe(words: string[]): ProbeStats | undefined {
  const kv = new Map(words.map((w) => w.split('=', 2) as [string, string]));
  const sent = whole(kv.get('sent'));
  const lost = whole(kv.get('lost'));
  const lossPm = whole(kv.get('loss_pm'));
  if (sent === undefined || lost === undefined || lossPm === undefined) return undefined;
  const rttUs = whole(kv.get('rtt_us'));
  return { sent, lost, rttMs: rttUs === undefined ? null : rttUs / 1000, loss: lossPm / 1000 };
}

/** A state line's `SINCE [UPTIME]`: the wall time (`-` while the router's clock was not set) and the seconds since boot. */
function sinceWords(at: string | undefined, up: string | undefined): { at?: string; up?: number } {
  return { ...(at && at !== '-' ? { at } : {}), ...(whole(up) !== undefined ? { up: whole(up) } : {}) };
}

/** The router's clock when the gather read it: `now TIME UPTIME`. */
interface RouterNow {
  at: number;
  up: number;
}

/** A recorded time this close to the one counted from the uptime is right: the clock was not stepped since. */
const STEP_S = 5;

/** Before 2021 the clock of a router has not been set since its boot (no NTP answer yet). */
const CLOCK_SET_FROM = Date.UTC(2021, 0, 1);

/**
 * Each change's time from the monitor's uptime and the router's clock now: right even when the
 * change was recorded before NTP stepped the clock; while the clock is still not set, only how
 * long after the boot (sinceBootS). Without an uptime (an older monitor) the time as recorded.
 */
function resolveSince(links: LinkState[], now: RouterNow | undefined): void {
  // Counted back from the uptime (both read in whole seconds, a second apart at worst); a
  // recorded time within STEP_S of it is kept as recorded, so two reads agree to the second.
  const at = (up: number, recorded: string | undefined): string => {
    const counted = now!.at - (now!.up - up) * 1000;
    const kept = recorded === undefined ? Number.NaN : Date.parse(recorded);
    return Math.abs(counted - kept) <= STEP_S * 1000 ? (recorded as string) : new Date(counted).toISOString().replace(/\.\d{3}Z$/, 'Z');
  };
  const clockSet = now !== undefined && now.at >= CLOCK_SET_FROM;
  for (const l of links as (LinkState & { sinceUp?: number; sinceUp6?: number })[]) {
    if (now && l.sinceUp !== undefined && l.sinceUp <= now.up) {
      if (clockSet) l.since = at(l.sinceUp, l.since);
      else {
        delete l.since;
        l.sinceBootS = l.sinceUp;
      }
    }
    if (now && l.sinceUp6 !== undefined && l.sinceUp6 <= now.up) {
      if (clockSet) l.since6 = at(l.sinceUp6, l.since6);
      else {
        delete l.since6;
        l.sinceBootS6 = l.sinceUp6;
      }
    }
    delete l.sinceUp;
    delete l.sinceUp6;
  }
}

/**
 * The state file the monitor writes: `mask N`, `links A B C`, `link NAME up|down SINCE UPTIME`,
 * `gateway NAME via G|dev|-`, `probe NAME KEY=VALUE…`.
 */
export function parseMonitorState(text: string): MonitorStateFile {
  const state: MonitorStateFile = { links: [] };
  let now: RouterNow | undefined;
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] === 'now' && !Number.isNaN(Date.parse(words[1] ?? '')) && whole(words[2]) !== undefined) now = { at: Date.parse(words[1]), up: whole(words[2]) as number };
    else if (words[0] === 'mask' && /^\d+$/.test(words[1] ?? '')) state.mask = Number(words[1]);
    else if (words[0] === 'mask6' && /^\d+$/.test(words[1] ?? '')) state.mask6 = Number(words[1]);
    else if (words[0] === 'link6' && words.length >= 3 && (words[2] === 'up' || words[2] === 'down')) {
      const link = state.links.find((l) => l.link === words[1]);
      const since = sinceWords(words[3], words[4]);
      if (link) Object.assign(link, { state6: words[2], ...(since.at ? { since6: since.at } : {}), ...(since.up !== undefined ? { sinceUp6: since.up } : {}) });
    } else if (words[0] === 'gateway6' && words.length >= 3) {
      const link = state.links.find((l) => l.link === words[1]);
      if (link) link.gateway6 = words.slice(2).join(' ');
    }
    else if (words[0] === 'links') state.linkNames = words.slice(1);
    else if (words[0] === 'link' && words.length >= 3 && (words[2] === 'up' || words[2] === 'down')) {
      const since = sinceWords(words[3], words[4]);
      state.links.push({ link: words[1], state: words[2], ...(since.at ? { since: since.at } : {}), ...(since.up !== undefined ? { sinceUp: since.up } : {}) });
    } else if (words[0] === 'gateway' && words.length >= 3) {
      const link = state.links.find((l) => l.link === words[1]);
      if (link) link.gateway = words.slice(2).join(' ');
    } else if (words[0] === 'probe' && words.length >= 3) {
      const probe = parseProbe(words.slice(2));
      if (probe) state.probes = { ...state.probes, [words[1]]: probe };
    }
  }
  resolveSince(state.links, now);
  return state;
}

/** The monitor's history ring: `TIME LINK FROM TO WHY…` per line, oldest first; other lines are skipped. */
export function parseMonitorHistory(text: string): LinkChange[] {
  const out: LinkChange[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+) (\S+) (up|down) (up|down) ?(.*)$/.exec(line.trim());
    if (m) out.push({ at: m[1], link: m[2], from: m[3] as LinkHealth, to: m[4] as LinkHealth, why: m[5] });
  }
  return out;
}

export function parseMonitor(script: string, runtime: string): MonitorFacts {
  const facts: MonitorFacts = { script: script.trim() === '' ? null : `${script.replace(/\n+$/, '')}\n`, running: false, ...parseMonitorState(runtime) };
  for (const line of runtime.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] === 'running') {
      facts.running = true;
      facts.pid = Number(words[1]);
    }
  }
  return facts;
}

/** method adaptive's file: `at TIME`, `changed TIME`, `link K weight W cap C rate R conns N` per link. */
export interface AdaptiveFile {
  at?: string;
  changed?: string;
  /** Keyed by link index. */
  links: Map<number, { weight: number; capacityBps: number; rateBps: number; connections: number }>;
}

export function parseAdaptive(text: string): AdaptiveFile {
  const out: AdaptiveFile = { links: new Map() };
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] === 'at' && words[1]) out.at = words[1];
    else if (words[0] === 'changed' && words[1]) out.changed = words[1];
    else if (words[0] === 'link' && /^\d+$/.test(words[1] ?? '')) {
      const kv = new Map<string, number>();
      for (let i = 2; i + 1 < words.length; i += 2) {
        const v = Number(words[i + 1]);
        if (words[i + 1] !== '' && Number.isFinite(v) && v >= 0) kv.set(words[i], v);
      }
      const weight = kv.get('weight');
      const capacityBps = kv.get('cap');
      const rateBps = kv.get('rate');
      const connections = kv.get('conns');
      if (weight !== undefined && capacityBps !== undefined && rateBps !== undefined && connections !== undefined) {
        out.links.set(Number(words[1]), { weight, capacityBps, rateBps, connections });
      }
    }
  }
  return out;
}
