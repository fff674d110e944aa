// Where vault passwords come from, in Ansible's order (lib/ansible/cli/__init__.py,
// setup_vault_secrets): ANSIBLE_VAULT_IDENTITY_LIST, then each --vault-id [LABEL@]SOURCE, then
// each --vault-password-file and ANSIBLE_VAULT_PASSWORD_FILE (vault id 'default'), then
// --ask-vault-pass. A SOURCE is `prompt`, a file holding the password, or an executable that
// prints it (run with no arguments, stdin closed, its stdout captured; a `…-client` script gets
// `--vault-id LABEL`). No password ever goes into a child's arguments or environment.
import { spawn } from 'node:child_process';
import { readFileSync, statSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { basename, extname, resolve } from 'node:path';
import { DEFAULT_VAULT_ID, isVaultText, VaultKeyring, type VaultSecret } from './vault.js';

export interface VaultSourceOptions {
  /** --vault-id [LABEL@]SOURCE, in the order given. */
  vaultId?: string[];
  /** --vault-password-file FILE, in the order given. */
  vaultPasswordFile?: string[];
  askVaultPass?: boolean;
}

/** What reading the passwords needs from the outside world: injected, so tests need no terminal. */
export interface SecretIO {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Asks for a secret without echoing it; undefined at the end of input (Ctrl-D). */
  prompt(question: string): Promise<string | undefined>;
  warn(message: string): void;
}

/** A password that cannot be had: the command stops before anything is loaded. */
export class VaultPasswordError extends Error {
  override name = 'VaultPasswordError';
}

const PROMPTS = ['prompt', 'prompt_ask_vault_pass'];

/**
 * Ansible's vault settings (ansible.cfg's [defaults] or their ANSIBLE_VAULT_* variables):
 * each is taken from the environment when set there, else from the configuration.
 */
export interface VaultSettings {
  /** vault_identity (ANSIBLE_VAULT_IDENTITY): the id of a password given without one, and of a 1.1 text. Default 'default'. */
  identity?: string;
  /** vault_identity_list (ANSIBLE_VAULT_IDENTITY_LIST): [LABEL@]SOURCE entries, read before --vault-id. */
  identityList?: string[];
  /** vault_password_file (ANSIBLE_VAULT_PASSWORD_FILE): read after --vault-password-file. */
  passwordFile?: string;
  /** vault_id_match (ANSIBLE_VAULT_ID_MATCH): a text is tried only with the passwords of its own vault id. */
  idMatch?: boolean;
}

/**
 * The vault settings of an ansible.cfg's [defaults] section (its raw values: `raw.vault_identity`
 * …), as Ansible types them: quotes around a value removed, the list split at commas, the
 * password file's path taken from `configDir` (the file's folder) and ~ expanded, the match a
 * boolean of Ansible's words (yes, on, true, 1, y, t).
 */
export function vaultSettingsFromConfig(raw: Readonly<Record<string, string | undefined>>, configDir: string): VaultSettings {
  const settings: VaultSettings = {};
  const value = (key: string): string | undefined => (raw[key] === undefined ? undefined : unquote(raw[key].trim()));
  const identity = value('vault_identity');
  if (identity) settings.identity = identity;
  const list = value('vault_identity_list');
  if (list !== undefined) settings.identityList = listOf(list);
  const file = value('vault_password_file');
  if (file) settings.passwordFile = expandPath(file, configDir);
  const match = value('vault_id_match');
  if (match !== undefined) settings.idMatch = ansibleBoolean(match);
  return settings;
}

/** The settings in force: each ANSIBLE_VAULT_* variable set in `env` over the configuration's value. */
export function effectiveVaultSettings(config: VaultSettings, env: Readonly<Record<string, string | undefined>>): VaultSettings {
  const out: VaultSettings = { ...config };
  if (env.ANSIBLE_VAULT_IDENTITY) out.identity = env.ANSIBLE_VAULT_IDENTITY.trim();
  if (env.ANSIBLE_VAULT_IDENTITY_LIST !== undefined) out.identityList = listOf(env.ANSIBLE_VAULT_IDENTITY_LIST);
  if (env.ANSIBLE_VAULT_PASSWORD_FILE) out.passwordFile = env.ANSIBLE_VAULT_PASSWORD_FILE;
  if (env.ANSIBLE_VAULT_ID_MATCH !== undefined) out.idMatch = ansibleBoolean(env.ANSIBLE_VAULT_ID_MATCH);
  return out;
}

/** Ansible's boolean() of a setting: its true words, anything else false. */
function ansibleBoolean(text: string): boolean {
  return ['y', 'yes', 'on', '1', 'true', 't', '1.0'].includes(text.trim().toLowerCase());
}

/** Ansible's unquote(): one pair of matching quotes around a value goes. */
function unquote(text: string): string {
  return text.length >= 2 && (text[0] === '"' || text[0] === "'") && text.endsWith(text[0]) ? text.slice(1, -1) : text;
}

/**
 * The passwords of every source given, or an empty keyring when none is. `config`: the vault
 * settings of ansible.cfg (vaultSettingsFromConfig); the environment's are applied over them.
 */
export async function readVaultSecrets(opts: VaultSourceOptions, io: SecretIO, config: VaultSettings = {}): Promise<VaultKeyring> {
  const settings = effectiveVaultSettings(config, io.env);
  const identity = settings.identity ?? DEFAULT_VAULT_ID;
  const slugs = [...(settings.identityList ?? []), ...(opts.vaultId ?? [])];
  const files = [...(opts.vaultPasswordFile ?? []), ...(settings.passwordFile ? [settings.passwordFile] : [])];
  for (const file of files) slugs.push(`${identity}@${file}`);
  if (opts.askVaultPass) slugs.push(`${identity}@prompt_ask_vault_pass`);
  const matching = { identity, idMatch: settings.idMatch ?? false };
  const secrets: VaultSecret[] = [];
  let failed: VaultPasswordError | undefined;
  for (const slug of slugs) {
    const { label, source } = splitVaultId(slug);
    const id = label ?? identity;
    if (PROMPTS.includes(source)) {
      secrets.push({ id, password: await askPassword(source === 'prompt' ? `Vault password (${id}): ` : 'Vault password: ', id, io) });
      continue;
    }
    try {
      secrets.push({ id, password: await readPasswordSource(source, label, new VaultKeyring(secrets, matching), io) });
    } catch (e) {
      if (!(e instanceof VaultPasswordError)) throw e;
      // As Ansible: a source that fails is a warning while another one gives a password.
      io.warn(`vault id '${id}': ${e.message}`);
      failed = e;
    }
  }
  if (failed && secrets.length === 0) throw failed;
  return new VaultKeyring(secrets, matching);
}

/** `LABEL@SOURCE` or `SOURCE`; the label ends at the first @. */
export function splitVaultId(slug: string): { label?: string; source: string } {
  const at = slug.indexOf('@');
  return at < 0 ? { source: slug } : { label: slug.slice(0, at), source: slug.slice(at + 1) };
}

/** Ansible's list settings: comma-separated, blanks around items dropped. */
function listOf(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

async function askPassword(question: string, id: string, io: SecretIO): Promise<Buffer> {
  const answer = await io.prompt(question);
  if (answer === undefined) throw new VaultPasswordError(`no vault password was typed for vault id '${id}' (end of input)`);
  const password = Buffer.from(answer.trim(), 'utf8');
  if (password.length === 0) throw new VaultPasswordError(`the vault password typed for vault id '${id}' is empty`);
  return password;
}

function expandPath(path: string, cwd: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return resolve(homedir(), path.slice(2));
  return resolve(cwd, path);
}

/** A password file's content, or an executable's output: the password as bytes. */
async function readPasswordSource(source: string, label: string | undefined, known: VaultKeyring, io: SecretIO): Promise<Buffer> {
  const path = expandPath(source, io.cwd);
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    throw new VaultPasswordError(`the vault password file ${path} was not found`);
  }
  // Any execute bit makes it a script, as Ansible's loader.is_executable decides.
  if (st.isFile() && (st.mode & 0o111) !== 0) return runPasswordScript(path, label, io);
  let content: Buffer;
  try {
    content = readFileSync(path);
  } catch (e) {
    throw new VaultPasswordError(`cannot read the vault password file ${path}: ${(e as Error).message}`);
  }
  let password = trim(content, WHITESPACE);
  // A password file may itself be vault-encrypted, with a password given before it.
  if (isVaultText(password.toString('latin1'))) {
    const opened = known.open(password.toString('utf8'), `the vault password file ${path}`);
    if (!opened.ok) throw new VaultPasswordError(opened.problem);
    password = opened.plaintext;
  }
  password = trim(password, NEWLINES);
  if (password.length === 0) throw new VaultPasswordError(`the vault password file ${path} is empty`);
  return password;
}

/** A `NAME-client` script (any extension) is asked for one vault id: `NAME-client --vault-id LABEL`. */
function isClientScript(path: string): boolean {
  return basename(path, extname(path)).endsWith('-client');
}

/** Exit status 2 of a client script: it has no password for that vault id. */
const CLIENT_UNKNOWN_ID = 2;

function runPasswordScript(path: string, label: string | undefined, io: SecretIO): Promise<Buffer> {
  const client = isClientScript(path);
  const args = client && label ? ['--vault-id', label] : [];
  const what = client ? 'vault password client script' : 'vault password script';
  return new Promise((resolvePassword, reject) => {
    // Its stderr stays the terminal's (it may ask something there), except a client's: Ansible
    // quotes that in errors. Its stdin is closed: it cannot read ours.
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', client ? 'pipe' : 'inherit'], env: { ...io.env }, cwd: io.cwd });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (e) => reject(new VaultPasswordError(`cannot run the ${what} ${path}: ${e.message} (if it is no script, remove its execute bit)`)));
    child.on('close', (code, signal) => {
      const stderr = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-3).join(' | ');
      const tail = stderr ? `: ${stderr}` : '';
      if (client && code === CLIENT_UNKNOWN_ID) {
        reject(new VaultPasswordError(`the ${what} ${path} has no password for vault id '${label ?? DEFAULT_VAULT_ID}'${tail}`));
      } else if (code !== 0) {
        reject(new VaultPasswordError(`the ${what} ${path} ${code === null ? `was killed by ${signal}` : `exited ${code}`}${tail}`));
      } else {
        const password = trim(Buffer.concat(out), NEWLINES);
        if (password.length === 0) reject(new VaultPasswordError(`the ${what} ${path} printed no password`));
        else resolvePassword(password);
      }
    });
  });
}

/** Python's bytes.strip() and bytes.strip(b'\r\n'): Ansible trims files and script output so. */
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]);
const NEWLINES = new Set([0x0a, 0x0d]);

function trim(bytes: Buffer, drop: Set<number>): Buffer {
  let start = 0;
  let end = bytes.length;
  while (start < end && drop.has(bytes[start])) start++;
  while (end > start && drop.has(bytes[end - 1])) end--;
  return bytes.subarray(start, end);
}
