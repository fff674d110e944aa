// The loaded inventory: groups, hosts and their merged vars, in Ansible's precedence.
import type { SourcePos } from './source.js';

/** How the inventory file was read: YAML (static JSON included), INI, or an executable script. */
export type InventoryFormat = 'yaml' | 'ini' | 'script';

export interface InventoryGroup {
  name: string;
  /** Direct child groups, in the order they were added. */
  children: string[];
  /** Hosts listed directly under this group, in the order they were added. */
  hosts: string[];
  /** The group's own vars: its group_vars/ files over the inventory source. */
  vars: Record<string, unknown>;
  varPos: Record<string, SourcePos>;
  /** ansible_group_priority (default 1): orders groups of the same depth when vars merge. */
  priority?: number;
  pos?: SourcePos;
}

export interface InventoryHost {
  name: string;
  /**
   * Every group the host belongs to, directly or through children; always includes 'all'.
   * In Ansible's merge order: all first, then by depth, ansible_group_priority and name.
   */
  groups: string[];
  /** Merged vars in Ansible precedence; group_vars/ and host_vars/ files included. */
  vars: Record<string, unknown>;
  /** Where each merged var was defined (the winning definition). */
  varPos: Record<string, SourcePos>;
  /** The merged vars as ansible-inventory prints them: Python's floats, big ints and timestamps kept (PyJson). */
  printedVars?: () => Record<string, unknown>;
  pos?: SourcePos;
}

export interface Inventory {
  /** Absolute path of the inventory file (or folder; several sources: their paths joined by commas). */
  file: string;
  /** How the one inventory file was read; absent for a folder or several sources. */
  format?: InventoryFormat;
  /** For a folder or several sources: every file read, in the order merged. */
  sources?: string[];
  groups: Map<string, InventoryGroup>;
  hosts: Map<string, InventoryHost>;
}
