// Bounds the SSH handshakes in flight to one endpoint (host:port). sshd's MaxStartups
// (default 10:30:100) starts dropping connections that have not authenticated yet once ten
// are pending: a fleet reached through one jump host would otherwise lose hosts at random.
export class HandshakeGate {
  private readonly active = new Map<string, number>();
  private readonly waiting = new Map<string, (() => void)[]>();

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error('handshake limit must be a whole number ≥ 1');
  }

  /** Resolves with a release function once a slot for `key` is free. */
  async acquire(key: string): Promise<() => void> {
    const n = this.active.get(key) ?? 0;
    if (n < this.limit) {
      this.active.set(key, n + 1);
    } else {
      await new Promise<void>((resolve) => {
        const queue = this.waiting.get(key) ?? [];
        queue.push(resolve);
        this.waiting.set(key, queue);
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.get(key)?.shift();
      // A waiter takes the slot over; otherwise it is freed.
      if (next) next();
      else this.active.set(key, (this.active.get(key) ?? 1) - 1);
    };
  }

  inFlight(key: string): number {
    return this.active.get(key) ?? 0;
  }
}
