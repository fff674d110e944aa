// For the default lab in a repository root: does the shipped inventory/lab.yaml (relative
// paths) describe the lab `lab up` built? Read through the tool's own inventory loader, so
// group vars, host_vars/ and group_vars/ count as they do for a deploy.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Diagnostics, formatDiagnostic } from '../diagnostics.js';
import { loadInventory } from '../load/inventory.js';
import type { LabInfo } from './manifest.js';
import { DEFAULT_DIR, DEFAULT_PREFIX } from './topology.js';

/** What differs between the shipped inventory and this lab; empty when it matches or does not apply. */
export function checkShippedInventory(info: LabInfo, file = join(dirname(info.dir), 'inventory', 'lab.yaml')): string[] {
  if (info.prefix !== DEFAULT_PREFIX || !info.dir.endsWith(`/${DEFAULT_DIR}`) || !existsSync(file)) return [];
  const diags = new Diagnostics();
  const { inventory } = loadInventory(file, diags);
  const errors = diags.items.filter((d) => d.severity === 'error');
  if (errors.length > 0) return [`${file} cannot be read: ${formatDiagnostic(errors[0])}`];
  const group = inventory.groups.get('lab');
  if (!group || group.hosts.length === 0) return [`${file} has no group lab with hosts`];
  const base = dirname(file);
  const problems: string[] = [];
  const first = inventory.hosts.get(group.hosts[0]);
  const keyFile = first?.vars.ansible_ssh_private_key_file;
  if (typeof keyFile !== 'string' || resolve(base, keyFile) !== info.privateKey) {
    problems.push(`${file}: ansible_ssh_private_key_file should resolve to ${info.privateKey}`);
  }
  const knownHosts = first?.vars.multilink_known_hosts;
  if (typeof knownHosts !== 'string' || resolve(base, knownHosts) !== info.knownHosts) {
    problems.push(`${file}: multilink_known_hosts should resolve to ${info.knownHosts}`);
  }
  for (const name of group.hosts) {
    const vars = inventory.hosts.get(name)?.vars ?? {};
    const router = info.routers.find((r) => r.name === name);
    if (!router) problems.push(`${file}: host ${name} is not in this lab of ${info.routers.length} router(s)`);
    else if (vars.ansible_host !== router.mgmtAddress) {
      problems.push(`${file}: host ${name} has ansible_host ${String(vars.ansible_host)}, the lab gave it ${router.mgmtAddress}`);
    } else if (!router.openwrtStock && vars.multilink_iptables !== router.iptables) {
      problems.push(`${file}: host ${name} should have multilink_iptables ${router.iptables}`);
    } else if ((vars.multilink_firewall ?? 'auto') !== (router.firewall ?? 'iptables')) {
      problems.push(`${file}: host ${name} should have multilink_firewall ${router.firewall ?? 'iptables'}`);
    }
  }
  return problems;
}
