// `status --watch`: one SSH connection per router kept open for the whole watch, one exec of
// the status script per refresh (no new handshake), at most `forks` of them at once. A
// router whose connection breaks is shown as such, with its last reading, and connected
// again at a later refresh. A refresh that outlasts the interval is not waited for: the
// frame is drawn with what has answered, and that router is asked again once it is back.
import type { HostConfig } from '../model/config.js';
import type { DesiredState } from '../model/desired.js';
import type { Session, Transport } from '../transport/transport.js';
import { hostReason, UnreachableError } from '../errors.js';
import { parseStatus, statusScript } from '../facts/status-gather.js';
import { hostRates } from '../report/status-rates.js';
import { TREND_SPAN_MS, type WatchHost } from '../report/status-watch.js';
import { runPool } from '../util/pool.js';
import type { CheckOptions } from './drift.js';
import { connectHost } from './host.js';
import { runScript } from './remote.js';
import { hostStatus, statusRequest } from './status.js';

export interface WatchOptions extends CheckOptions {
  forks: number;
  intervalMs: number;
  /** Stop after this many frames (scripts, tests); default: until `signal` aborts. */
  frames?: number;
  signal?: AbortSignal;
  /** A router that could not be reached is tried again after at least this long (default 5 s). */
  retryMs?: number;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, Math.max(0, ms));
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** One router under watch: its session, its last readings and what the frame shows. */
class WatchedHost {
  session?: Session;
  busy = false;
  retryAt = 0;
  /** The refresh in flight, if any. */
  inflight?: Promise<void>;
  private stopped = false;
  readonly view: WatchHost;

  constructor(
    readonly cfg: HostConfig,
    readonly desired: DesiredState,
  ) {
    this.view = { host: cfg.name, state: 'connecting', trend: {} };
  }

  async refresh(transport: Transport, opts: WatchOptions): Promise<void> {
    if (this.stopped || (!this.session && Date.now() < this.retryAt)) return;
    try {
      if (!this.session) {
        const session = await connectHost(transport, this.cfg, opts);
        // The watch ended while this connection was being made: it is not kept.
        if (this.stopped) return void (await session.close().catch(() => undefined));
        this.session = session;
      }
    } catch (e) {
      this.away(e instanceof UnreachableError ? 'unreachable' : 'error', e, opts);
      return;
    }
    const req = statusRequest(this.desired);
    let status;
    try {
      const res = await runScript(this.session, this.cfg.connection, statusScript(req), opts.commandTimeoutMs);
      if (res.code !== 0) throw new Error(`reading the status failed (exit ${res.code ?? 'signal'})${res.stderr.trim() ? `: ${res.stderr.trim()}` : ''}`);
      status = hostStatus(this.desired, parseStatus(res.stdout, req));
    } catch (e) {
      if (e instanceof UnreachableError) {
        // The connection is gone (router rebooted, path lost): a new one at a later refresh.
        await this.session?.close().catch(() => undefined);
        this.session = undefined;
        this.away('unreachable', e, opts);
      } else {
        // A timeout or a reply not understood: the session itself is still good.
        this.away('error', e, opts);
      }
      return;
    }
    this.answer(status, Date.now());
  }

  private away(state: 'unreachable' | 'error', e: unknown, opts: WatchOptions): void {
    this.view.state = state;
    this.view.message = hostReason(e);
    this.retryAt = Date.now() + (opts.retryMs ?? 5000);
  }

  private answer(status: NonNullable<WatchHost['status']>, at: number): void {
    const prev = this.view.status;
    const rates = prev ? hostRates(prev, status) : undefined;
    this.view.state = 'ok';
    delete this.view.message;
    this.view.status = status;
    this.view.answeredAt = at;
    if (rates) this.view.rates = rates;
    else delete this.view.rates;
    for (const r of rates?.links ?? []) {
      if (r.inMbps === null && r.outMbps === null) continue;
      const trend = (this.view.trend[r.link] ??= []);
      trend.push({ at, value: (r.inMbps ?? 0) + (r.outMbps ?? 0) });
      while (trend.length > 0 && at - trend[0].at > TREND_SPAN_MS) trend.shift();
    }
  }

  /** Ends the watch for this router: its session is closed, a refresh in flight gets up to waitMs. */
  async close(waitMs: number): Promise<void> {
    this.stopped = true;
    if (this.inflight) await Promise.race([this.inflight, sleep(waitMs)]);
    await this.session?.close().catch(() => undefined);
    this.session = undefined;
  }
}

/**
 * Watches the routers until `opts.frames` frames were drawn or `opts.signal` aborts; `draw`
 * gets every frame's routers (in inventory order). Returns the last views.
 */
export async function watchFleet(
  targets: { cfg: HostConfig; desired: DesiredState }[],
  transport: Transport,
  opts: WatchOptions,
  draw: (hosts: WatchHost[], now: number) => void,
): Promise<WatchHost[]> {
  const hosts = targets.map((t) => new WatchedHost(t.cfg, t.desired));
  const start = Date.now();
  try {
    for (let frame = 0; opts.frames === undefined || frame < opts.frames; frame++) {
      if (opts.signal?.aborted) break;
      const idle = hosts.filter((h) => !h.busy);
      for (const h of idle) h.busy = true;
      const round = runPool(idle, opts.forks, (h) => {
        h.inflight = h.refresh(transport, opts).finally(() => {
          h.busy = false;
          h.inflight = undefined;
        });
        return h.inflight;
      });
      const tickEnd = start + (frame + 1) * opts.intervalMs;
      // The frame shows what answered within the interval; the rest stay busy meanwhile.
      await Promise.race([round, sleep(tickEnd - Date.now(), opts.signal)]);
      draw(hosts.map((h) => h.view), Date.now());
      if (opts.frames !== undefined && frame + 1 >= opts.frames) break;
      await sleep(tickEnd - Date.now(), opts.signal);
    }
  } finally {
    await Promise.all(hosts.map((h) => h.close(2000)));
  }
  return hosts.map((h) => h.view);
}
