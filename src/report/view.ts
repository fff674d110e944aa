// Views over deploy progress: chosen per output (listr2 in a terminal, plain lines in a
// pipe, one JSON document with --json). The engine only emits events.
import type { HostPlan } from '../model/plan.js';
import type { HostResult } from '../model/result.js';
import type { HostPhase } from '../deploy/host.js';

export interface RunView {
  start(hosts: string[]): void;
  phase(host: string, phase: HostPhase): void;
  done(result: HostResult, plan?: HostPlan): void;
  /** Resolves once everything is printed. */
  finish(results: HostResult[]): Promise<void>;
}

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export const processOutput: Output = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};
