// Who a hop authenticates as and with what, and what a failed connection attempt is called.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, ClientErrorExtensions } from 'ssh2';
import { errorMessage } from '../errors.js';
import { hopLabel, type Hop } from './hop.js';

const { utils } = ssh2;
const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

export type Ssh2Error = Error & ClientErrorExtensions & { code?: string };

export interface AuthCandidate {
  label: string;
  method: AnyAuthMethod;
}

/**
 * What to offer a hop, in OpenSSH's order: its IdentityFiles, then ssh-agent (unless
 * IdentitiesOnly), then ~/.ssh/id_* when no IdentityFile was given. Keys that cannot be
 * used leave a note for the failure message.
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
    const parsed = utils.parseKey(data);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (key instanceof Error || !key.isPrivateKey()) {
      notes.push(`${file}: ${key instanceof Error ? key.message : 'not a private key'} (use ssh-agent for passphrase-protected keys)`);
      return;
    }
    candidates.push({ label: `publickey ${file}`, method: { type: 'publickey', username: hop.user, key: data } });
  };
  for (const file of hop.identityFiles) addKey(file, true);
  if (agent !== undefined) {
    candidates.push({ label: 'ssh-agent', method: { type: 'agent', username: hop.user, agent } });
  }
  if (hop.useDefaultKeys) {
    for (const name of DEFAULT_IDENTITIES) addKey(join(homeDir, '.ssh', name), false);
  }
  return candidates;
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
    return `authentication failed for ${hopLabel(hop)} (${tried})${server}${extra}`;
  }
  return `SSH connection to ${where} failed: ${err.message}`;
}

function noKeyText(agentConfigured: boolean, homeDir: string): string {
  return `no key to try: no identity file, no default key in ${join(homeDir, '.ssh')}${agentConfigured ? '' : ', SSH_AUTH_SOCK not set'}`;
}
