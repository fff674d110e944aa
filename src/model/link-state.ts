// Link state as the link monitor on the router last decided it (its state file, gathered
// with the other facts): reported by drift, status and deploy as state, never as drift.
export type LinkHealth = 'up' | 'down';

export interface LinkState {
  link: string;
  state: LinkHealth;
  /**
   * ISO time of the last change, when the monitor recorded it: counted back from the router's
   * uptime when it recorded that too, so a change recorded before NTP set the clock is right.
   */
  since?: string;
  /** The last change, in seconds after the router's boot, where the router's clock is not set yet (no since then). */
  sinceBootS?: number;
  /** Why the monitor decided so, e.g. "3 probe rounds failed". */
  reason?: string;
  /** gateway: auto: the gateway the monitor learned (`via 192.0.2.1`, `dev`), or `-`: none. */
  gateway?: string;
  /** A link with a gateway6: its IPv6 health, apart from its IPv4 health. */
  state6?: LinkHealth;
  since6?: string;
  sinceBootS6?: number;
  /** gateway6: auto: the IPv6 gateway learned (`via fe80::1`, `dev`), or `-`: none. */
  gateway6?: string;
}

/** The monitor's probes of one link: counters since it started, and smoothed time and loss. */
export interface ProbeStats {
  sent: number;
  lost: number;
  /** Round-trip time, smoothed over rounds; null before any answer. */
  rttMs: number | null;
  /** Share of probes lost, smoothed over rounds (0 to 1). */
  loss: number;
}

/** One entry of the monitor's history ring: a link's health changed. */
export interface LinkChange {
  /** ISO time. */
  at: string;
  link: string;
  from: LinkHealth;
  to: LinkHealth;
  why: string;
}
