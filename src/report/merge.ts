// `multilink report merge`: the --json documents of the shards of one fleet command merged
// into one document of the same shape, with the exit code that command would have given
// for the whole fleet. Refuses documents of different commands, overlapping hosts, and an
// incomplete or repeated set of --shard documents: a missing shard must never read as
// "all well". Pure: the command reads the files.
import { errorMessage, UsageError } from '../errors.js';
import { HOST_OUTCOMES, type HostOutcome } from '../model/result.js';
import { DRIFT_STATUSES, type DriftStatus } from '../model/drift.js';
import { STATUS_OUTCOMES, type StatusOutcome } from '../model/status.js';
import { driftExitCode } from '../plan/drift.js';
import { countStatuses } from '../deploy/drift.js';
import { formatShard, MAX_SHARDS, type Shard } from '../util/shard.js';
import { HOST_RUN_COMMANDS, hostRunExitCode, statusExitCode, type HostRunCommand } from './exit-codes.js';
import { countOutcomes, summaryLine } from './summary.js';

export type FleetCommand = HostRunCommand | 'drift' | 'status';
const FLEET_COMMANDS: readonly FleetCommand[] = [...HOST_RUN_COMMANDS, 'drift', 'status'];

export interface ReportInput {
  /** For messages. */
  file: string;
  text: string;
}

/** A host's entry, kept as it was (only its name and outcome/status are read). */
export type HostEntry = { host: string } & Record<string, unknown>;

export interface FleetDocument {
  command: FleetCommand;
  hosts: HostEntry[];
  /** Hosts per outcome or status, as the command counts them. */
  summary: Partial<Record<string, number>>;
}

export interface MergedReport {
  document: FleetDocument;
  exitCode: 0 | 1 | 2;
  /** How many --shard documents were merged; undefined when they had no shard. */
  shards?: number;
}

interface ParsedReport {
  file: string;
  command: FleetCommand;
  hosts: HostEntry[];
  /** Each host's outcome (deploy, weights, rollback) or status (drift, status). */
  states: string[];
  shard?: Shard;
}

/**
 * The field of a host entry that says how it ended, and its values: `outcome` for every
 * command; drift and status documents of earlier releases have only `status`.
 */
function stateField(command: FleetCommand, entry: Record<string, unknown>): { field: 'outcome' | 'status'; values: readonly string[] } {
  const field = entry.outcome === undefined && (command === 'drift' || command === 'status') ? 'status' : 'outcome';
  if (command === 'drift') return { field, values: DRIFT_STATUSES };
  if (command === 'status') return { field, values: STATUS_OUTCOMES };
  return { field, values: HOST_OUTCOMES };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const wholeNumber = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) ? v : undefined);

function parseReport(input: ReportInput, problems: string[]): ParsedReport | undefined {
  const at = input.file;
  let doc: unknown;
  try {
    doc = JSON.parse(input.text);
  } catch (err) {
    problems.push(`${at}: not a JSON document (${errorMessage(err)})`);
    return undefined;
  }
  if (isObject(doc) && typeof doc.error === 'string') {
    problems.push(`${at}: the command failed before any host result (${doc.error}): its hosts are unreported`);
    return undefined;
  }
  if (!isObject(doc) || typeof doc.command !== 'string' || !Array.isArray(doc.hosts)) {
    problems.push(`${at}: not the --json document of a multilink fleet command (expected "command" and "hosts")`);
    return undefined;
  }
  const command = doc.command as FleetCommand;
  if (!FLEET_COMMANDS.includes(command)) {
    problems.push(`${at}: ${JSON.stringify(doc.command)} documents cannot be merged (only ${FLEET_COMMANDS.join(', ')})`);
    return undefined;
  }
  const hosts: HostEntry[] = [];
  const states: string[] = [];
  doc.hosts.forEach((h: unknown, i) => {
    if (!isObject(h) || typeof h.host !== 'string' || h.host === '') {
      problems.push(`${at}: hosts[${i}] has no host name`);
      return;
    }
    const { field, values } = stateField(command, h);
    const state = h[field];
    if (typeof state !== 'string' || !values.includes(state)) {
      problems.push(`${at}: host ${h.host} has ${field} ${JSON.stringify(state)}, not one of ${values.join(', ')}`);
      return;
    }
    hosts.push(h as HostEntry);
    states.push(state);
  });
  let shard: Shard | undefined;
  if (doc.shard !== undefined) {
    const index = isObject(doc.shard) ? wholeNumber(doc.shard.index) : undefined;
    const count = isObject(doc.shard) ? wholeNumber(doc.shard.count) : undefined;
    if (index !== undefined && count !== undefined && count <= MAX_SHARDS && index >= 1 && index <= count) shard = { index, count };
    else problems.push(`${at}: "shard" is not {"index": K, "count": N} with 1 ≤ K ≤ N ≤ ${MAX_SHARDS}`);
  }
  return { file: at, command, hosts, states, shard };
}

/** Every shard K/N exactly once, all of the same N; or no shard at all. */
function checkShards(reports: ParsedReport[], problems: string[]): void {
  const sharded = reports.filter((r) => r.shard);
  if (sharded.length === 0) return;
  if (sharded.length < reports.length) {
    const plain = reports.filter((r) => !r.shard).map((r) => r.file);
    problems.push(`${plain.join(', ')} ${plain.length === 1 ? 'was' : 'were'} made without --shard, ${sharded.map((r) => r.file).join(', ')} with it: merge the shards of one run`);
    return;
  }
  const counts = new Set(sharded.map((r) => r.shard!.count));
  if (counts.size > 1) {
    problems.push(`the shards are of different N: ${sharded.map((r) => `${r.file} is ${formatShard(r.shard!)}`).join(', ')}`);
    return;
  }
  const count = sharded[0].shard!.count;
  const byIndex = new Map<number, string[]>();
  for (const r of sharded) byIndex.set(r.shard!.index, [...(byIndex.get(r.shard!.index) ?? []), r.file]);
  for (const [index, files] of byIndex) {
    if (files.length > 1) problems.push(`${files.join(' and ')} are ${files.length === 2 ? 'both' : 'all'} shard ${index}/${count}`);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((k) => !byIndex.has(k));
  if (missing.length > 0) {
    problems.push(`shard${missing.length === 1 ? '' : 's'} ${missing.map((k) => `${k}/${count}`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing: its hosts would go unreported`);
  }
}

function checkOverlap(reports: ParsedReport[], problems: string[]): void {
  const seen = new Map<string, string>();
  const overlaps: string[] = [];
  for (const r of reports) {
    for (const h of r.hosts) {
      const first = seen.get(h.host);
      if (first !== undefined) overlaps.push(first === r.file ? `host ${h.host} is in ${r.file} twice` : `host ${h.host} is in both ${first} and ${r.file}`);
      else seen.set(h.host, r.file);
    }
  }
  const shown = 10;
  problems.push(...overlaps.slice(0, shown));
  if (overlaps.length > shown) problems.push(`… and ${overlaps.length - shown} more hosts in more than one document`);
}

const byName = new Intl.Collator('en', { numeric: true });

export function mergeReports(inputs: readonly ReportInput[]): MergedReport {
  if (inputs.length === 0) throw new UsageError('report merge needs at least one --json document');
  const problems: string[] = [];
  const repeated = [...new Set(inputs.map((i) => i.file).filter((f, i, all) => all.indexOf(f) !== i))];
  if (repeated.length > 0) throw new UsageError(`cannot merge these reports: ${repeated.join(', ')} given more than once`);
  const reports = inputs.map((i) => parseReport(i, problems)).filter((r): r is ParsedReport => r !== undefined);
  if (problems.length === 0) {
    const commands = new Set(reports.map((r) => r.command));
    if (commands.size > 1) {
      problems.push(`cannot merge documents of different commands: ${reports.map((r) => `${r.file} is ${r.command}`).join(', ')}`);
    } else {
      checkShards(reports, problems);
      checkOverlap(reports, problems);
    }
  }
  if (problems.length > 0) throw new UsageError(`cannot merge these reports:\n  ${problems.join('\n  ')}`);

  const command = reports[0].command;
  const rows = reports
    .flatMap((r) => r.hosts.map((host, i) => ({ host, state: r.states[i] })))
    .sort((a, b) => byName.compare(a.host.host, b.host.host));
  const hosts = rows.map((r) => r.host);
  const shards = reports[0].shard ? reports.length : undefined;
  if (command === 'drift') {
    const statuses = rows.map((r) => r.state as DriftStatus);
    return { document: { command, hosts, summary: countStatuses(statuses, DRIFT_STATUSES) }, exitCode: driftExitCode(statuses), shards };
  }
  if (command === 'status') {
    const statuses = rows.map((r) => r.state as StatusOutcome);
    return { document: { command, hosts, summary: countStatuses(statuses, STATUS_OUTCOMES) }, exitCode: statusExitCode(statuses), shards };
  }
  const outcomes = rows.map((r) => ({ outcome: r.state as HostOutcome }));
  return {
    document: { command, hosts, summary: countOutcomes(outcomes) },
    exitCode: hostRunExitCode(command, outcomes.map((o) => o.outcome)),
    shards,
  };
}

/** One line for stderr: what was merged and how the hosts ended. */
export function mergeSummaryLine(merged: MergedReport, documents: number): string {
  const { command, hosts, summary } = merged.document;
  const from = merged.shards !== undefined ? `${merged.shards} shards` : `${documents} document${documents === 1 ? '' : 's'}`;
  return `merged ${from} of ${command}: ${summaryLine(hosts.length, summary)}; exit ${merged.exitCode}`;
}
