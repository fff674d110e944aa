// `multilink status INVENTORY`: per host and link, health, the share in force, connections
// and traffic: one reading as a table, JSON, OpenMetrics or Prometheus text, or with
// --watch a view refreshed in place. Exit 0 when every host answered, 1 otherwise.
import type { InventoryArg } from '../load/inventory.js';
import type { Transport } from '../transport/transport.js';
import type { Output } from '../report/view.js';
import { UsageError } from '../errors.js';
import { statusFleet } from '../deploy/status.js';
import { countStatuses } from '../deploy/drift.js';
import { STATUS_OUTCOMES, type HostStatus, type StatusOutcome } from '../model/status.js';
import { watchFleet } from '../deploy/status-watch.js';
import { statusHistoryText, statusJson, statusText } from '../report/status-report.js';
import { openMetricsText, prometheusText, statusMetrics } from '../report/status-metrics.js';
import { PLAIN_WIDTH, watchFrame, type WatchHost } from '../report/status-watch.js';
import { TerminalScreen } from '../report/terminal-screen.js';
import { statusExitCode } from '../report/exit-codes.js';
import { failedHostResult, loadTargetsPerHost, type FailedHost, type Target } from './common.js';
import { checkOptions, type CheckCommandOptions } from './drift.js';

export const STATUS_FORMATS = ['table', 'json', 'openmetrics', 'prometheus'] as const;
export type StatusFormat = (typeof STATUS_FORMATS)[number];

export interface StatusCommandOptions extends CheckCommandOptions {
  format?: StatusFormat;
  history?: boolean;
  watch?: boolean;
  /** Seconds between refreshes with --watch. */
  interval?: number;
  /** With --watch: stop after this many frames (and print them plainly when not in a terminal). */
  frames?: number;
}

/** --interval: seconds, 0.5 to 3600, decimals allowed. */
export function parseInterval(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n < 0.5 || n > 3600) throw new UsageError(`--interval takes seconds from 0.5 to 3600, like 2 or 0.5, not ${JSON.stringify(value)}`);
  return n;
}

export function parseFormat(value: string): StatusFormat {
  const f = STATUS_FORMATS.find((x) => x === value);
  if (!f) throw new UsageError(`--format takes ${STATUS_FORMATS.join(', ')}, not ${JSON.stringify(value)}`);
  return f;
}

function formatOf(opts: StatusCommandOptions): StatusFormat {
  if (opts.json && opts.format && opts.format !== 'json') throw new UsageError(`--json and --format ${opts.format} ask for two outputs: choose one`);
  return opts.json ? 'json' : (opts.format ?? 'table');
}

export async function statusCommand(inventory: InventoryArg, opts: StatusCommandOptions, transport: Transport, output: Output): Promise<number> {
  const format = formatOf(opts);
  if (opts.watch) {
    if (format !== 'table') throw new UsageError(`--watch draws a view for people; for machines use --format ${format} without --watch (one reading per run)`);
    if (opts.history) throw new UsageError('--history goes with the table (status without --watch)');
  } else {
    if (opts.interval !== undefined) throw new UsageError('--interval goes with --watch');
    if (opts.frames !== undefined) throw new UsageError('--frames goes with --watch');
    if (opts.history && format !== 'table') throw new UsageError(`--history goes with the table; --format ${format} ${format === 'json' ? 'always carries the history' : 'has no history'}`);
  }
  const interactive = Boolean(process.stdout.isTTY);
  if (opts.watch && !interactive && opts.frames === undefined) {
    throw new UsageError('--watch needs a terminal and stdout is not one: add --frames N to print N frames, or use --json or --format openmetrics for one reading');
  }
  // A host whose own data is bad fails alone: 'error' in one reading; in the live view shown in
  // error and never tried, while the others are watched.
  const hosts = loadTargetsPerHost(inventory, opts.limit, output, opts.shard, { vault: opts.vault });
  if (opts.watch) return watchCommand(hosts, opts, transport, output, interactive);
  const read = await statusFleet(hosts.flatMap((h) => ('target' in h ? [h.target] : [])), transport, checkOptions(opts));
  const byName = new Map(read.hosts.map((h) => [h.host, h]));
  const all: HostStatus[] = hosts.map((h) => {
    if ('target' in h) return byName.get(h.target.cfg.name) as HostStatus;
    const failed = failedHostResult(h.failed);
    return { host: failed.host, status: 'error', ...(failed.message ? { message: failed.message } : {}), links: [], notes: [] };
  });
  const report = { ...read, hosts: all, summary: countStatuses<StatusOutcome>(all.map((h) => h.status), STATUS_OUTCOMES) };
  if (format === 'json') output.out(statusJson(opts.shard ? { ...report, shard: opts.shard } : report));
  else if (format === 'openmetrics') output.out(openMetricsText(statusMetrics(report)).replace(/\n$/, ''));
  else if (format === 'prometheus') output.out(prometheusText(statusMetrics(report)).replace(/\n$/, ''));
  else output.out(opts.history ? `${statusText(report)}\n\n${statusHistoryText(report)}` : statusText(report));
  return statusExitCode(report.hosts.map((h) => h.status));
}

async function watchCommand(loaded: ({ target: Target } | { failed: FailedHost })[], opts: StatusCommandOptions, transport: Transport, output: Output, interactive: boolean): Promise<number> {
  const targets = loaded.flatMap((h) => ('target' in h ? [h.target] : []));
  const failedViews = new Map(loaded.flatMap((h): [string, WatchHost][] => ('failed' in h ? [[h.failed.name, { host: h.failed.name, state: 'error', message: failedHostResult(h.failed).message, trend: {}, final: true }]] : [])));
  const order = loaded.map((h) => ('target' in h ? h.target.cfg.name : h.failed.name));
  // The watched routers and the failed hosts, in the inventory's order.
  const withFailed = (watched: WatchHost[]): WatchHost[] => {
    const byName = new Map(watched.map((w) => [w.host, w]));
    return order.flatMap((n) => byName.get(n) ?? failedViews.get(n) ?? []);
  };
  if (targets.length === 0) {
    output.out(watchFrame(withFailed([]), { now: Date.now(), intervalS: opts.interval ?? 2, width: PLAIN_WIDTH, interactive: false }).join('\n'));
    return 1;
  }
  const intervalS = opts.interval ?? 2;
  const stop = new AbortController();
  const screen = interactive ? new TerminalScreen(process.stdout, process.stdin.isTTY ? process.stdin : undefined) : undefined;
  const quit = (): void => stop.abort();
  screen?.listen(quit);
  process.once('SIGINT', quit);
  process.once('SIGTERM', quit);
  let last: WatchHost[] = [];
  let frames = 0;
  const redraw = (): void => {
    if (screen && last.length) screen.draw(watchFrame(last, { now: Date.now(), intervalS, width: screen.columns, interactive: true }));
  };
  if (screen) process.stdout.on('resize', redraw);
  try {
    last = withFailed(await watchFleet(targets, transport, { ...checkOptions(opts), intervalMs: intervalS * 1000, ...(opts.frames ? { frames: opts.frames } : {}), signal: stop.signal }, (hosts, now) => {
      last = withFailed(hosts);
      if (screen) redraw();
      else output.out(`${frames > 0 ? '\n' : ''}${watchFrame(last, { now, intervalS, width: PLAIN_WIDTH, interactive: false }).join('\n')}`);
      frames++;
    }));
  } finally {
    process.off('SIGINT', quit);
    process.off('SIGTERM', quit);
    if (screen) process.stdout.off('resize', redraw);
    screen?.close();
  }
  // Quitting a live view is not a failure; a counted run says whether every router answered.
  if (opts.frames === undefined) return 0;
  return statusExitCode(last.map((h) => (h.state === 'ok' ? 'ok' : h.state === 'error' ? 'error' : 'unreachable')));
}
