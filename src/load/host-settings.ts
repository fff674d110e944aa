// A host's connection vars (ansible_*) and multilink settings (multilink_*), from its merged
// vars, templated and checked. Numbers may be ints or strings ("0xff00"): templates yield strings.
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { BECOME_METHODS, type BecomeMethod, type BootSetting, type ConnectionVars, type HostSettings, type IptablesFlavourSetting } from '../model/config.js';
import type { FirewallSetting } from '../model/nft.js';
import { Secret } from '../model/secret.js';
import type { SourcePos } from '../model/source.js';
import { isRemotePath } from '../net/names.js';
import { DEFAULT_RUN_DIR, DEFAULT_STATE_DIR } from '../shell/layout.js';
import type { PlayScope } from './play-scope.js';
import type { VarTable } from './template.js';
import { splitShellWords, ShellWordsError } from './shell-words.js';
import { expected, parseWhole, readBool, readEnum, readString, readWhole } from './values.js';
import type { YValue } from './yaml-source.js';

const BOOT = ['auto', 'systemd', 'initd', 'none'] as const;
const IPTABLES: readonly IptablesFlavourSetting[] = ['auto', 'legacy', 'nft'];
const FIREWALLS: readonly FirewallSetting[] = ['auto', 'nft', 'iptables'];
const MAX_TABLE = 0xfffffeff;
const RESERVED_TABLES = [253, 254, 255];
const MAX_PRIORITY = 32765;
/**
 * Host and user names reach `ssh -G` as arguments, and an ssh_config `Match exec "… %h %r"`
 * hands them to a shell (CVE-2023-51385, before OpenSSH 9.6). What OpenSSH 9.6 accepts
 * (ssh.c valid_hostname, valid_ruser), without blanks: no leading dash, no controls, none of
 * ' ` " $ \ ; & < > | ( ) { } (a user name may hold $ and \, but not end with \).
 */
const HOST_NAME = /^[^\s\0-\x1f\x7f'`"$\\;&<>|(){}-][^\s\0-\x1f\x7f'`"$\\;&<>|(){}]*$/;
const SSH_USER = /^[^\s\0-\x1f\x7f'`";&<>|(){}-][^\s\0-\x1f\x7f'`";&<>|(){}]*$/;
const HOST_RULE = "no blanks, quotes, $ ` \\ ; & < > | ( ) { } or leading dash, as ssh requires";
const USER_RULE = "no blanks, quotes, ` ; & < > | ( ) { }, leading dash or trailing \\, as ssh requires";

interface VarReader {
  value(name: string): YValue | undefined;
  definedIn(name: string): string | undefined;
}

export function varReader(vars: VarTable, s: PlayScope): VarReader {
  return {
    value: (name) => {
      const def = vars.get(name);
      return def ? s.t.render(def.value) : undefined;
    },
    definedIn: (name) => vars.get(name)?.keyPos.file,
  };
}

/**
 * Relative local paths are taken from the directory of the file that set the var (the
 * inventory, or its group_vars/host_vars file), not from the working directory, so an
 * inventory means the same thing wherever multilink is run. `~/` is the user's home.
 */
export function localPath(path: string, definedIn: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return resolve(dirname(definedIn), path);
}

/**
 * One connection var under its several names: Ansible still reads the pre-2.0
 * `ansible_ssh_host`, `ansible_ssh_port` and `ansible_ssh_user`, and where both names are set
 * its ssh connection takes the later one of its list — the ansible_ssh_ name. First set wins here.
 */
function aliased(v: VarReader, names: readonly string[]): { name: string; node: YValue | undefined } {
  for (const name of names) {
    if (v.definedIn(name) !== undefined) return { name, node: v.value(name) };
  }
  return { name: names[0], node: undefined };
}

/** A user name ssh takes (see SSH_USER): for -u and ansible.cfg's remote_user, checked before loading. */
export function sshUserProblem(user: string): string | undefined {
  return SSH_USER.test(user) && !user.endsWith('\\') ? undefined : `expected a user name (${USER_RULE})`;
}

/** What -u, --private-key, ANSIBLE_REMOTE_USER… and ansible.cfg give: used where no inventory var says otherwise. */
export interface ConnectionDefaults {
  user?: string;
  /** Absolute. */
  privateKeyFile?: string;
}

export function resolveConnection(host: string, hostPos: SourcePos, v: VarReader, s: PlayScope, defaults: ConnectionDefaults = {}): ConnectionVars {
  const hostVar = aliased(v, ['ansible_ssh_host', 'ansible_host']);
  const address = readString(hostVar.node, hostVar.name, s.r) ?? host;
  if (!HOST_NAME.test(address)) {
    if (hostVar.node) expected(s.r, hostVar.name, `a host name or address (${HOST_RULE})`, hostVar.node);
    else s.r.error(`host name '${host}' cannot be used to connect (${HOST_RULE}): set ansible_host`, { pos: hostPos });
  }
  const connection: ConnectionVars = { host: address, become: readBool(v.value('ansible_become'), 'ansible_become', s.r) ?? false };
  const portVar = aliased(v, ['ansible_ssh_port', 'ansible_port']);
  const port = readWhole(portVar.node, portVar.name, s.r, { min: 1, max: 65535 });
  if (port !== undefined) connection.port = port;
  const userVar = aliased(v, ['ansible_ssh_user', 'ansible_user']);
  const user = readString(userVar.node, userVar.name, s.r);
  if (user !== undefined && SSH_USER.test(user) && !user.endsWith('\\')) connection.user = user;
  else if (user !== undefined) expected(s.r, userVar.name, `a user name (${USER_RULE})`, userVar.node as YValue);
  else if (defaults.user !== undefined) connection.user = defaults.user;
  const keyVar = aliased(v, ['ansible_ssh_private_key_file', 'ansible_private_key_file']);
  const key = readString(keyVar.node, keyVar.name, s.r);
  if (key !== undefined) connection.privateKeyFile = localPath(key, v.definedIn(keyVar.name) ?? '.');
  else if (defaults.privateKeyFile !== undefined) connection.privateKeyFile = defaults.privateKeyFile;
  const password = readSecret(aliased(v, ['ansible_password', 'ansible_ssh_pass', 'ansible_ssh_password']), s);
  if (password !== undefined) connection.password = password;
  if (connection.become) readBecome(connection, v, s);
  return connection;
}

/**
 * ansible_become_method, _user and _password under their names in Ansible's become plugins
 * (the generic one, then the method's own). Read only with ansible_become: a become password
 * nobody uses is never looked at (nor decrypted).
 */
function readBecome(connection: ConnectionVars, v: VarReader, s: PlayScope): void {
  const method: BecomeMethod = readEnum(v.value('ansible_become_method'), 'ansible_become_method', BECOME_METHODS, s.r) ?? 'sudo';
  if (method !== 'sudo') connection.becomeMethod = method;
  const userVar = aliased(v, ['ansible_become_user', `ansible_${method}_user`]);
  const user = readString(userVar.node, userVar.name, s.r);
  if (user !== undefined && USER_NAME.test(user)) {
    if (user !== 'root') connection.becomeUser = user;
  } else if (user !== undefined) expected(s.r, userVar.name, 'a user name', userVar.node as YValue);
  const password = readSecret(aliased(v, ['ansible_become_password', 'ansible_become_pass', `ansible_${method}_pass`]), s);
  if (password !== undefined) connection.becomePassword = password;
  const exeVar = aliased(v, ['ansible_become_exe', `ansible_${method}_exe`]);
  const exe = readString(exeVar.node, exeVar.name, s.r);
  if (exe !== undefined && BECOME_EXE.test(exe)) connection.becomeExe = exe;
  else if (exe !== undefined) expected(s.r, exeVar.name, 'a command name or absolute path (letters, digits, _ . / + -, not starting with -)', exeVar.node as YValue);
  const flagsVar = aliased(v, ['ansible_become_flags', `ansible_${method}_flags`]);
  const flags = readString(flagsVar.node, flagsVar.name, s.r);
  if (flags !== undefined) {
    const words = flagWords(flags);
    if (typeof words === 'string') expected(s.r, flagsVar.name, words, flagsVar.node as YValue);
    else connection.becomeFlags = words;
  }
}

/** What ansible_become_exe may name: a command or a path, never an option or a shell word. */
const BECOME_EXE = /^(?!-)[A-Za-z0-9_./+-]+$/;

/** ansible_become_flags split as Ansible's shlex.split does; each word is quoted on the command line. */
function flagWords(text: string): string[] | string {
  if (/[\0\r\n]/.test(text)) return 'flags on one line, without NUL';
  try {
    return splitShellWords(text).map((w) => w.text);
  } catch (err) {
    return `flags as shell words (${err instanceof ShellWordsError ? err.message : String(err)})`;
  }
}

/** A user name as sudo -u, su and doas -u take it. */
const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/;

/**
 * A password: any one line. A message about it never shows the value (as expected() would),
 * only where it was set.
 */
function readSecret(found: { name: string; node: YValue | undefined }, s: PlayScope): Secret | undefined {
  const { name, node } = found;
  if (!node) return undefined;
  if (node.kind !== 'scalar' || (typeof node.value !== 'string' && typeof node.value !== 'number')) {
    s.r.error(`${name}: expected a string (the value is not shown)`, node);
    return undefined;
  }
  const value = String(node.value);
  if (/[\r\n\0]/.test(value)) {
    s.r.error(`${name}: a password must be one line, without line breaks or NUL (the value is not shown)`, node);
    return undefined;
  }
  return new Secret(value);
}

/** `linkCount` is the number of links of the host's play: marks, tables and priorities must fit them. */
export function resolveSettings(v: VarReader, linkCount: number, s: PlayScope): HostSettings {
  const settings: HostSettings = {
    stateDir: readRemoteDir(v.value('multilink_state_dir'), 'multilink_state_dir', s) ?? DEFAULT_STATE_DIR,
    runDir: readRemoteDir(v.value('multilink_run_dir'), 'multilink_run_dir', s) ?? DEFAULT_RUN_DIR,
    markMask: readMarkMask(v.value('multilink_mark_mask'), linkCount, s) ?? 0xff00,
    tableBase: readTableBase(v.value('multilink_table_base'), linkCount, s) ?? 100,
    rulePriority: readPriority(v.value('multilink_rule_priority'), linkCount, s) ?? 1000,
    boot: readBoot(v.value('multilink_boot'), s) ?? 'auto',
    iptables: readEnum(v.value('multilink_iptables'), 'multilink_iptables', IPTABLES, s.r) ?? 'auto',
    firewall: readEnum(v.value('multilink_firewall'), 'multilink_firewall', FIREWALLS, s.r) ?? 'auto',
  };
  if (settings.runDir === settings.stateDir) {
    s.r.error(`multilink_run_dir: must not be the state folder ${settings.stateDir} (the run folder is for files rewritten every few seconds, best on a RAM disk)`, (v.value('multilink_run_dir') ?? v.value('multilink_state_dir')) as YValue);
  }
  const known = readString(v.value('multilink_known_hosts'), 'multilink_known_hosts', s.r);
  if (known !== undefined) settings.knownHosts = localPath(known, v.definedIn('multilink_known_hosts') ?? '.');
  return settings;
}

/** A hook kind, or an absolute path where the boot hook script is written. */
function readBoot(node: YValue | undefined, s: PlayScope): BootSetting | undefined {
  if (node?.kind === 'scalar' && typeof node.value === 'string' && node.value.startsWith('/')) {
    if (isRemotePath(node.value)) return node.value as BootSetting;
  }
  return readEnum(node, 'multilink_boot', BOOT, s.r) ?? undefined;
}

function readRemoteDir(node: YValue | undefined, name: 'multilink_state_dir' | 'multilink_run_dir', s: PlayScope): string | undefined {
  const dir = readString(node, name, s.r);
  if (dir === undefined || isRemotePath(dir)) return dir;
  return expected(s.r, name, 'an absolute path on the router (starting with /)', node as YValue);
}

function lowestBit(mask: number): number {
  let bit = 1;
  while (mask % (bit * 2) === 0) bit *= 2;
  return bit;
}

/**
 * Link k is marked k × the mask's lowest bit, and the mask's top value pins a connection to
 * normal routing, so the mask needs room for n + 1 values.
 */
function readMarkMask(node: YValue | undefined, linkCount: number, s: PlayScope): number | undefined {
  if (!node) return undefined;
  const mask = parseWhole(node);
  if (mask === undefined || mask <= 0 || mask > 0xffffffff || !Number.isInteger(Math.log2(mask / lowestBit(mask) + 1))) {
    return expected(s.r, 'multilink_mark_mask', 'one contiguous run of set bits within 32 bits, like 0xff00', node);
  }
  const room = mask / lowestBit(mask) - 1;
  if (linkCount > room) {
    const summary = `multilink_mark_mask 0x${mask.toString(16)} holds marks for ${room} links but the play has ${linkCount}`;
    s.r.error(`${summary}: expected a wider mask`, node, { perHost: true });
  }
  return mask;
}

function readTableBase(node: YValue | undefined, linkCount: number, s: PlayScope): number | undefined {
  if (!node) return undefined;
  const base = readWhole(node, 'multilink_table_base', s.r, { min: 0, max: MAX_TABLE - 1 });
  if (base === undefined) return undefined;
  const last = base + Math.max(linkCount, 1);
  if (last <= MAX_TABLE && !RESERVED_TABLES.some((t) => t > base && t <= last)) return base;
  const rule = `must stay within 1..${MAX_TABLE} and avoid ${RESERVED_TABLES.join(', ')} (default, main, local)`;
  s.r.error(`multilink_table_base ${base}: link tables ${base + 1}..${last} ${rule}`, node, { perHost: true });
  return undefined;
}

/**
 * The rules of n links sit at priorities base−1 … base+2n−1 (see compile/rules.ts); 0, 32766
 * and 32767 belong to the kernel's own rules.
 */
function readPriority(node: YValue | undefined, linkCount: number, s: PlayScope): number | undefined {
  if (!node) return undefined;
  const base = readWhole(node, 'multilink_rule_priority', s.r, { min: 2, max: MAX_PRIORITY });
  const last = base === undefined ? 0 : base + 2 * Math.max(linkCount, 1) - 1;
  if (base === undefined || last <= MAX_PRIORITY) return base;
  s.r.error(`multilink_rule_priority ${base}: the rules of ${linkCount} links need priorities ${base - 1}..${last}, beyond ${MAX_PRIORITY}`, node, {
    perHost: true,
  });
  return undefined;
}
