// The fleet's arming schedule. An armed router restores itself unless its confirmation comes
// within the dead-man timer, so confirmations must not starve behind new work when the
// controller (or the machine it shares with the routers) is slow: a host starts, and a plan
// is sent, only while no armed router's confirmation runs late and the routers armed now can
// be confirmed in time at the rate confirmations have been settling.

export interface ArmGateOptions {
  /** The dead-man timer, ms. */
  confirmTimeoutMs: number;
  /** A confirmation is late once its router has been armed this long; default a third of the timer. */
  lateAfterMs?: number;
  /** The longest beforeArm waits (the router holds its lock meanwhile); default a quarter of the timer. */
  maxArmWaitMs?: number;
  now?: () => number;
}

export class ArmGate {
  private readonly armedAt = new Map<string, number>();
  private readonly settledAt: number[] = [];
  private waiters: (() => void)[] = [];
  private readonly lateAfterMs: number;
  private readonly maxArmWaitMs: number;
  private readonly now: () => number;
  /** Times a start or an arm had to wait, for tests and reports. */
  held = 0;

  constructor(private readonly o: ArmGateOptions) {
    this.lateAfterMs = o.lateAfterMs ?? Math.floor(o.confirmTimeoutMs / 3);
    this.maxArmWaitMs = o.maxArmWaitMs ?? Math.floor(o.confirmTimeoutMs / 4);
    this.now = o.now ?? Date.now;
  }

  /** Routers armed and not yet settled. */
  get armedCount(): number {
    return this.armedAt.size;
  }

  /** Why a new arm must wait now ('' when it may go). */
  reason(): string {
    const t = this.now();
    for (const [host, at] of this.armedAt) {
      if (t - at >= this.lateAfterMs) return `the confirmation of ${host} is late (armed ${Math.round((t - at) / 1000)} s ago)`;
    }
    const capacity = this.capacity();
    if (capacity !== undefined && this.armedAt.size >= capacity) return `${this.armedAt.size} routers armed: as many as can be confirmed in time at the current rate`;
    return '';
  }

  /**
   * Routers that can be armed at once: what settles within half the timer at the rate of the
   * last settlements (undefined until a few have settled: then only lateness holds arming).
   */
  capacity(): number | undefined {
    const recent = this.settledAt.slice(-20);
    if (recent.length < 4) return undefined;
    const span = Math.max(1, recent[recent.length - 1] - recent[0]);
    const perMs = (recent.length - 1) / span;
    return Math.max(2, Math.floor((perMs * this.o.confirmTimeoutMs) / 2));
  }

  /** Before a host starts (nothing held yet): waits for as long as arming is held back. */
  async beforeStart(): Promise<void> {
    if (this.reason() === '') return;
    this.held++;
    while (this.reason() !== '') await this.change();
  }

  /** Before a plan is sent (the router waits for it, holding its lock): waits, at most maxArmWaitMs (and `atMostMs`). */
  async beforeArm(atMostMs = Infinity): Promise<void> {
    if (this.reason() === '') return;
    this.held++;
    const until = this.now() + Math.min(this.maxArmWaitMs, atMostMs);
    while (this.reason() !== '' && this.now() < until) await this.change(until - this.now());
  }

  armed(host: string, at = this.now()): void {
    this.armedAt.set(host, at);
  }

  /** The host's transaction has ended (confirmed, restored, or given up): idempotent. */
  settled(host: string): void {
    if (!this.armedAt.delete(host)) return;
    this.settledAt.push(this.now());
    if (this.settledAt.length > 100) this.settledAt.splice(0, this.settledAt.length - 100);
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
