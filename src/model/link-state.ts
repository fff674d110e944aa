// Link state as the link monitor reports it (its state file, gathered with the other facts):
// a link the monitor took out is shown as link state, not drift.
export type LinkHealth = 'up' | 'down';

export interface LinkState {
  link: string;
  state: LinkHealth;
  /** ISO time of the last change, when the monitor recorded it. */
  since?: string;
  /** Why the monitor decided so, e.g. "3 probe rounds failed". */
  reason?: string;
}
