// --json: nothing on stdout but one JSON document at the end.
import type { HostPlan } from '../model/plan.js';
import type { HostResult } from '../model/result.js';
import { countOutcomes } from './summary.js';
import type { FleetEvents } from '../model/events.js';
import type { Output } from './view.js';

export class JsonView implements FleetEvents {
  private readonly plans = new Map<string, HostPlan>();

  constructor(
    private readonly output: Output,
    private readonly command: string,
  ) {}

  start(): void {}
  phase(): void {}

  done(result: HostResult, plan?: HostPlan): void {
    if (plan) this.plans.set(result.host, plan);
  }

  async finish(results: HostResult[]): Promise<void> {
    const hosts = results.map((r) => ({ ...r, diagnostics: this.plans.get(r.host)?.diagnostics ?? [] }));
    this.output.out(JSON.stringify({ command: this.command, hosts, summary: countOutcomes(results) }, null, 2));
  }
}
