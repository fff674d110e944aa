// --json: nothing on stdout but one JSON document at the end.
import type { HostPlan } from '../model/plan.js';
import type { HostResult } from '../model/result.js';
import { countOutcomes } from './summary.js';
import type { FleetEvents } from '../model/events.js';
import type { Output } from './view.js';
import type { Shard } from '../util/shard.js';

export class JsonView implements FleetEvents {
  private readonly plans = new Map<string, HostPlan>();

  constructor(
    private readonly output: Output,
    private readonly command: string,
    /** With --shard: which share of the targeted hosts this is. */
    private readonly shard?: Shard,
  ) {}

  start(): void {}
  phase(): void {}

  done(result: HostResult, plan?: HostPlan): void {
    if (plan) this.plans.set(result.host, plan);
  }

  async finish(results: HostResult[]): Promise<void> {
    const hosts = results.map((r) => ({ ...r, diagnostics: this.plans.get(r.host)?.diagnostics ?? [] }));
    const shard = this.shard ? { shard: this.shard } : {};
    this.output.out(JSON.stringify({ command: this.command, hosts, summary: countOutcomes(results), ...shard }, null, 2));
  }
}
