// `multilink inventory INVENTORY [--list | --host NAME | --graph [GROUP]] [--limit PATTERN]`:
// the inventory as understood, in ansible-inventory's shapes, connecting nowhere.
import { Diagnostics, formatDiagnostic } from '../diagnostics.js';
import { InputError, UsageError } from '../errors.js';
import { ansibleJson, hostVarsOf, inventoryGraph, inventoryListing } from '../load/inventory-export.js';
import { inventorySources, loadInventory, type InventoryArg } from '../load/inventory.js';
import { matchPattern } from '../load/patterns.js';
import { limitHosts } from '../load/resolve.js';
import type { VaultKeyring } from '../load/vault.js';
import type { Output } from '../report/view.js';

export interface InventoryCommandOptions {
  list?: boolean;
  host?: string;
  /** true for the whole tree, or the group to start at. */
  graph?: boolean | string;
  limit?: string;
  /** Whole encrypted files need it; inline vaulted values are printed encrypted, as ansible-inventory does. */
  vault?: VaultKeyring;
}

export function inventoryCommand(file: InventoryArg, opts: InventoryCommandOptions, output: Output): number {
  const actions = [opts.list, opts.host !== undefined, opts.graph !== undefined && opts.graph !== false].filter(Boolean).length;
  if (actions > 1) throw new UsageError('inventory takes one of --list, --host and --graph');
  const diags = new Diagnostics();
  const extraVars = typeof file === 'string' ? [] : (file.extraVars ?? []);
  const { inventory } = loadInventory(inventorySources(file), diags, { vault: opts.vault, extraVars });
  const hosts = opts.limit === undefined ? undefined : limitHosts(opts.limit, inventory, diags);
  if (diags.hasErrors) throw new InputError(diags.items);
  for (const d of diags.items) output.err(formatDiagnostic(d));
  if (opts.host !== undefined) {
    // As ansible-inventory: a pattern that must name exactly one host; a --limit is refused, not ignored.
    if (opts.limit !== undefined) throw new UsageError('--limit selects hosts for --list and --graph; --host names its one host itself');
    const { hosts: found } = matchPattern(opts.host, inventory);
    if (found.length !== 1) throw new UsageError(`--host takes one host of the inventory; ${JSON.stringify(opts.host)} names ${found.length}`);
    output.out(ansibleJson(hostVarsOf(inventory, found[0])));
    return 0;
  }
  if (opts.graph !== undefined && opts.graph !== false) {
    const group = opts.graph === true ? 'all' : opts.graph;
    if (!inventory.groups.has(group)) throw new UsageError(`--graph takes a group of the inventory, not ${JSON.stringify(group)}`);
    output.out(inventoryGraph(inventory, group, hosts));
    return 0;
  }
  output.out(ansibleJson(inventoryListing(inventory, hosts)));
  return 0;
}
