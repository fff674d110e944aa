// Renders a HostPlan's operations into the one POSIX sh script that applies them on the
// router, in the order modules → sysctls → routes and rules → one iptables-restore.
// A failing step prints the command, its exit code and stderr between markers and stops.
import { createHash } from 'node:crypto';
import type { PlanOps } from '../model/plan.js';
import type { OwnedRecord } from '../model/facts.js';
import { OWNED_FILE, OWNED_LIST, ownedListText } from '../facts/owned.js';
import { flavourPrelude, SCRIPT_HEADER } from '../facts/gather.js';
import { sysctlPath } from '../facts/sysctl.js';
import { quote } from '../quote.js';
import { renderRouteArgs, renderRuleArgs } from '../render/ip.js';
import { monitorSteps } from './monitor-steps.js';

export const FAIL = '@@ML-FAIL';
export const FAIL_RC = '@@ML-FAIL-RC';
export const FAIL_STDERR = '@@ML-FAIL-STDERR';
export const DONE = '@@ML-APPLIED';

/** Runs "$@"; on failure prints the description, exit code and stderr, and exits. */
export const STEP_FUNCTIONS = `ml_step() {
  ml_desc=$1; shift
  if [ -n "\${ML_FIRED:-}" ] && [ -e "$ML_FIRED" ]; then
    printf '%s %s\\n%s %s\\n%s\\n%s\\n' '${FAIL}' "$ml_desc" '${FAIL_RC}' 124 '${FAIL_STDERR}' 'not run: the dead-man timer fired and restored the prior state'
    exit 3
  fi
  ml_err=$("$@" 2>&1 >/dev/null)
  ml_rc=$?
  if [ "$ml_rc" -ne 0 ]; then
    printf '%s %s\\n%s %s\\n%s\\n%s\\n' '${FAIL}' "$ml_desc" '${FAIL_RC}' "$ml_rc" '${FAIL_STDERR}' "$ml_err"
    exit 3
  fi
}`;

/**
 * A here-document whose delimiter cannot occur in the body. The delimiter comes from a hash
 * of the body, so the same content always renders the same script (the monitor's tag, and
 * reproducible scripts, depend on it).
 */
export function heredoc(body: string): { open: string; close: string } {
  let salt = 0;
  let tag: string;
  do tag = `ML_EOF_${createHash('sha256').update(`${salt++}\0${body}`).digest('hex').slice(0, 12)}`;
  while (body.includes(tag));
  return { open: `<<'${tag}'`, close: tag };
}

/** `cat > TARGET` of a here-document holding `content`; TARGET is shell text the caller quoted. */
export function catTo(target: string, content: string): string {
  const doc = heredoc(content);
  return `cat > ${target} ${doc.open}\n${content}\n${doc.close}`;
}

/** A bounded wait: while the shell condition holds, poll every 0.1 s, at most `tenths` times. */
export function waitWhile(condition: string, tenths: number): string {
  return `ml_i=0; while ${condition} && [ "$ml_i" -lt ${tenths} ]; do sleep 0.1 2>/dev/null || sleep 1; ml_i=$((ml_i + 1)); done`;
}

/** Writes `content` to `path` atomically (temp file + rename), as one step. */
export function writeFileStep(path: string, content: string, desc: string): string {
  const tmp = quote(`${path}.tmp`);
  return `${catTo(tmp, content)}\nml_step ${quote(desc)} mv -f ${tmp} ${quote(path)}`;
}

export function ownedUnion(a: OwnedRecord | null, b: OwnedRecord): OwnedRecord {
  if (!a) return b;
  const chains = [...a.chains, ...b.chains].filter((c, i, all) => all.findIndex((d) => d.table === c.table && d.name === c.name) === i);
  return {
    tables: [...new Set([...a.tables, ...b.tables])].sort((x, y) => x - y),
    priorities: [...new Set([...a.priorities, ...b.priorities])].sort((x, y) => x - y),
    chains,
    sysctls: { ...b.sysctls, ...a.sysctls },
  };
}

/** The ownership record, as JSON for the controller and as lines for the gather script. */
export function ownedFilesSteps(stateDir: string, record: OwnedRecord): string[] {
  return [
    writeFileStep(`${stateDir}/${OWNED_FILE}`, JSON.stringify(record), `write ${stateDir}/${OWNED_FILE}`),
    writeFileStep(`${stateDir}/${OWNED_LIST}`, ownedListText(record).trimEnd(), `write ${stateDir}/${OWNED_LIST}`),
  ];
}

export interface ApplyScriptInput {
  ops: PlanOps;
  stateDir: string;
  /** Ownership record live before the apply: the intent record written first is the union. */
  ownedBefore: OwnedRecord | null;
}

/** The plan's operations as script lines; needs the prelude and ml_step before them. */
export function opsSteps({ ops, stateDir, ownedBefore }: ApplyScriptInput): string[] {
  const lines: string[] = [];
  lines.push(`ml_step ${quote(`mkdir -p ${stateDir}`)} mkdir -p ${quote(stateDir)}`);
  // Record the union first: if anything below fails, the next run still knows what it made.
  lines.push(...ownedFilesSteps(stateDir, ownedUnion(ownedBefore, ops.owned)));
  for (const m of ops.modules) lines.push(`ml_step ${quote(`modprobe ${m}`)} modprobe ${quote(m)}`);
  for (const s of ops.sysctls) {
    const path = quote(sysctlPath(s.key));
    lines.push(`ml_step ${quote(`sysctl ${s.key}=${s.value}`)} sh -c 'printf "%s\\n" "$1" > "$2"' sh ${quote(s.value)} ${path}`);
  }
  for (const r of ops.routesReplace) {
    const args = renderRouteArgs(r).map(quote).join(' ');
    lines.push(`ml_step ${quote(`ip route replace ${renderRouteArgs(r).join(' ')}`)} ip -4 route replace ${args}`);
  }
  for (const d of ops.routesDelete) {
    // The replace above may already have taken this route's place; what remains is checked after.
    const args = d.text.split(/\s+/).map(quote).join(' ');
    lines.push(`ip -4 route del ${args} table ${d.table} 2>/dev/null || true`);
  }
  for (const t of ops.routesFlush) lines.push(`ip -4 route flush table ${t} 2>/dev/null || true`);
  for (const p of ops.rulesDelete) {
    lines.push(`ml_n=0; while [ "$ml_n" -lt 100 ] && ip -4 rule del priority ${p} 2>/dev/null; do ml_n=$((ml_n + 1)); done`);
  }
  for (const r of ops.rulesAdd) {
    const args = renderRuleArgs(r);
    lines.push(`ml_step ${quote(`ip rule add ${args.join(' ')}`)} ip -4 rule add ${args.map(quote).join(' ')}`);
  }
  const payload = Object.values(ops.iptables).join('');
  if (payload) {
    const doc = heredoc(payload);
    lines.push(`ml_payload=${quote(`${stateDir}/iptables.restore`)}`);
    lines.push(`cat > "$ml_payload" ${doc.open}\n${payload}${doc.close}`);
    lines.push(`ml_step "$ML_RESTORE --noflush -w 20 < $ml_payload" sh -c '"$1" --noflush -w 20 < "$2"' sh "$ML_RESTORE" "$ml_payload"`);
  }
  if (ops.monitor) lines.push(...monitorSteps(ops.monitor, stateDir));
  lines.push(...ownedFilesSteps(stateDir, ops.owned));
  lines.push(`echo ${DONE}`);
  return lines;
}

/** A stand-alone script applying the plan's operations (no transaction around it). */
export function applyScript(input: ApplyScriptInput): string {
  return [SCRIPT_HEADER, flavourPrelude(input.ops.flavour), STEP_FUNCTIONS, 'umask 077', ...opsSteps(input)].join('\n') + '\n';
}

export interface ApplyFailure {
  command: string;
  exitCode: number;
  stderr: string;
}

function untilMarker(lines: string[], from: number): number {
  const i = lines.findIndex((l, k) => k >= from && l.startsWith('@@ML-'));
  return i < 0 ? lines.length : i;
}

/** Reads the failure markers out of the script's stdout, if a step failed. */
export function parseApplyFailure(stdout: string): ApplyFailure | undefined {
  const lines = stdout.split('\n');
  const i = lines.findIndex((l) => l.startsWith(`${FAIL} `));
  if (i < 0) return undefined;
  const rc = lines[i + 1]?.startsWith(`${FAIL_RC} `) ? Number(lines[i + 1].slice(FAIL_RC.length + 1)) : NaN;
  const errStart = lines.indexOf(FAIL_STDERR, i);
  return {
    command: lines[i].slice(FAIL.length + 1),
    exitCode: rc,
    stderr: errStart >= 0 ? lines.slice(errStart + 1, untilMarker(lines, errStart + 1)).join('\n').trim() : '',
  };
}
