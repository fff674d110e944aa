// Starting and stopping the link monitor on the router: under systemd when the router runs
// it (systemd-run, restarted if it dies), otherwise as a detached background process with a
// pid file in the state folder (a deploy restarts it if it died).
import { createHash } from 'node:crypto';
import type { MonitorOps } from '../model/plan.js';
import { quote } from '../quote.js';
import { waitWhile, writeFileStep } from './script.js';
import { MONITOR_DIR, MONITOR_SCRIPT } from './monitor-script.js';

function unitName(stateDir: string): string {
  return `multilink-monitor-${createHash('sha256').update(stateDir).digest('hex').slice(0, 8)}`;
}

export function stopMonitorLines(stateDir: string): string[] {
  const m = quote(`${stateDir}/${MONITOR_DIR}`);
  return [
    `if [ "$(cat ${m}/manager 2>/dev/null)" = systemd ]; then systemctl stop ${unitName(stateDir)} >/dev/null 2>&1; fi`,
    `ml_p=$(cat ${m}/pid 2>/dev/null)`,
    `if [ -n "$ml_p" ] && grep -q monitor.sh "/proc/$ml_p/cmdline" 2>/dev/null; then`,
    `  kill "$ml_p" 2>/dev/null`,
    `  ${waitWhile('kill -0 "$ml_p" 2>/dev/null', 50)}`,
    `  kill -9 "$ml_p" 2>/dev/null`,
    'fi',
    `rm -f ${m}/pid`,
  ];
}

export function startMonitorLines(stateDir: string): string[] {
  const m = quote(`${stateDir}/${MONITOR_DIR}`);
  const script = quote(`${stateDir}/${MONITOR_DIR}/${MONITOR_SCRIPT}`);
  const unit = unitName(stateDir);
  return [
    `if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then`,
    `  systemctl reset-failed ${unit} >/dev/null 2>&1`,
    `  systemd-run --quiet --unit=${unit} --property=Restart=always --property=RestartSec=1 /bin/sh ${script} && echo systemd > ${m}/manager`,
    'else',
    `  if command -v setsid >/dev/null 2>&1; then setsid sh ${script} </dev/null >/dev/null 2>&1 & else sh ${script} </dev/null >/dev/null 2>&1 & fi`,
    `  echo background > ${m}/manager`,
    'fi',
    waitWhile(`[ ! -s ${m}/pid ]`, 50),
    `[ -s ${m}/pid ] || { echo "the link monitor did not start" >&2; false; }`,
  ];
}

/** Apply steps for a plan's monitor operations (after the iptables transaction). */
export function monitorSteps(ops: MonitorOps, stateDir: string): string[] {
  const m = `${stateDir}/${MONITOR_DIR}`;
  const lines: string[] = [];
  if (ops.stop || ops.remove || ops.script) lines.push(...stopMonitorLines(stateDir));
  if (ops.remove) lines.push(`rm -rf ${quote(m)}`);
  if (ops.resetState) lines.push(`rm -f ${quote(`${m}/state`)}`);
  if (ops.script) lines.push(`mkdir -p ${quote(m)}`, writeFileStep(`${m}/${MONITOR_SCRIPT}`, ops.script.replace(/\n$/, ''), `write ${m}/${MONITOR_SCRIPT}`));
  if (ops.start) lines.push(`ml_step 'start the link monitor' sh -c ${quote(startMonitorLines(stateDir).join('\n'))}`);
  return lines;
}
