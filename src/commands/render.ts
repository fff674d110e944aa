// `multilink render INVENTORY --host NAME`: what would be applied, connecting nowhere.
import type { Diagnostic } from '../diagnostics.js';
import { InputError } from '../errors.js';
import type { VaultKeyring } from '../load/vault.js';
import { inventoryName, type InventoryArg } from '../load/inventory.js';
import type { Output } from '../report/view.js';
import { renderHost } from './render-host.js';
import { loadTargets, type Target } from './common.js';

/** Connecting nowhere, it decrypts no vaulted connection var (ansible_password…): only what it renders. */
export function renderCommand(inventory: InventoryArg, host: string, output: Output, vault?: VaultKeyring): number {
  let targets: Target[];
  try {
    targets = loadTargets(inventory, host, output, undefined, { vault, connect: false });
  } catch (e) {
    if (e instanceof InputError) throw new InputError(e.diagnostics.map((d) => asHostOption(d, host, inventoryName(inventory))));
    throw e;
  }
  const target = targets.find((t) => t.cfg.name === host);
  if (!target) throw new InputError([{ severity: 'error', summary: `host ${host} is in no play of ${inventoryName(inventory)}` }]);
  output.out(renderHost(target.desired));
  return 0;
}

/** The host is selected like a --limit, but the user gave --host: say so in its words. */
function asHostOption(d: Diagnostic, host: string, inventory: string): Diagnostic {
  if (d.pos !== undefined) return d;
  if (/^--limit\b.*(names no host|selects no host)/.test(d.summary)) return { ...d, summary: `--host ${host}: no host of that name in ${inventory}` };
  if (d.summary.startsWith('--limit')) return { ...d, summary: `--host ${host}: ${d.summary.replace(/^--limit:? ?/, '')}` };
  if (d.summary.startsWith('no host to act on')) return { ...d, summary: `host ${host} is in no play of ${inventory}` };
  return d;
}
