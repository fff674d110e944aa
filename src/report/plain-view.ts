// Plain lines, for pipes and logs: one line per phase change and result.
import type { HostPlan } from '../model/plan.js';
import type { HostResult } from '../model/result.js';
import type { HostPhase } from '../model/events.js';
import { changeDiff, changeLine } from './changes.js';
import { summaryTable } from './summary.js';
import type { FleetEvents } from '../model/events.js';
import type { Output } from './view.js';

export class PlainView implements FleetEvents {
  constructor(
    private readonly output: Output,
    private readonly options: { diff: boolean; verbose: boolean },
  ) {}

  start(): void {}

  phase(host: string, phase: HostPhase): void {
    if (this.options.verbose) this.output.out(`${host}: ${phase}`);
  }

  done(result: HostResult, plan?: HostPlan): void {
    this.output.out(`${result.host}: ${result.outcome}${result.message ? ` - ${result.message}` : ''}`);
    for (const d of plan?.diagnostics ?? []) if (d.severity === 'warning') this.output.out(`  warning: ${d.summary}`);
    for (const c of result.changes) {
      this.output.out(`  ${changeLine(c)}`);
      if (this.options.diff) {
        const diff = changeDiff(result.host, c);
        if (diff) this.output.out(diff.replace(/^/gm, '    '));
      }
    }
  }

  async finish(results: HostResult[]): Promise<void> {
    this.output.out('');
    this.output.out(summaryTable(results));
  }
}
