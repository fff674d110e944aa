// Host key checking as OpenSSH does it: the algorithms asked for (the types already known
// for the host first), the verdict against known_hosts, accept-new, and the refusal's words.
import type { ServerHostKeyAlgorithm } from 'ssh2';
import {
  appendKnownHost,
  checkHostKey,
  fingerprint,
  keyTypeOfBlob,
  knownKeyTypes,
  orderHostKeyAlgorithms,
  type HostKeyVerdict,
  type KnownHostEntry,
} from './known-hosts.js';

/**
 * ssh2's own default list without ssh-dss and ssh-rsa, as OpenSSH 8.8+ does: an RSA host key
 * signs with SHA-2 (rsa-sha2-*); SHA-1 (ssh-rsa) only where ssh config lets it in for the host
 * (`HostKeyAlgorithms +ssh-rsa`), for routers too old to sign otherwise.
 */
const HOST_KEY_ALGORITHMS: readonly ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
];

/** The host key algorithms to ask a server for: those already known for it first. */
export function hostKeyAlgorithms(entries: readonly KnownHostEntry[], hostName: string, rsaSha1 = false): ServerHostKeyAlgorithm[] {
  const offered: readonly ServerHostKeyAlgorithm[] = rsaSha1 ? [...HOST_KEY_ALGORITHMS, 'ssh-rsa'] : HOST_KEY_ALGORITHMS;
  return orderHostKeyAlgorithms(knownKeyTypes(entries, hostName), offered).filter((a): a is ServerHostKeyAlgorithm => (offered as readonly string[]).includes(a));
}

export async function verifyHostKey(
  entries: readonly KnownHostEntry[],
  file: string,
  hostName: string,
  key: Buffer,
  acceptNew: boolean,
): Promise<string | undefined> {
  let verdict: HostKeyVerdict = checkHostKey(entries, hostName, key);
  if (verdict.status === 'unknown' && acceptNew) {
    verdict = await appendKnownHost(file, hostName, key);
    if (verdict.status === 'unknown') return undefined; // recorded just now
  }
  return describeVerdict(verdict, file, hostName, key);
}

/** undefined when the key is accepted, otherwise the reason it is refused. */
export function describeVerdict(verdict: HostKeyVerdict, file: string, hostName: string, key: Buffer): string | undefined {
  const presented = `${keyTypeOfBlob(key) ?? 'unknown type'} ${fingerprint(key)}`;
  switch (verdict.status) {
    case 'known':
      return undefined;
    case 'unknown':
      return (
        `host key for ${hostName} is unknown (${presented}); verify it and re-run with ` +
        `--accept-new-host-keys, or add it to ${file}`
      );
    case 'changed':
      return (
        `host key for ${hostName} has CHANGED (now ${presented}): possible man-in-the-middle; ` +
        `remove the old entry from ${file} line ${verdict.entry.line} if the change is legitimate`
      );
    case 'revoked':
      return `host key for ${hostName} (${presented}) is REVOKED in ${file} line ${verdict.entry.line}`;
    case 'other-type':
      return (
        `host ${hostName} is known in ${file} with key type ${verdict.knownTypes.join(', ')} but presented ` +
        `${presented}; not recorded automatically: verify it and add it to ${file}`
      );
  }
}
