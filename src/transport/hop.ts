// One SSH connection on the way to a target (a jump host or the target itself), how it is
// named in messages, and how a failed attempt at it is told apart from one worth retrying.
import type { Client as Ssh2Client, ClientChannel } from 'ssh2';
import { errorMessage } from '../errors.js';
import type { Secret } from '../model/secret.js';

/** One SSH connection on the way to a target: the jump hosts first, the target last. */
export interface Hop {
  /** Address to connect to (HostName after ssh config). */
  host: string;
  port: number;
  user: string;
  /** Key files to try before ssh-agent, in order. */
  identityFiles: string[];
  /** OpenSSH tries ~/.ssh/id_* only when no IdentityFile was given. */
  useDefaultKeys: boolean;
  /** IdentitiesOnly yes: no ssh-agent. */
  identitiesOnly: boolean;
  /** ssh config lets ssh-rsa (SHA-1) host key signatures in: an old router's only kind. */
  rsaSha1HostKeys?: boolean;
  /** The target's ansible_password (or --ask-pass): password and keyboard-interactive logins, key passphrases. */
  password?: Secret;
}


/** One attempt at one hop failed; `retryable`: reset or closed before authentication. */
export class HopFailure extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** Where a connect stands, for the message when its timeout fires. */
export interface ConnectProgress {
  hop: Hop;
  attempts: number;
  lastCause?: string;
}

export function hopLabel(hop: Hop): string {
  return `${hop.user}@${hop.host}:${hop.port}`;
}

export function timeoutMessage(timeoutMs: number, progress: ConnectProgress, hops: Hop[]): string {
  const base = `timed out after ${timeoutMs} ms connecting to ${hopLabel(progress.hop)}${viaText(hops, progress.hop)}`;
  if (progress.lastCause === undefined) return base;
  return `${base} on attempt ${progress.attempts}; the earlier ones were reset or closed before authentication, the last: ${progress.lastCause}`;
}

export function viaText(hops: Hop[], hop: Hop): string {
  const index = hops.indexOf(hop);
  if (index <= 0) return '';
  return ` (via ${hops.slice(0, index).map(hopLabel).join(' -> ')})`;
}

export function forwardOut(client: Ssh2Client, from: Hop, to: Hop): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    try {
      client.forwardOut('127.0.0.1', 0, to.host, to.port, (err, channel) => {
        if (err) {
          reject(new HopFailure(`jump host ${hopLabel(from)} could not connect to ${to.host}:${to.port}: ${err.message}`, false));
          return;
        }
        channel.on('error', () => undefined); // the next hop's Client reports socket errors itself
        resolve(channel);
      });
    } catch (err) {
      reject(new HopFailure(`jump host ${hopLabel(from)} is not connected: ${errorMessage(err)}`, false));
    }
  });
}
