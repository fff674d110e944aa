// ~/.ssh/config exactly as OpenSSH reads it: each host is resolved by `ssh -G` — Match (exec,
// final, canonical…), CanonicalizeHostname, Include, tokens and the system-wide file, all
// OpenSSH's own answer. Where the ssh client is missing (or ~ is not the user's home, as in
// tests and labs), the built-in parser of ssh-config.ts stands in and warns about what it skips;
// where no config file sets anything multilink uses, it gives OpenSSH's defaults without a process.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { allowsSshRsa, expandIdentityFiles, parseProxyJump, resolveSshConfig, type SshHostConfig, type SshTarget } from './ssh-config.js';

/** The keys OpenSSH lists by itself when no IdentityFile is configured. */
const DEFAULT_KEYS = new Set(['id_rsa', 'id_dsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss']);
const SSH_G_TIMEOUT_MS = 10_000;

export interface OpenSshQuery extends SshTarget {
  host: string;
  port?: number;
  /** -F FILE; without it OpenSSH reads ~/.ssh/config and the system-wide file. */
  configFile?: string;
}

/** The command line: values the inventory fixes go on it, so they win and Match user sees them. */
export function sshGArgs(q: OpenSshQuery): string[] {
  const args = ['-G'];
  if (q.configFile !== undefined) args.push('-F', existsSync(q.configFile) ? q.configFile : '/dev/null');
  if (q.user !== undefined) args.push('-l', q.user);
  if (q.port !== undefined) args.push('-p', String(q.port));
  return [...args, '--', q.host];
}

/** `ssh -G` output (lower-case keyword, value) → what multilink takes from it. */
export function parseSshG(output: string, q: OpenSshQuery, ctx: { homeDir: string; localUser: string }): SshHostConfig {
  const one = new Map<string, string>();
  const identityFiles: string[] = [];
  for (const line of output.split('\n')) {
    const m = /^(\S+) (.*)$/.exec(line.trimEnd());
    if (!m) continue;
    const [, key, value] = m;
    if (key === 'identityfile') identityFiles.push(value);
    else if (!one.has(key)) one.set(key, value);
  }
  const hostName = one.get('hostname') ?? q.host;
  const port = Number(one.get('port') ?? 22);
  const user = one.get('user') ?? ctx.localUser;
  const defaults = identityFiles.length > 0 && identityFiles.every((f) => f.startsWith('~/.ssh/') && DEFAULT_KEYS.has(basename(f)));
  const values = { host: q.host, hostName, homeDir: ctx.homeDir, localUser: ctx.localUser, user, port };
  const resolved: SshHostConfig = { hostName, port, user, identityFiles: defaults ? [] : expandIdentityFiles(identityFiles, values, `ssh -G ${q.host}`) };
  if (one.get('identitiesonly') === 'yes') resolved.identitiesOnly = true;
  const algorithms = one.get('hostkeyalgorithms');
  if (algorithms !== undefined && allowsSshRsa(algorithms)) resolved.rsaSha1HostKeys = true;
  const jump = one.get('proxyjump');
  if (jump !== undefined) {
    const hops = parseProxyJump(jump);
    if (hops) resolved.proxyJump = hops;
  }
  const command = one.get('proxycommand');
  if (command !== undefined && command.toLowerCase() !== 'none') {
    resolved.warnings = [`ssh config for ${q.host}: ProxyCommand is not supported (use ProxyJump); connecting without it`];
  }
  return resolved;
}

export function resolveWithOpenSsh(q: OpenSshQuery, ctx: { homeDir: string; localUser: string }): Promise<SshHostConfig> {
  return new Promise((resolve, reject) => {
    const child = execFile('ssh', sshGArgs(q), { timeout: SSH_G_TIMEOUT_MS, killSignal: 'SIGKILL', encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) {
        const said = stderr.split('\n').filter((l) => l.trim() && !l.startsWith('Pseudo-terminal')).join('; ');
        reject(new Error(`ssh -G ${q.host}: ${said || (error.killed ? `no answer within ${SSH_G_TIMEOUT_MS / 1000} s` : error.message)}`));
        return;
      }
      try {
        resolve(parseSshG(stdout, q, ctx));
      } catch (e) {
        reject(e as Error);
      }
    });
    child.stdin?.end();
  });
}

/** Keywords whose value multilink uses, or that can change it. */
const RELEVANT = /^\s*(hostname|port|user|identityfile|identitiesonly|hostkeyalgorithms|proxyjump|proxycommand|match|canonicalizehostname|canonicaldomains)\b/im;
const SYSTEM_CONFIGS = ['/etc/ssh/ssh_config', '/etc/ssh/ssh_config.d'];

/**
 * Whether ssh config can change a connection: a user config file exists, or the system-wide
 * files (ssh_config and its ssh_config.d folder) set something multilink takes. When not,
 * OpenSSH's answer is its defaults, which the built-in parser gives without a process per host.
 */
export function sshConfigMatters(userConfig: string, systemPaths: readonly string[] = SYSTEM_CONFIGS): boolean {
  if (existsSync(userConfig)) return true;
  for (const path of systemPaths) {
    let files: string[];
    try {
      files = statSync(path).isDirectory() ? readdirSync(path).map((f) => join(path, f)) : [path];
    } catch {
      continue;
    }
    for (const file of files) {
      try {
        if (RELEVANT.test(readFileSync(file, 'utf8'))) return true;
      } catch {
        // unreadable for us: unreadable for ssh too
      }
    }
  }
  return false;
}

let sshClient: boolean | undefined;

function openSshInstalled(): boolean {
  sshClient ??= spawnSync('ssh', ['-V'], { stdio: 'ignore' }).status === 0;
  return sshClient;
}

export interface SshConfigSourceOptions {
  homeDir: string;
  localUser: string;
  /** The config file to read (default HOME/.ssh/config). */
  configFile: string;
  /** Whether configFile was chosen explicitly (then ssh -G reads only it, with -F). */
  configFileGiven: boolean;
  /**
   * auto: OpenSSH when its client is installed, HOME is the user's home and some config file
   * (the user's, or the system-wide one) sets anything multilink uses; else the built-in parser.
   */
  mode?: 'auto' | 'openssh' | 'builtin';
  /** Where warnings go (each said once). Default: stderr. */
  warn?: (message: string) => void;
}

/** Resolves hosts through ssh config, once per host, user and port for the life of a transport. */
export class SshConfigSource {
  private readonly cache = new Map<string, Promise<SshHostConfig>>();
  private readonly said = new Set<string>();
  readonly openssh: boolean;

  constructor(private readonly o: SshConfigSourceOptions) {
    const mode = o.mode ?? 'auto';
    const matters = o.configFileGiven ? existsSync(o.configFile) : sshConfigMatters(o.configFile);
    this.openssh = mode === 'openssh' || (mode === 'auto' && o.homeDir === homedir() && matters && openSshInstalled());
  }

  async resolve(host: string, target: SshTarget & { port?: number } = {}): Promise<SshHostConfig> {
    const key = JSON.stringify([host, target.user, target.port]);
    let pending = this.cache.get(key);
    if (!pending) {
      const ctx = { homeDir: this.o.homeDir, localUser: this.o.localUser };
      pending = this.openssh
        ? resolveWithOpenSsh({ host, ...target, ...(this.o.configFileGiven ? { configFile: this.o.configFile } : {}) }, ctx)
        : Promise.resolve().then(() => resolveSshConfig(host, this.o.configFile, ctx, target));
      this.cache.set(key, pending);
      pending.catch(() => this.cache.delete(key));
    }
    const resolved = await pending;
    for (const w of resolved.warnings ?? []) this.warn(w);
    return resolved;
  }

  private warn(message: string): void {
    if (this.said.has(message)) return;
    this.said.add(message);
    (this.o.warn ?? ((m: string) => process.stderr.write(`warning: ${m}\n`)))(message);
  }
}
