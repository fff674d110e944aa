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

/** ssh2's own default list (ssh-dss left out, as OpenSSH does). */
const HOST_KEY_ALGORITHMS: readonly ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/** The host key algorithms to ask a server for: those already known for it first. */
export function hostKeyAlgorithms(entries: readonly KnownHostEntry[], hostName: string): ServerHostKeyAlgorithm[] {
  return orderHostKeyAlgorithms(knownKeyTypes(entries, hostName), HOST_KEY_ALGORITHMS).filter(
    (a): a is ServerHostKeyAlgorithm => (HOST_KEY_ALGORITHMS as readonly string[]).includes(a),
  );
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
