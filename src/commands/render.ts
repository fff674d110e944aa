// `multilink render INVENTORY --host NAME`: what would be applied, connecting nowhere.
import { InputError } from '../errors.js';
import type { VaultKeyring } from '../load/vault.js';
import { inventoryName, type InventoryArg } from '../load/inventory.js';
import type { Output } from '../report/view.js';
import { renderHost } from './render-host.js';
import { loadTargets } from './common.js';

/** Connecting nowhere, it decrypts no vaulted connection var (ansible_password…): only what it renders. */
export function renderCommand(inventory: InventoryArg, host: string, output: Output, vault?: VaultKeyring): number {
  const target = loadTargets(inventory, host, output, undefined, { vault, connect: false }).find((t) => t.cfg.name === host);
  if (!target) throw new InputError([{ severity: 'error', summary: `host ${host} is in no play of ${inventoryName(inventory)}` }]);
  output.out(renderHost(target.desired));
  return 0;
}
