// Live per-host progress in a terminal with listr2. Each host is a task that waits for the
// engine's events; the engine never depends on listr2.
import { Listr, type ListrTaskWrapper, type ListrDefaultRenderer, type ListrSimpleRenderer } from 'listr2';
import { plainText } from '../util/terminal-text.js';
import type { HostPlan } from '../model/plan.js';
import type { HostResult } from '../model/result.js';
import type { HostPhase } from '../model/events.js';
import { changeDiff, changeLine } from './changes.js';
import { summaryTable } from './summary.js';
import type { FleetEvents } from '../model/events.js';
import type { Output } from './view.js';

type Task = ListrTaskWrapper<unknown, ListrDefaultRenderer, ListrSimpleRenderer>;

const OK = new Set(['unchanged', 'changed', 'would_change']);

export class ListrView implements FleetEvents {
  private readonly tasks = new Map<string, { task?: Task; settle?: (r: HostResult) => void; early?: HostResult; phase?: HostPhase }>();
  private running?: Promise<unknown>;
  private readonly details: string[] = [];

  constructor(
    private readonly output: Output,
    private readonly options: { diff: boolean },
  ) {}

  start(hosts: string[]): void {
    for (const h of hosts) this.tasks.set(h, {});
    const list = new Listr(
      hosts.map((host) => ({
        title: host,
        task: (_ctx: unknown, task: Task) =>
          new Promise<void>((resolve, reject) => {
            const slot = this.tasks.get(host)!;
            slot.task = task;
            if (slot.phase) task.title = `${host}: ${slot.phase}`;
            const settle = (r: HostResult): void => {
              task.title = `${host}: ${r.outcome}${r.changes.length ? ` (${r.changes.length} changes)` : ''}`;
              if (OK.has(r.outcome)) resolve();
              else reject(new Error(`${host}: ${r.outcome}${r.message ? ` - ${plainText(r.message)}` : ''}`));
            };
            if (slot.early) settle(slot.early);
            else slot.settle = settle;
          }),
      })),
      { concurrent: true, exitOnError: false, rendererOptions: { collapseErrors: false } },
    );
    this.running = list.run().catch(() => undefined);
  }

  phase(host: string, phase: HostPhase): void {
    const slot = this.tasks.get(host);
    if (!slot) return;
    slot.phase = phase;
    if (slot.task) slot.task.title = `${host}: ${phase}`;
  }

  done(result: HostResult, plan?: HostPlan): void {
    const slot = this.tasks.get(result.host);
    if (slot?.settle) slot.settle(result);
    else if (slot) slot.early = result;
    const lines = result.changes.map((c) => `  ${changeLine(c)}${this.options.diff ? `\n${changeDiff(result.host, c).replace(/^/gm, '    ')}` : ''}`);
    for (const d of plan?.diagnostics ?? []) lines.push(`  ${d.severity}: ${d.summary}`);
    if (lines.length) this.details.push(`${result.host}:\n${lines.join('\n')}`);
  }

  async finish(results: HostResult[]): Promise<void> {
    await this.running;
    if (this.details.length) this.output.out(`\n${this.details.join('\n')}`);
    this.output.out(`\n${summaryTable(results)}`);
  }
}
