// The loaded inventory: groups, hosts and their merged vars (host > child group > parent group > all).
import type { SourcePos } from './source.js';

export interface InventoryGroup {
  name: string;
  /** Direct child groups. */
  children: string[];
  /** Hosts listed directly under this group. */
  hosts: string[];
  vars: Record<string, unknown>;
  varPos: Record<string, SourcePos>;
  pos?: SourcePos;
}

export interface InventoryHost {
  name: string;
  /** Every group the host belongs to, directly or through children; always includes 'all'. */
  groups: string[];
  /** Merged vars in Ansible precedence; group_vars/ and host_vars/ files included. */
  vars: Record<string, unknown>;
  /** Where each merged var was defined (the winning definition). */
  varPos: Record<string, SourcePos>;
  pos?: SourcePos;
}

export interface Inventory {
  /** Absolute path of the inventory file. */
  file: string;
  groups: Map<string, InventoryGroup>;
  hosts: Map<string, InventoryHost>;
}
