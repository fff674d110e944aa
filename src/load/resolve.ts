// Entry point of the load stage: inventory + playbooks → one checked HostConfig per targeted
// host, and every problem found on the way (never only the first).
import { dirname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { Diagnostics, type Diagnostic } from '../diagnostics.js';
import { InputError } from '../errors.js';
import type { HostConfig, HostRef } from '../model/config.js';
import type { Inventory } from '../model/inventory.js';
import { formatPos, type SourcePos } from '../model/source.js';
import { localPath, resolveConnection, resolveSettings, varReader, type ConnectionDefaults } from './host-settings.js';
import { inventorySources, loadInventory, type InventoryArg, type InventoryInput, type InventoryOptions } from './inventory.js';
import { matchLimit, matchPattern } from './patterns.js';
import { resolvePlay } from './play-config.js';
import type { PlayScope } from './play-scope.js';
import { loadPlaybook, type PlayNode } from './playbook.js';
import { Reporter } from './report.js';
import { UnhonouredVars } from './unhonoured-vars.js';
import { TemplateRenderer, type VaultAccess, type VarTable } from './template.js';
import { readList, readString } from './values.js';
import { VaultKeyring } from './vault.js';

export interface LoadedProject {
  inventory: Inventory;
  /**
   * Targeted hosts (within --limit) whose own resolution and playbooks had no error.
   * Complete only when `diagnostics` holds no error: call assertNoErrors before using it.
   */
  hosts: HostConfig[];
  /** Hosts within --limit that no play with links targets. */
  untargeted: string[];
  /** With LoadOptions.untargeted: those hosts' connection and settings (`remove` reaches them). */
  untargetedRefs: HostRef[];
  /** Errors and warnings, de-duplicated, ordered by file then line and column. */
  diagnostics: Diagnostic[];
}

export interface LoadOptions extends InventoryOptions {
  /** Ansible host pattern (@file too): only these hosts are resolved (templates of others are not checked). */
  limit?: string;
  /**
   * Whether the command will connect to the hosts (default true). Only then are vaulted
   * connection vars (ansible_host, ansible_user, ansible_password, ansible_become_password…)
   * decrypted: `render` uses none of them, so it needs no password for them.
   */
  connect?: boolean;
  /** Resolve the connection and settings of hosts no play targets too (`remove`). */
  untargeted?: boolean;
}

interface LoadedPlaybook {
  plays: PlayNode[];
  hasErrors: boolean;
}

/** Each playbook is read, and each play's host pattern matched, once however many hosts use it. */
class Playbooks {
  private readonly byPath = new Map<string, LoadedPlaybook>();
  private readonly targets = new Map<PlayNode, Set<string>>();

  constructor(
    private readonly inventory: Inventory,
    private readonly diags: Diagnostics,
    private readonly vault: VaultKeyring,
  ) {}

  load(file: string, ref: SourcePos): LoadedPlaybook {
    const key = resolvePath(file);
    let book = this.byPath.get(key);
    if (book) return book;
    const local = new Diagnostics();
    const plays = loadPlaybook(file, local, ref, this.vault);
    for (const play of plays) this.matchHosts(play, local);
    this.byPath.set(key, (book = { plays, hasErrors: local.hasErrors }));
    this.diags.push(...local.items);
    return book;
  }

  targetsOf(play: PlayNode): Set<string> {
    return this.targets.get(play) ?? new Set();
  }

  all(): PlayNode[] {
    return [...this.byPath.values()].flatMap((b) => b.plays);
  }

  private matchHosts(play: PlayNode, diags: Diagnostics): void {
    const { hosts, unmatched, problems } = matchPattern(play.hosts, this.inventory);
    for (const name of unmatched) diags.error(`host pattern '${name}' names no host or group`, { pos: play.hostsPos });
    for (const problem of problems) diags.error(problem, { pos: play.hostsPos });
    this.targets.set(play, new Set(hosts));
  }
}

export function loadProject(inventoryArg: InventoryArg, options: LoadOptions = {}): LoadedProject {
  const diags = new Diagnostics();
  const vault = options.vault ?? new VaultKeyring();
  const given: Partial<InventoryInput> = typeof inventoryArg === 'string' ? {} : inventoryArg;
  const extraVars = [...(given.extraVars ?? []), ...(options.extraVars ?? [])];
  const { inventory, hostVars } = loadInventory(inventorySources(inventoryArg), diags, { ...options, vault, extraVars });
  const defaults = given.connection ?? {};
  const playbooks = new Playbooks(inventory, diags, vault);
  const hosts: HostConfig[] = [];
  const untargeted: string[] = [];
  const untargetedRefs: HostRef[] = [];
  const unhonoured = new UnhonouredVars();
  for (const name of limitHosts(options.limit, inventory, diags)) {
    const vars = withMagicVars(hostVars.get(name) ?? new Map(), name, inventory);
    const hostDiags = new Diagnostics();
    const s = scope(hostDiags, { host: name, vars }, vault);
    const books = playbookFiles(vars, s).map((f) => playbooks.load(f.file, f.pos));
    const plays = [...new Set(books.flatMap((b) => b.plays))].filter((p) => p.links.length > 0 && playbooks.targetsOf(p).has(name));
    if (options.connect !== false && (plays.length > 0 || options.untargeted)) noteUnhonoured(unhonoured, name, vars, vault);
    if (plays.length === 0) {
      untargeted.push(name);
      if (options.untargeted) {
        const ref = resolveRef(name, vars, inventory, s, options.connect === false ? scope(hostDiags, { host: name, vars }, 'sealed') : s, defaults);
        if (!hostDiags.hasErrors) untargetedRefs.push(ref);
      }
    } else {
      reportSecondPlays(name, plays, s);
      // Connection vars are used only by a command that connects: else vaulted ones stay sealed.
      const c = options.connect === false ? scope(hostDiags, { host: name, vars }, 'sealed') : s;
      const config = resolveHost(name, plays[0], vars, inventory, s, c, defaults);
      if (!hostDiags.hasErrors && !books.some((b) => b.hasErrors)) hosts.push(config);
    }
    diags.push(...hostDiags.items);
  }
  // Every play is also checked without a host: its mistakes show even if nobody uses it.
  // A play without links configures nothing (a warning said so): no balance to check.
  for (const play of playbooks.all()) if (play.links.length > 0) resolvePlay(play, scope(diags, undefined, vault));
  diags.push(...unhonoured.warnings());
  return { inventory, hosts, untargeted, untargetedRefs, diagnostics: tidy(diags.items) };
}

/** The host's Ansible connection vars multilink does not honour (ansible_connection templated; its problems are not this check's to report). */
function noteUnhonoured(into: UnhonouredVars, host: string, vars: VarTable, vault: VaultKeyring): void {
  const names = [...vars.values()].filter((d) => d.name.startsWith('ansible_')).map((d): [string, SourcePos] => [d.name, d.keyPos]);
  if (names.length === 0) return;
  const connection = vars.has('ansible_connection') ? varReader(vars, scope(new Diagnostics(), { host, vars }, vault)).value('ansible_connection') : undefined;
  const value = connection?.kind === 'scalar' && connection.value !== null ? String(connection.value) : undefined;
  into.note(host, names, value);
}

/** Throws InputError carrying every diagnostic when any of them is an error. */
export function assertNoErrors(project: LoadedProject): void {
  if (project.diagnostics.some((d) => d.severity === 'error')) throw new InputError(project.diagnostics);
}

function scope(diags: Diagnostics, host: { host: string; vars: VarTable } | undefined, vault: VaultAccess): PlayScope {
  const r = new Reporter(diags, host?.host);
  return { r, t: new TemplateRenderer(host, r, vault) };
}

/** The hosts to work on, in the order the inventory defines them; a --limit that names nothing is an error. */
export function limitHosts(limit: string | undefined, inventory: Inventory, diags: Diagnostics): string[] {
  if (limit === undefined) return [...inventory.hosts.keys()];
  const { hosts: selected, unmatched, problems } = matchLimit(limit, inventory);
  const chosen = new Set(selected);
  const hosts = [...inventory.hosts.keys()].filter((h) => chosen.has(h));
  for (const name of unmatched) diags.error(`--limit: host pattern '${name}' names no host or group`);
  for (const problem of problems) diags.error(problem.startsWith('--limit') ? problem : `--limit: ${problem}`);
  if (hosts.length === 0 && unmatched.length === 0 && problems.length === 0) diags.error(`--limit '${limit}' selects no host`);
  return hosts;
}

/** Ansible's inventory_hostname, so templates can use the host's own name. */
function withMagicVars(vars: VarTable, host: string, inventory: Inventory): VarTable {
  if (vars.has('inventory_hostname')) return vars;
  const pos = inventory.hosts.get(host)?.pos ?? { file: inventory.file, line: 1, col: 1 };
  const magic = { name: 'inventory_hostname', value: { kind: 'scalar' as const, value: host, pos }, keyPos: pos };
  return new Map([...vars, ['inventory_hostname', magic]]);
}

/** multilink_playbooks paths are relative to the file that set the var, like other local paths. */
function playbookFiles(vars: VarTable, s: PlayScope): { file: string; pos: SourcePos }[] {
  const def = vars.get('multilink_playbooks');
  if (!def) return [];
  const items = readList(s.t.render(def.value), 'multilink_playbooks', s.r) ?? [];
  return items.flatMap((item) => {
    const path = readString(item, 'multilink_playbooks item', s.r);
    if (path === undefined) return [];
    return [{ file: playbookPath(path, def.keyPos.file), pos: item.pos }];
  });
}

/** Like localPath, but a relative path stays relative to where the inventory was given: shorter messages. */
function playbookPath(path: string, definedIn: string): string {
  if (path === '~' || path.startsWith('~/') || isAbsolute(path)) return localPath(path, definedIn);
  return join(dirname(definedIn), path);
}

function reportSecondPlays(host: string, plays: PlayNode[], s: PlayScope): void {
  const [first, ...others] = plays;
  for (const other of others) {
    const plays = `'${first.name}' (${formatPos(first.pos)}) and '${other.name}' (${formatPos(other.pos)})`;
    s.r.error(`host ${host} is targeted by two plays with links: ${plays}; a host takes its links from one play`, { pos: other.hostsPos }, {
      perHost: true,
    });
  }
}

/** `c` reads the connection vars: `s` itself, or its twin that leaves vaulted values sealed. */
function resolveHost(name: string, play: PlayNode, vars: VarTable, inventory: Inventory, s: PlayScope, c: PlayScope, defaults: ConnectionDefaults): HostConfig {
  const v = varReader(vars, s);
  const config = resolvePlay(play, s, { overlay: v.value('multilink_weights') });
  const hostPos = inventory.hosts.get(name)?.pos ?? { file: inventory.file, line: 1, col: 1 };
  return {
    name,
    connection: resolveConnection(name, hostPos, varReader(vars, c), c, defaults),
    settings: resolveSettings(v, config.links.length, s),
    play: config,
  };
}

/** A host without a play: how to reach it and where multilink keeps its files there. */
function resolveRef(name: string, vars: VarTable, inventory: Inventory, s: PlayScope, c: PlayScope, defaults: ConnectionDefaults): HostRef {
  const hostPos = inventory.hosts.get(name)?.pos ?? { file: inventory.file, line: 1, col: 1 };
  return { name, connection: resolveConnection(name, hostPos, varReader(vars, c), c, defaults), settings: resolveSettings(varReader(vars, s), 0, s) };
}

/** Same problem found for many hosts is one diagnostic; order by file (as met), line, column. */
function tidy(items: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const unique = items.filter((d) => {
    const key = JSON.stringify([d.severity, d.summary, d.pos, d.host, d.link]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const fileOrder = [...new Set(unique.map((d) => d.pos?.file ?? ''))];
  const fileRank = (d: Diagnostic): number => fileOrder.indexOf(d.pos?.file ?? '');
  // Array.prototype.sort is stable: equal positions keep the order they were found in.
  return unique.sort(
    (a, b) => fileRank(a) - fileRank(b) || (a.pos?.line ?? 0) - (b.pos?.line ?? 0) || (a.pos?.col ?? 0) - (b.pos?.col ?? 0),
  );
}
