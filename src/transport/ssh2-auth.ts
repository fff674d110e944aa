// Who a hop authenticates as and with what, and what a failed connection attempt is called.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, ClientErrorExtensions, KeyboardInteractiveAuthMethod } from 'ssh2';
import { errorMessage } from '../errors.js';
import type { Secret } from '../model/secret.js';
import { hopLabel, type Hop } from './hop.js';

const { utils } = ssh2;
const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

export type Ssh2Error = Error & ClientErrorExtensions & { code?: string };

export interface AuthCandidate {
  label: string;
  method: AnyAuthMethod;
}

/** The SSH method name a candidate uses (what a server lists in its methods that can continue). */
export function methodName(c: AuthCandidate): string {
  return c.method.type === 'agent' ? 'publickey' : c.method.type;
}

/**
 * What to offer a hop, in OpenSSH's order: its IdentityFiles, then ssh-agent (unless
 * IdentitiesOnly), then ~/.ssh/id_* when no IdentityFile was given; with a password,
 * keyboard-interactive, then password. Keys that cannot be used leave a note for the failure
 * message; an encrypted key is opened with the password when there is one (--ask-pass).
 */
export function authCandidates(hop: Hop, homeDir: string, agent: string | undefined, notes: string[]): AuthCandidate[] {
  const candidates: AuthCandidate[] = [];
  const seen = new Set<string>();
  const addKey = (file: string, explicit: boolean): void => {
    if (seen.has(file)) return;
    seen.add(file);
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch (err) {
      if (explicit) notes.push(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : errorMessage(err)}`);
      return;
    }
    const open = tooOpen(file);
    if (open) {
      notes.push(open);
      return;
    }
    const passphrase = hop.password?.reveal();
    let parsed = utils.parseKey(data);
    if (parsed instanceof Error && passphrase !== undefined && /encrypted|passphrase/i.test(parsed.message)) parsed = utils.parseKey(data, passphrase);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (key instanceof Error || !key.isPrivateKey()) {
      const hint = passphrase === undefined ? 'use ssh-agent or --ask-pass for passphrase-protected keys' : 'the password given does not open it';
      notes.push(`${file}: ${key instanceof Error ? key.message : 'not a private key'} (${hint})`);
      return;
    }
    candidates.push({ label: `publickey ${file}`, method: { type: 'publickey', username: hop.user, key } });
  };
  for (const file of hop.identityFiles) addKey(file, true);
  if (agent !== undefined) {
    candidates.push({ label: 'ssh-agent', method: { type: 'agent', username: hop.user, agent } });
  }
  if (hop.useDefaultKeys) {
    for (const name of DEFAULT_IDENTITIES) addKey(join(homeDir, '.ssh', name), false);
  }
  if (hop.password !== undefined) {
    const password = hop.password;
    candidates.push({ label: 'keyboard-interactive', method: { type: 'keyboard-interactive', username: hop.user, prompt: answerWith(password) } });
    candidates.push({ label: 'password', method: { type: 'password', username: hop.user, password: password.reveal() } });
  }
  return candidates;
}

/**
 * OpenSSH's sshkey_perm_ok: a private key of one's own that group or others may read is
 * refused ("UNPROTECTED PRIVATE KEY FILE!"): someone else may have copied it.
 */
export function tooOpen(file: string): string | undefined {
  const st = statSync(file);
  if (typeof process.getuid !== 'function' || st.uid !== process.getuid() || (st.mode & 0o077) === 0) return undefined;
  return `${file}: permissions ${(st.mode & 0o777).toString(8).padStart(4, '0')} are too open: a private key must not be accessible by group or others (chmod 600 ${file}), as ssh requires`;
}

/**
 * keyboard-interactive as OpenSSH meets a PAM password prompt: the hidden prompts of the first
 * round that has any get the password; a later round (the password was not taken) gets
 * nothing, so the server ends the attempt instead of asking on.
 */
function answerWith(password: Secret): KeyboardInteractiveAuthMethod['prompt'] {
  let answered = false;
  return (_name, _instructions, _lang, prompts, finish) => {
    if (prompts.length === 0 || answered) {
      finish(prompts.map(() => ''));
      return;
    }
    answered = prompts.some((p) => !p.echo);
    finish(prompts.map((p) => (p.echo ? '' : password.reveal())));
  };
}

/** The ssh-agent socket a hop may use. */
export function agentSocket(env: Record<string, string | undefined>, hop: Hop): string | undefined {
  const sock = env.SSH_AUTH_SOCK;
  return sock && !hop.identitiesOnly ? sock : undefined;
}

export function describeConnectError(
  err: Ssh2Error,
  hop: Hop,
  handshakeDone: boolean,
  candidates: AuthCandidate[],
  notes: string[],
  agentConfigured: boolean,
  homeDir: string,
  offered?: readonly string[],
): string {
  const where = `${hop.host}:${hop.port}`;
  switch (err.code) {
    case 'ECONNREFUSED':
      return `connection refused by ${where}`;
    case 'ETIMEDOUT':
      return `TCP connection to ${where} timed out`;
    case 'EHOSTUNREACH':
      return `no route to host ${where}`;
    case 'ENETUNREACH':
      return `network unreachable for ${where}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve host name ${hop.host}`;
    case 'ECONNRESET':
      return `connection reset by ${where}`;
  }
  if (err.message === 'Connection lost before handshake') return `${where} closed the connection before the SSH handshake`;
  if (err.level === 'client-timeout') return `timed out waiting for the SSH handshake with ${where}`;
  if (err.level === 'client-authentication' || handshakeDone) {
    const tried = candidates.length > 0 ? `tried ${candidates.map((c) => c.label).join(', ')}` : noKeyText(agentConfigured, homeDir);
    const server = err.level === 'client-authentication' ? '' : `; server said: ${err.message}`;
    const extra = notes.length > 0 ? `; ${notes.join('; ')}` : '';
    const methods = offered && offered.length > 0 ? `; the server takes ${offered.join(', ')}` : '';
    return `authentication failed for ${hopLabel(hop)} (${tried})${server}${methods}${extra}`;
  }
  return `SSH connection to ${where} failed: ${err.message}`;
}

function noKeyText(agentConfigured: boolean, homeDir: string): string {
  return `no key to try: no identity file, no default key in ${join(homeDir, '.ssh')}${agentConfigured ? '' : ', SSH_AUTH_SOCK not set'}`;
}
