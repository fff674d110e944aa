// The slice of ~/.ssh/config multilink honours (HostName, Port, User, IdentityFile,
// IdentitiesOnly, ProxyJump), resolved for one host with OpenSSH's rules: `Host` patterns,
// `Match` on host, originalhost, user and localuser, first obtained value wins, IdentityFile
// accumulates, Include is read in place. The fallback where OpenSSH's own `ssh -G` is not
// available: a Match it cannot evaluate (exec, canonical, final…) is skipped with a warning.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { matchPattern, matchPatternList } from './pattern.js';

export interface JumpHost {
  user?: string;
  host: string;
  port?: number;
}

export interface SshHostConfig {
  hostName?: string;
  port?: number;
  user?: string;
  /** Expanded paths, in the order they were obtained. */
  identityFiles: string[];
  identitiesOnly?: boolean;
  /**
   * HostKeyAlgorithms lets ssh-rsa in (`HostKeyAlgorithms +ssh-rsa`, the way back OpenSSH 8.8+
   * gives for old routers): RSA host keys may sign with SHA-1.
   */
  rsaSha1HostKeys?: boolean;
  /** Hops in order; undefined when not set or `none`. */
  proxyJump?: JumpHost[];
  /** What could not be honoured (a Match that was not evaluated, a ProxyCommand), file:line first. */
  warnings?: string[];
}

/** What the connection already fixes, as OpenSSH's command line would: it wins and Match user sees it. */
export interface SshTarget {
  user?: string;
}

export interface SshConfigContext {
  homeDir: string;
  /** Local user name, for %u. */
  localUser: string;
  /** Returns a file's text, or undefined when it does not exist. */
  readFile?: (path: string) => string | undefined;
  /** Lists a folder's entries (names), or [] when it does not exist. */
  listDir?: (path: string) => string[];
}

export interface SshConfigLine {
  keyword: string;
  args: string[];
  line: number;
}

const MAX_INCLUDE_DEPTH = 16;

/** Splits config text into keyword + arguments (`Key value`, `Key=value`, double quotes, # comments). */
export function parseSshConfigText(text: string): SshConfigLine[] {
  const lines: SshConfigLine[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const tokens = tokenize(raw);
    if (tokens.length === 0) return;
    let keyword = tokens[0];
    let args = tokens.slice(1);
    const eq = keyword.indexOf('=');
    if (eq >= 0) {
      const rest = keyword.slice(eq + 1);
      keyword = keyword.slice(0, eq);
      args = rest === '' ? args : [rest, ...args];
    } else if (args[0] === '=') {
      args = args.slice(1);
    } else if (args[0]?.startsWith('=')) {
      args = [args[0].slice(1), ...args.slice(1)];
    }
    if (keyword === '') return;
    lines.push({ keyword: keyword.toLowerCase(), args, line: index + 1 });
  });
  return lines;
}

function tokenize(line: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i])) i++;
    if (i >= line.length || line[i] === '#') break;
    let token = '';
    while (i < line.length && !/\s/.test(line[i])) {
      if (line[i] === '"') {
        const end = line.indexOf('"', i + 1);
        const stop = end < 0 ? line.length : end;
        token += line.slice(i + 1, stop);
        i = stop + 1;
      } else {
        token += line[i++];
      }
    }
    tokens.push(token);
  }
  return tokens;
}

/** `[user@]host[:port]`, `[user@][v6addr]:port` or `ssh://[user@]host[:port]`, comma separated. */
export function parseProxyJump(value: string): JumpHost[] | undefined {
  if (value.toLowerCase() === 'none') return undefined;
  return value.split(',').map((hop) => parseJumpHost(hop.trim()));
}

export function parseJumpHost(spec: string): JumpHost {
  let rest = spec.startsWith('ssh://') ? spec.slice('ssh://'.length).replace(/\/$/, '') : spec;
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  let host = rest;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(rest);
  if (bracketed) {
    host = bracketed[1];
    portText = bracketed[2];
  } else if (rest.split(':').length === 2) {
    [host, portText] = rest.split(':');
  }
  if (host === '' || user === '') throw new Error(`invalid ProxyJump host "${spec}"`);
  const jump: JumpHost = { host };
  if (user !== undefined) jump.user = user;
  if (portText !== undefined) jump.port = parsePort(portText, `ProxyJump host "${spec}"`);
  return jump;
}

function parsePort(text: string, what: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new Error(`invalid port "${text}" in ${what}`);
  }
  return Number(text);
}

export function expandTilde(path: string, homeDir: string): string {
  if (path === '~') return homeDir;
  if (path.startsWith('~/')) return join(homeDir, path.slice(2));
  return path;
}

function expandTokens(value: string, tokens: Record<string, string>, where: string): string {
  return value.replace(/%(.)/g, (whole, letter: string) => {
    const replacement = letter === '%' ? '%' : tokens[letter];
    if (replacement === undefined) throw new Error(`${where}: unsupported token %${letter}`);
    return replacement;
  });
}

export interface TokenValues {
  /** The host as given (%n). */
  host: string;
  /** After HostName (%h). */
  hostName: string;
  homeDir: string;
  localUser: string;
  /** The remote user (%r). */
  user: string;
  port: number;
}

/** IdentityFile paths with OpenSSH's %-tokens and ~ expanded. */
export function expandIdentityFiles(files: string[], v: TokenValues, where: string): string[] {
  const tokens: Record<string, string> = { h: v.hostName, n: v.host, d: v.homeDir, u: v.localUser, r: v.user, p: String(v.port) };
  return files.map((f) => expandTilde(expandTokens(f, tokens, where), v.homeDir));
}

function defaultReadFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function defaultListDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

interface Collected {
  hostName?: string;
  port?: number;
  user?: string;
  identityFiles: string[];
  identitiesOnly?: boolean;
  hostKeyAlgorithms?: string;
  proxyJump?: string;
}

/**
 * Resolves `host` (as given: ansible_host or the inventory name) through the config file at
 * `file`. A missing file resolves to nothing. Errors name file:line.
 */
export function resolveSshConfig(host: string, file: string, ctx: SshConfigContext, target: SshTarget = {}): SshHostConfig {
  const readFile = ctx.readFile ?? defaultReadFile;
  const listDir = ctx.listDir ?? defaultListDir;
  const got: Collected = { identityFiles: [] };
  const warnings: string[] = [];
  const matchContext = (): MatchContext => ({
    host: got.hostName ?? host,
    originalHost: host,
    user: target.user ?? got.user ?? ctx.localUser,
    localUser: ctx.localUser,
  });

  const walk = (path: string, initiallyActive: boolean, neverMatch: boolean, depth: number): void => {
    const text = readFile(path);
    if (text === undefined) return;
    let active = initiallyActive;
    for (const { keyword, args, line } of parseSshConfigText(text)) {
      const where = `${path}:${line}`;
      const arg = args[0];
      switch (keyword) {
        case 'host':
          active = !neverMatch && matchPatternList(args, host);
          continue;
        case 'match':
          active = !neverMatch && evaluateMatch(args, matchContext(), where, warnings);
          continue;
        case 'include':
          if (depth >= MAX_INCLUDE_DEPTH) throw new Error(`${where}: Include nested too deeply`);
          for (const pattern of args) {
            for (const included of expandInclude(pattern, ctx.homeDir, listDir)) {
              walk(included, active, neverMatch || !active, depth + 1);
            }
          }
          continue;
      }
      if (!active) continue;
      if (arg === undefined) throw new Error(`${where}: ${keyword} needs a value`);
      switch (keyword) {
        case 'hostname':
          got.hostName ??= expandTokens(arg, { h: host }, where);
          break;
        case 'port':
          got.port ??= parsePort(arg, where);
          break;
        case 'user':
          got.user ??= arg;
          break;
        case 'identityfile':
          if (arg.toLowerCase() !== 'none') got.identityFiles.push(arg);
          break;
        case 'identitiesonly':
          got.identitiesOnly ??= arg.toLowerCase() === 'yes';
          break;
        case 'proxyjump':
          got.proxyJump ??= arg;
          break;
        case 'hostkeyalgorithms':
          got.hostKeyAlgorithms ??= arg;
          break;
        case 'proxycommand':
          if (arg.toLowerCase() !== 'none') warnings.push(`${where}: ProxyCommand is not supported (use ProxyJump); connecting without it`);
          break;
        default:
          break; // every other keyword is OpenSSH's business, not ours
      }
    }
  };
  walk(file, true, false, 0);

  const values: TokenValues = {
    host,
    hostName: got.hostName ?? host,
    homeDir: ctx.homeDir,
    localUser: ctx.localUser,
    user: target.user ?? got.user ?? ctx.localUser,
    port: got.port ?? 22,
  };
  const resolved: SshHostConfig = { identityFiles: expandIdentityFiles(got.identityFiles, values, file) };
  if (got.hostName !== undefined) resolved.hostName = got.hostName;
  if (got.port !== undefined) resolved.port = got.port;
  if (got.user !== undefined) resolved.user = got.user;
  if (got.identitiesOnly !== undefined) resolved.identitiesOnly = got.identitiesOnly;
  if (got.hostKeyAlgorithms !== undefined && allowsSshRsa(got.hostKeyAlgorithms)) resolved.rsaSha1HostKeys = true;
  if (got.proxyJump !== undefined) {
    const hops = parseProxyJump(got.proxyJump);
    if (hops) resolved.proxyJump = hops;
  }
  if (warnings.length > 0) resolved.warnings = warnings;
  return resolved;
}

interface MatchContext {
  /** The target host after HostName so far (what `Match host` compares). */
  host: string;
  originalHost: string;
  user: string;
  localUser: string;
}

/** Criteria that need OpenSSH itself: a command to run, DNS canonicalisation, a final pass. */
const WITHOUT_ARGUMENT = new Set(['all', 'canonical', 'final']);

/**
 * A Match line's criteria, all of which must hold; `!` negates one. When the ones that can be
 * evaluated hold but another cannot be (exec, canonical, final…), the block is skipped, said loudly.
 */
function evaluateMatch(args: string[], c: MatchContext, where: string, warnings: string[]): boolean {
  const values: Record<string, string> = { host: c.host, originalhost: c.originalHost, user: c.user, localuser: c.localUser };
  const unevaluated: string[] = [];
  let result = true;
  for (let i = 0; i < args.length; i++) {
    const negated = args[i].startsWith('!');
    const criterion = (negated ? args[i].slice(1) : args[i]).toLowerCase();
    if (criterion === 'all') continue;
    const argument = WITHOUT_ARGUMENT.has(criterion) ? undefined : args[++i];
    if (!WITHOUT_ARGUMENT.has(criterion) && argument === undefined) throw new Error(`${where}: Match ${criterion} needs an argument`);
    const value = values[criterion];
    if (value === undefined || argument === undefined) unevaluated.push(criterion);
    else if (matchPatternList(argument.split(','), value) === negated) result = false;
  }
  if (result && unevaluated.length > 0) {
    warnings.push(`${where}: Match ${unevaluated.join(', ')} cannot be evaluated without OpenSSH's ssh client: the block is skipped`);
    return false;
  }
  return result;
}

/** Include paths are relative to ~/.ssh; `*` and `?` are allowed in the last component. */
function expandInclude(pattern: string, homeDir: string, listDir: (path: string) => string[]): string[] {
  const expanded = expandTilde(pattern, homeDir);
  const path = isAbsolute(expanded) ? expanded : join(homeDir, '.ssh', expanded);
  const name = basename(path);
  if (!/[*?]/.test(name)) return [path];
  const dir = dirname(path);
  return listDir(dir)
    .filter((entry) => !entry.startsWith('.') && matchPattern(name, entry))
    .sort()
    .map((entry) => join(dir, entry));
}

/**
 * A HostKeyAlgorithms value (`ssh -G` prints the list in force; a config may write +, - or ^
 * before it) that names ssh-rsa itself, not only rsa-sha2-*: SHA-1 signatures allowed.
 */
export function allowsSshRsa(value: string): boolean {
  if (value.startsWith('-')) return false;
  return value.replace(/^[+^]/, '').split(',').some((a) => a.trim().toLowerCase() === 'ssh-rsa');
}
