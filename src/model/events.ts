// What the deploy engine tells whoever watches it (a view): per-host phases and results.
// The engine emits; views (src/report) listen; neither imports the other.
import type { HostPlan } from './plan.js';
import type { HostResult } from './result.js';

export type HostPhase = 'connecting' | 'gathering' | 'planning' | 'applying' | 'confirming' | 'restoring' | 'waiting for the dead-man timer';

export interface HostEvents {
  phase(host: string, phase: HostPhase): void;
}

export interface FleetEvents extends HostEvents {
  start(hosts: string[]): void;
  done(result: HostResult, plan?: HostPlan): void;
  /** Resolves once everything is printed. */
  finish(results: HostResult[]): Promise<void>;
}
