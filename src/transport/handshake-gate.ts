// Bounds the SSH handshakes in flight to one endpoint (host:port). sshd's MaxStartups
// (default 10:30:100) starts dropping connections that have not authenticated yet once ten
// are pending: a fleet reached through one jump host would otherwise lose hosts at random.
// The bound cannot know a server's own MaxStartups, so it also learns: a handshake the server
// dropped narrows that endpoint's window to what was in flight beside it, and each run of
// `limit` successes in a row widens it by one again, up to the limit.

/** How a handshake that held a slot ended; undefined: neither (refused key, timeout…). */
export type HandshakeOutcome = 'ok' | 'dropped' | undefined;

interface Endpoint {
  active: number;
  window: number;
  /** Successes in a row since the window last changed. */
  streak: number;
  /** Urgent waiters first (a confirmation of an armed router), then the others, each in order. */
  waiting: { urgent: boolean; wake: () => void }[];
}

export class HandshakeGate {
  private readonly endpoints = new Map<string, Endpoint>();

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error('handshake limit must be a whole number ≥ 1');
  }

  /** Resolves with a release function once a slot for `key` is free; `urgent` ones go before the others. */
  async acquire(key: string, urgent = false): Promise<(outcome?: HandshakeOutcome) => void> {
    const ep = this.endpoint(key);
    if (ep.active < ep.window && ep.waiting.length === 0) {
      ep.active++;
    } else {
      // pump() counts the slot as taken before it wakes us.
      await new Promise<void>((wake) => {
        const at = urgent ? ep.waiting.findIndex((w) => !w.urgent) : -1;
        if (at < 0) ep.waiting.push({ urgent, wake });
        else ep.waiting.splice(at, 0, { urgent, wake });
      });
    }
    let released = false;
    return (outcome) => {
      if (released) return;
      released = true;
      if (outcome === 'dropped') {
        // The server refused while `active - 1` others were pending: allow no more than that.
        ep.window = Math.max(1, Math.min(ep.window, ep.active - 1));
        ep.streak = 0;
      } else if (outcome === 'ok' && ep.window < this.limit && ++ep.streak >= this.limit) {
        ep.window++;
        ep.streak = 0;
      }
      ep.active--;
      this.pump(ep);
    };
  }

  inFlight(key: string): number {
    return this.endpoints.get(key)?.active ?? 0;
  }

  /** Handshakes `key` may have in flight now (the limit until the server dropped one). */
  window(key: string): number {
    return this.endpoints.get(key)?.window ?? this.limit;
  }

  private endpoint(key: string): Endpoint {
    let ep = this.endpoints.get(key);
    if (!ep) {
      ep = { active: 0, window: this.limit, streak: 0, waiting: [] };
      this.endpoints.set(key, ep);
    }
    return ep;
  }

  private pump(ep: Endpoint): void {
    while (ep.active < ep.window && ep.waiting.length > 0) {
      ep.active++;
      ep.waiting.shift()!.wake();
    }
  }
}
