// The inventory as Ansible's InventoryData builds it, shared by the YAML, INI and script
// readers: groups and hosts in the order first met, `all` and `ungrouped` from the start,
// child edges that may not close a loop, and the reconciliation Ansible runs after a source
// is read (parentless groups under `all`, hosts of no group in `ungrouped`).
import type { SourcePos } from '../model/source.js';
import type { Reporter } from './report.js';
import type { VarDef, VarTable } from './template.js';
import { expected, parseWhole } from './values.js';
import type { YValue } from './yaml-source.js';

export interface RawGroup {
  name: string;
  pos?: SourcePos;
  /** Direct children in the order added; pos is where the edge was written. */
  children: { name: string; pos?: SourcePos }[];
  /** Hosts listed directly under this group, in the order added. */
  hosts: string[];
  /** Vars set in the inventory source itself (not group_vars/). */
  vars: VarTable;
  /** ansible_group_priority: among groups of one depth, higher priority wins later. */
  priority: number;
}

export interface RawHost {
  name: string;
  pos: SourcePos;
  vars: VarTable;
}

export interface RawInventory {
  groups: Map<string, RawGroup>;
  hosts: Map<string, RawHost>;
}

const PRIORITY = 'ansible_group_priority';

export class InventoryBuilder {
  readonly raw: RawInventory = { groups: new Map(), hosts: new Map() };
  /** Each group's hosts as a set: inventories of tens of thousands of hosts stay fast. */
  private readonly members = new Map<string, Set<string>>();

  constructor(readonly r: Reporter) {
    this.group('all');
    this.group('ungrouped');
    this.addChild('all', 'ungrouped');
  }

  group(name: string, pos?: SourcePos): RawGroup {
    let g = this.raw.groups.get(name);
    if (!g) this.raw.groups.set(name, (g = { name, pos, children: [], hosts: [], vars: new Map(), priority: 1 }));
    g.pos ??= pos;
    return g;
  }

  /**
   * Adds a host (once) and puts it in `group`. As in Ansible, a port written with the host
   * (`r1:2222`) becomes its ansible_port only where the host is first defined.
   */
  addHost(name: string, group: string | undefined, pos: SourcePos, port?: { value: number; pos: SourcePos }): RawHost {
    let h = this.raw.hosts.get(name);
    if (!h) {
      this.raw.hosts.set(name, (h = { name, pos, vars: new Map() }));
      if (port) {
        const value: YValue = { kind: 'scalar', value: port.value, text: String(port.value), pos: port.pos };
        h.vars.set('ansible_port', { name: 'ansible_port', value, keyPos: port.pos });
      }
    }
    if (group !== undefined) {
      const g = this.group(group);
      let members = this.members.get(group);
      if (!members) this.members.set(group, (members = new Set(g.hosts)));
      if (!members.has(name)) {
        members.add(name);
        g.hosts.push(name);
      }
    }
    return h;
  }

  setHostVar(host: string, def: VarDef): void {
    this.raw.hosts.get(host)?.vars.set(def.name, def);
  }

  /** ansible_group_priority set in the source orders groups; it is not a variable then. */
  setGroupVar(group: string, def: VarDef): void {
    const g = this.group(group);
    if (def.name !== PRIORITY) {
      g.vars.set(def.name, def);
      return;
    }
    const v = def.value;
    const n = v.kind === 'scalar' && typeof v.value === 'string' ? parseSigned(v.value) : parseWhole(v);
    if (n === undefined) expected(this.r, PRIORITY, 'a whole number', v);
    else g.priority = n;
  }

  /** A child edge; one that would make a group its own ancestor is reported and dropped. */
  addChild(parent: string, child: string, pos?: SourcePos): void {
    const p = this.group(parent);
    this.group(child);
    if (p.children.some((c) => c.name === child)) return;
    if (child === 'all') {
      this.r.diags.error(`group 'all' cannot be a child of another group`, { pos });
      return;
    }
    const loop = this.pathDown(child, parent);
    if (loop) {
      this.r.diags.error(`group '${child}' is its own ancestor (${[...loop, child].join(' → ')})`, { pos });
      return;
    }
    p.children.push({ name: child, pos });
  }

  /** Group names from `from` down to `to` through children, or undefined when `to` is not below. */
  private pathDown(from: string, to: string): string[] | undefined {
    if (from === to) return [from];
    for (const c of this.raw.groups.get(from)?.children ?? []) {
      const rest = this.pathDown(c.name, to);
      if (rest) return [from, ...rest];
    }
    return undefined;
  }

  /** What Ansible's reconcile_inventory does once a source is read. */
  reconcile(): RawInventory {
    const parents = new Set([...this.raw.groups.values()].flatMap((g) => g.children.map((c) => c.name)));
    for (const name of this.raw.groups.keys()) if (name !== 'all' && !parents.has(name)) this.addChild('all', name);
    const ungrouped = this.group('ungrouped');
    const inOtherGroup = new Set<string>();
    for (const g of this.raw.groups.values()) if (g.name !== 'all' && g.name !== 'ungrouped') for (const h of g.hosts) inOtherGroup.add(h);
    ungrouped.hosts = ungrouped.hosts.filter((h) => !inOtherGroup.has(h));
    const listed = new Set(ungrouped.hosts);
    for (const h of this.raw.hosts.keys()) if (!inOtherGroup.has(h) && !listed.has(h)) ungrouped.hosts.push(h);
    this.members.delete('ungrouped');
    return this.raw;
  }
}

function parseSigned(text: string): number | undefined {
  return /^\s*[+-]?[0-9]+\s*$/.test(text) ? Number(text) : undefined;
}
