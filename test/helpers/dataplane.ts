// Shared steps of the data-plane lab tests: deploy a playbook to r1, count new connections
// per link around an action.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { LabInfo } from '../../src/lab/lab.js';
import { dataplaneInventoryText } from '../../src/lab/dataplane-setup.js';
import { balanceCounters } from '../../src/lab/dataplane-traffic.js';
import { cli, jsonHosts } from './cli.js';

/** Writes the playbook and an inventory for it into the lab folder, and deploys it. */
export async function deployPlaybook(lab: LabInfo, name: string, playbookText: string): Promise<void> {
  const playbook = join(lab.dir, `playbook-${name}.yaml`);
  const inventory = join(lab.dir, `inventory-${name}.yaml`);
  writeFileSync(playbook, playbookText);
  writeFileSync(inventory, dataplaneInventoryText(lab, playbook));
  const res = await cli('deploy', inventory, '--json');
  expect(res.code, res.stdout + res.stderr).toBe(0);
  expect(['changed', 'unchanged']).toContain(jsonHosts(res).r1.outcome);
}

/** New connections per link (ML_BALANCE counters) while fn ran. */
export async function perLink(lab: LabInfo, fn: () => Promise<void>): Promise<Record<string, number>> {
  const before = await balanceCounters(lab);
  await fn();
  const after = await balanceCounters(lab);
  return Object.fromEntries([...after].map(([link, n]) => [link, n - (before.get(link) ?? 0)]));
}
