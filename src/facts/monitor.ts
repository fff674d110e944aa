// Fact: the link monitor on the router: its script (for its tag, and for exact restores),
// and its runtime state: running or not, the healthy-link mask and each link's state.
import type { MonitorFacts } from '../model/facts.js';
import { quote } from '../quote.js';

export function monitorScriptCommand(stateDir: string): string {
  const f = quote(`${stateDir}/monitor/monitor.sh`);
  return `if [ -r ${f} ]; then cat ${f}; fi`;
}

export function monitorRuntimeCommand(stateDir: string): string {
  const m = quote(`${stateDir}/monitor`);
  return `if [ -r ${m}/state ]; then cat ${m}/state; fi
ml_p=$(cat ${m}/pid 2>/dev/null)
if [ -n "$ml_p" ] && kill -0 "$ml_p" 2>/dev/null && grep -q monitor.sh "/proc/$ml_p/cmdline" 2>/dev/null; then echo "running $ml_p"; else echo stopped; fi`;
}

export function parseMonitor(script: string, runtime: string): MonitorFacts {
  const facts: MonitorFacts = { script: script.trim() === '' ? null : `${script.replace(/\n+$/, '')}\n`, running: false, links: [] };
  for (const line of runtime.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] === 'mask' && /^\d+$/.test(words[1] ?? '')) facts.mask = Number(words[1]);
    else if (words[0] === 'links') facts.linkNames = words.slice(1);
    else if (words[0] === 'link' && words.length >= 3) facts.links.push({ name: words[1], up: words[2] === 'up', since: words[3] });
    else if (words[0] === 'running') {
      facts.running = true;
      facts.pid = Number(words[1]);
    }
  }
  return facts;
}
