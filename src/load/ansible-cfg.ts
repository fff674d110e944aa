// ansible.cfg where Ansible looks for it, read as Ansible reads it (Python's configparser,
// `;` inline comments, raw values), and the settings multilink shares with Ansible resolved
// in Ansible's precedence: command-line flag, then ANSIBLE_* variable, then ansible.cfg.
// The places searched come from an AnsibleWorld, so tests never touch the real /etc or ~.
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';

/** Where Ansible's configuration is looked for: the environment, working folder, home, /etc/ansible. */
export interface AnsibleWorld {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  home: string;
  /** /etc/ansible: ansible.cfg and the default inventory `hosts`. */
  etcDir: string;
}

export function systemWorld(): AnsibleWorld {
  return { env: process.env, cwd: process.cwd(), home: homedir(), etcDir: '/etc/ansible' };
}

/** One ansible.cfg: its sections, keys lower-cased (as configparser does), values raw. */
export interface AnsibleCfg {
  file: string;
  sections: Map<string, Map<string, string>>;
}

/**
 * The one file Ansible uses (the first found): $ANSIBLE_CONFIG (a folder means its
 * ansible.cfg), ./ansible.cfg unless the working folder is world-writable, ~/.ansible.cfg,
 * /etc/ansible/ansible.cfg.
 */
export function findAnsibleCfg(world: AnsibleWorld): { file?: string; warnings: string[] } {
  const candidates: string[] = [];
  const fromEnv = world.env.ANSIBLE_CONFIG;
  if (fromEnv !== undefined) {
    const path = resolve(world.cwd, expandHome(fromEnv, world));
    candidates.push(isDir(path) ? join(path, 'ansible.cfg') : path);
  }
  const warnings: string[] = [];
  const here = join(world.cwd, 'ansible.cfg');
  if (worldWritable(world.cwd)) {
    if (readable(here)) warnings.push(`the working folder ${world.cwd} is world-writable: its ansible.cfg is ignored, as Ansible ignores it`);
  } else candidates.push(here);
  candidates.push(join(world.home, '.ansible.cfg'), join(world.etcDir, 'ansible.cfg'));
  const file = candidates.find(readable);
  return { file, warnings: file !== undefined && file === candidates[0] && fromEnv !== undefined ? [] : warnings };
}

/** Python configparser's INI dialect as Ansible sets it up (strict, `;` inline comments, no interpolation). */
export function parseAnsibleCfg(text: string, file: string): AnsibleCfg {
  const sections = new Map<string, Map<string, string>>();
  let section: Map<string, string> | undefined;
  let last: { key: string; indent: number } | undefined;
  const lines = text.split(/\r?\n/);
  const fail = (n: number, why: string): never => {
    throw new UsageError(`${file}:${n + 1}: ${why}`);
  };
  for (const [n, raw] of lines.entries()) {
    const line = stripInlineComment(raw);
    const trimmed = line.trim();
    const indent = line.length - line.trimStart().length;
    if (trimmed === '' || /^[#;]/.test(raw.trim())) continue;
    if (section && last && indent > last.indent) {
      section.set(last.key, `${section.get(last.key)}\n${trimmed}`);
      continue;
    }
    const header = /^\[(.+)\]$/.exec(trimmed);
    if (header) {
      if (sections.has(header[1])) fail(n, `section [${header[1]}] appears twice (Ansible refuses this file too)`);
      sections.set(header[1], (section = new Map()));
      last = undefined;
      continue;
    }
    if (!section) return fail(n, 'a key before the first [section]');
    const option = /^([^=:]*?)\s*[=:]\s*(.*)$/.exec(trimmed);
    if (!option || option[1] === '') return fail(n, `expected KEY = VALUE, got ${JSON.stringify(trimmed)}`);
    const key = option[1].toLowerCase();
    if (section.has(key)) fail(n, `key ${key} appears twice in its section (Ansible refuses this file too)`);
    section.set(key, option[2]);
    last = { key, indent };
  }
  return { file, sections };
}

/**
 * One value of an ansible.cfg as Ansible reads it (one pair of quotes around it dropped), for
 * settings read elsewhere: ansibleCfgValue(cfg, 'vault_identity_list').
 */
export function ansibleCfgValue(cfg: AnsibleCfg | undefined, key: string, section = 'defaults'): string | undefined {
  const text = cfg?.sections.get(section)?.get(key.toLowerCase());
  return text === undefined ? undefined : unquote(text);
}

/** configparser with inline_comment_prefixes=(';',): a `;` after blank space starts a comment. */
function stripInlineComment(line: string): string {
  const m = /\s;/.exec(line);
  return m ? line.slice(0, m.index) : line;
}

export function readAnsibleCfg(world: AnsibleWorld): { cfg?: AnsibleCfg; warnings: string[] } {
  const { file, warnings } = findAnsibleCfg(world);
  if (file === undefined) return { warnings };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
  return { cfg: parseAnsibleCfg(text, file), warnings };
}

/** What multilink takes from Ansible's configuration. Paths are absolute. */
export interface AnsibleSettings {
  /** The ansible.cfg used, if any; its sections for settings read elsewhere (vault_identity_list…). */
  cfg?: AnsibleCfg;
  /** Inventory sources: the given ones, else ANSIBLE_INVENTORY, else the cfg's inventory, else /etc/ansible/hosts. */
  inventory: string[];
  /** Where `inventory` came from, for messages. */
  inventoryFrom: string;
  remoteUser?: string;
  privateKeyFile?: string;
  forks?: number;
  /** Seconds to connect (Ansible's `timeout`, -T). */
  timeout?: number;
  /** The cfg's vault_password_file (the ANSIBLE_VAULT_PASSWORD_FILE variable is read with the other vault variables). */
  vaultPasswordFile?: string;
  warnings: string[];
}

/** What the command line gave; undefined: not given. */
export interface AnsibleFlags {
  inventory?: string[];
  remoteUser?: string;
  privateKeyFile?: string;
  forks?: number;
  timeout?: number;
}

type Kind = 'string' | 'path' | 'pathlist' | 'integer';

/** A [defaults] key and the variable that overrides it, as in Ansible's config/base.yml. */
const SETTINGS = {
  inventory: { key: 'inventory', env: 'ANSIBLE_INVENTORY', kind: 'pathlist' },
  remoteUser: { key: 'remote_user', env: 'ANSIBLE_REMOTE_USER', kind: 'string' },
  privateKeyFile: { key: 'private_key_file', env: 'ANSIBLE_PRIVATE_KEY_FILE', kind: 'path' },
  forks: { key: 'forks', env: 'ANSIBLE_FORKS', kind: 'integer' },
  timeout: { key: 'timeout', env: 'ANSIBLE_TIMEOUT', kind: 'integer' },
  vaultPasswordFile: { key: 'vault_password_file', env: undefined, kind: 'path' },
} as const satisfies Record<string, { key: string; env: string | undefined; kind: Kind }>;

type Value = string | string[] | number;

/** Flag, then variable, then ansible.cfg ([defaults]); relative paths from the cfg's folder or the working folder. */
export function resolveAnsibleSettings(flags: AnsibleFlags, world: AnsibleWorld): AnsibleSettings {
  const { cfg, warnings } = readAnsibleCfg(world);
  const defaults = cfg?.sections.get('defaults');
  const lookup = (name: keyof typeof SETTINGS): { value: Value; from: string } | undefined => {
    const s = SETTINGS[name];
    const env = s.env === undefined ? undefined : world.env[s.env];
    // As in Ansible, an empty variable still counts as set (for a path it means: none).
    if (s.env !== undefined && env !== undefined) return typed(env, s.kind, `${s.env}`, world.cwd, world);
    const text = defaults?.get(s.key);
    if (text === undefined || cfg === undefined) return undefined;
    return typed(unquote(text), s.kind, `${cfg.file} [defaults] ${s.key}`, dirname(cfg.file), world);
  };
  const settings: AnsibleSettings = { inventory: [], inventoryFrom: '', warnings };
  if (cfg) settings.cfg = cfg;
  if (flags.inventory?.length) {
    // As given: relative to the working folder, and messages keep them short.
    settings.inventory = [...flags.inventory];
    settings.inventoryFrom = 'the command line';
  } else {
    const found = lookup('inventory');
    settings.inventory = found ? (found.value as string[]) : [join(world.etcDir, 'hosts')];
    settings.inventoryFrom = found ? found.from : 'Ansible\'s default';
  }
  const user = flags.remoteUser ?? (lookup('remoteUser')?.value as string | undefined);
  if (user) settings.remoteUser = user;
  const key = flags.privateKeyFile !== undefined ? resolve(world.cwd, expandHome(flags.privateKeyFile, world)) : (lookup('privateKeyFile')?.value as string | undefined);
  if (key) settings.privateKeyFile = key;
  const forks = flags.forks ?? positive(lookup('forks'));
  if (forks !== undefined) settings.forks = forks;
  const timeout = flags.timeout ?? positive(lookup('timeout'));
  if (timeout !== undefined) settings.timeout = timeout;
  const vault = lookup('vaultPasswordFile')?.value as string | undefined;
  if (vault) settings.vaultPasswordFile = vault;
  return settings;
}

/** `-i r1,r2,` names hosts, not a file: Ansible's host_list source (any comma, and no such file). */
export function isHostList(source: string): boolean {
  return source.includes(',');
}

function positive(found: { value: Value; from: string } | undefined): number | undefined {
  if (found === undefined) return undefined;
  const n = found.value as number;
  if (n < 1) throw new UsageError(`${found.from}: expected a whole number ≥ 1, not ${n}`);
  return n;
}

function typed(text: string, kind: Kind, from: string, base: string, world: AnsibleWorld): { value: Value; from: string } {
  switch (kind) {
    case 'string':
      return { value: text, from };
    case 'path':
      return { value: text === '' ? '' : resolve(base, expandHome(text, world)), from };
    case 'pathlist':
      return { value: text.split(',').map((p) => p.trim()).filter((p) => p !== '').map((p) => resolve(base, expandHome(p, world))), from };
    case 'integer': {
      // Python's int(): blanks around, a sign, digits (underscores between them).
      const t = text.trim();
      if (!/^[+-]?[0-9]+(_[0-9]+)*$/.test(t)) throw new UsageError(`${from}: expected a whole number, not ${JSON.stringify(text)}`);
      return { value: Number(t.replace(/_/g, '')), from };
    }
  }
}

/** Ansible strips one pair of matching quotes around an ansible.cfg value. */
function unquote(text: string): string {
  return /^(['"]).*\1$/s.test(text) && text.length >= 2 ? text.slice(1, -1) : text;
}

function expandHome(path: string, world: AnsibleWorld): string {
  if (path === '~') return world.home;
  if (path.startsWith('~/')) return join(world.home, path.slice(2));
  return path;
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return !statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function worldWritable(dir: string): boolean {
  try {
    return (statSync(dir).mode & 0o002) !== 0;
  } catch {
    return true;
  }
}

