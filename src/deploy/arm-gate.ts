// The fleet's arming schedule. An armed router restores itself unless its confirmation comes
// within its dead-man timer, so the engine never arms more routers than it can confirm in
// time, whatever the speed of the controller and of the routers it shares CPU with:
// - a window bounds the routers armed and not yet settled. It starts small, grows by one for
//   each confirmation that came quickly (doubling per round, as TCP's slow start), and halves
//   when one came late: the fleet finds what it can confirm in time;
// - while an armed router's confirmation runs late, no plan is sent and no new host starts:
//   confirmations and disarms go first.
// Hosts with nothing to do never arm: the window does not slow a no-op run.

export interface ArmGateOptions {
  /** The dead-man timer, ms. */
  confirmTimeoutMs: number;
  /** The widest window (the fleet's forks). */
  maxWindow: number;
  /** The first window; default half the widest, at least 8. */
  initialWindow?: number;
  /** A confirmation is late once its router has been armed this long; default a third of the timer. */
  lateAfterMs?: number;
  now?: () => number;
}

export class ArmGate {
  private readonly armedAt = new Map<string, number>();
  private waiters: (() => void)[] = [];
  private readonly lateAfterMs: number;
  private readonly now: () => number;
  /** Routers that may be armed at once now. */
  window: number;
  /** Times a start or an arm had to wait. */
  held = 0;
  /** The highest number of routers armed at once. */
  peak = 0;

  constructor(private readonly o: ArmGateOptions) {
    this.lateAfterMs = o.lateAfterMs ?? Math.floor(o.confirmTimeoutMs / 3);
    this.now = o.now ?? Date.now;
    this.window = Math.max(1, Math.min(o.maxWindow, o.initialWindow ?? Math.max(8, Math.ceil(o.maxWindow / 2))));
  }

  /** Routers armed (or being armed) and not yet settled. */
  get armedCount(): number {
    return this.armedAt.size;
  }

  /** An armed router whose confirmation is late, described ('' when none). */
  late(): string {
    const t = this.now();
    for (const [host, at] of this.armedAt) {
      if (t - at >= this.lateAfterMs) return `the confirmation of ${host} is late (armed ${Math.round((t - at) / 1000)} s ago)`;
    }
    return '';
  }

  /** Before a host starts (it holds nothing yet): waits while a confirmation runs late. */
  async beforeStart(): Promise<void> {
    if (this.late() === '') return;
    this.held++;
    while (this.late() !== '') await this.change();
  }

  /**
   * Before a plan is sent (the router waits for it, holding its lock): waits for room in the
   * window and for no late confirmation, at most `atMostMs`. True: the host is counted armed
   * from now (call settled() when it has ended); false: it was not, and must not arm now.
   */
  async beforeArm(host: string, atMostMs: number): Promise<boolean> {
    const until = this.now() + atMostMs;
    const blocked = (): boolean => this.late() !== '' || this.armedAt.size >= this.window;
    if (blocked()) {
      this.held++;
      while (blocked() && this.now() < until) await this.change(until - this.now());
      if (blocked()) return false;
    }
    this.armedAt.set(host, this.now());
    this.peak = Math.max(this.peak, this.armedAt.size);
    return true;
  }

  /** The host's transaction has ended (confirmed, restored, or given up): idempotent. */
  settled(host: string): void {
    const at = this.armedAt.get(host);
    if (at === undefined) return;
    this.armedAt.delete(host);
    const took = this.now() - at;
    if (took >= this.lateAfterMs) this.window = Math.max(1, Math.floor(this.window / 2));
    else if (took < this.lateAfterMs / 2) this.window = Math.min(this.o.maxWindow, this.window + 1);
    this.wake();
  }

  /** Resolves at the next settlement, or after `ms` (at most a second: lateness comes with time). */
  private change(ms = 1000): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, Math.max(10, Math.min(ms, 1000)));
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
