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

export function monitorRuntimeCommand(stateDir: string, runDir: string): Sh {
  const s = new StateLayout(stateDir);
  const r = new RunLayout(runDir);
  return sh`if [ -r ${r.monitorState} ]; then cat ${r.monitorState}; fi
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

/**
 * The state file the monitor writes: `mask N`, `links A B C`, `link NAME up|down SINCE`,
 * `gateway NAME via G|dev|-`, `probe NAME KEY=VALUE…`.
 */
export function parseMonitorState(text: string): MonitorStateFile {
  const state: MonitorStateFile = { links: [] };
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] === 'mask' && /^\d+$/.test(words[1] ?? '')) state.mask = Number(words[1]);
    else if (words[0] === 'mask6' && /^\d+$/.test(words[1] ?? '')) state.mask6 = Number(words[1]);
    else if (words[0] === 'link6' && words.length >= 3 && (words[2] === 'up' || words[2] === 'down')) {
      const link = state.links.find((l) => l.link === words[1]);
      if (link) Object.assign(link, { state6: words[2], ...(words[3] ? { since6: words[3] } : {}) });
    } else if (words[0] === 'gateway6' && words.length >= 3) {
      const link = state.links.find((l) => l.link === words[1]);
      if (link) link.gateway6 = words.slice(2).join(' ');
    }
    else if (words[0] === 'links') state.linkNames = words.slice(1);
    else if (words[0] === 'link' && words.length >= 3 && (words[2] === 'up' || words[2] === 'down')) {
      state.links.push({ link: words[1], state: words[2], ...(words[3] ? { since: words[3] } : {}) });
    } else if (words[0] === 'gateway' && words.length >= 3) {
      const link = state.links.find((l) => l.link === words[1]);
      if (link) link.gateway = words.slice(2).join(' ');
    } else if (words[0] === 'probe' && words.length >= 3) {
      const probe = parseProbe(words.slice(2));
      if (probe) state.probes = { ...state.probes, [words[1]]: probe };
    }
  }
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
