// `multilink lab up|down`: the built-in lab of simulated routers.
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import type { Output } from '../report/view.js';
import { DEFAULT_DIR, DEFAULT_SUBNET, formatLabInfo, labDown, labUp, readLab } from '../lab/lab.js';

export interface LabCommandOptions {
  routers: number;
  dir: string;
}

export async function labCommand(action: string, opts: LabCommandOptions, output: Output): Promise<number> {
  const log = (line: string): void => output.err(line);
  if (action === 'down') {
    if (!readLab(opts.dir)) {
      output.out(`no lab in ${resolve(opts.dir)}: nothing to remove`);
      return 0;
    }
    await labDown({ dir: opts.dir, log });
    output.out(`lab in ${resolve(opts.dir)} removed`);
    return 0;
  }
  if (action !== 'up') throw new UsageError(`lab takes "up" or "down", not ${JSON.stringify(action)}`);
  const existing = readLab(opts.dir);
  if (existing?.status === 'up' && existing.routers.length === opts.routers) {
    output.out(`lab already up (run \`multilink lab down\` to remove it)\n${formatLabInfo(existing)}`);
    return 0;
  }
  if (existing) throw new UsageError(`a lab of ${existing.routers.length} routers (${existing.status}) is in ${existing.dir}: run \`multilink lab down --dir ${opts.dir}\` first`);
  // The default folder is the default lab, whose addresses inventory/lab.yaml names.
  const isDefault = opts.dir === DEFAULT_DIR;
  const info = await labUp({ routers: opts.routers, dir: opts.dir, log, ...(isDefault ? { subnet: DEFAULT_SUBNET } : {}) });
  output.out(formatLabInfo(info));
  return 0;
}
