// known_hosts as OpenSSH writes it: parsing, host matching (plain, patterns, hashed),
// the verdict on a presented host key, and appending newly accepted keys.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { matchPatternList } from './pattern.js';

export type KnownHostsHosts =
  | { kind: 'patterns'; patterns: string[] }
  /** `|1|salt|hmac`: HMAC-SHA1 keyed by salt over the host string. */
  | { kind: 'hashed'; salt: Buffer; hash: Buffer };

export interface KnownHostEntry {
  /** 1-based line number in the file, for messages. */
  line: number;
  revoked: boolean;
  hosts: KnownHostsHosts;
  /** Key type from the key blob, e.g. ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa. */
  keyType: string;
  /** The public key in SSH wire format (what the server presents). */
  key: Buffer;
}

export type HostKeyVerdict =
  | { status: 'known'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry }
  /** Host known with this key type, but a different key. */
  | { status: 'changed'; entry: KnownHostEntry }
  /** Host known, but only with other key types. */
  | { status: 'other-type'; knownTypes: string[] }
  | { status: 'unknown' };

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The host string OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Key type named inside an SSH wire-format public key blob, or undefined if malformed. */
export function keyTypeOfBlob(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) return undefined;
  const type = blob.subarray(4, 4 + len).toString('latin1');
  return /^[a-z0-9@.-]+$/.test(type) ? type : undefined;
}

/** OpenSSH's fingerprint format: `SHA256:` + unpadded base64 of the SHA-256 of the key blob. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function parseHosts(field: string): KnownHostsHosts | undefined {
  if (field.startsWith('|')) {
    const m = /^\|1\|([^|]+)\|([^|]+)$/.exec(field);
    if (!m || !BASE64.test(m[1]) || !BASE64.test(m[2])) return undefined;
    const salt = Buffer.from(m[1], 'base64');
    const hash = Buffer.from(m[2], 'base64');
    if (hash.length !== 20) return undefined;
    return { kind: 'hashed', salt, hash };
  }
  const patterns = field.split(',').filter((p) => p !== '');
  return patterns.length > 0 ? { kind: 'patterns', patterns } : undefined;
}

/** Parses known_hosts text. `@cert-authority`, comments, blank and malformed lines are skipped. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === '' || fields[0].startsWith('#')) return;
    let revoked = false;
    if (fields[0].startsWith('@')) {
      if (fields[0] === '@revoked') revoked = true;
      else return; // @cert-authority (certificates are not supported) or an unknown marker
      fields.shift();
    }
    if (fields.length < 3) return;
    const [hostField, typeField, keyField] = fields;
    const hosts = parseHosts(hostField);
    if (!hosts || !BASE64.test(keyField)) return;
    const key = Buffer.from(keyField, 'base64');
    const keyType = keyTypeOfBlob(key);
    if (keyType === undefined || keyType !== typeField) return;
    entries.push({ line: index + 1, revoked, hosts, keyType, key });
  });
  return entries;
}

export function entryMatchesHost(entry: KnownHostEntry, hostName: string): boolean {
  if (entry.hosts.kind === 'patterns') return matchPatternList(entry.hosts.patterns, hostName);
  const digest = createHmac('sha1', entry.hosts.salt).update(hostName).digest();
  return timingSafeEqual(digest, entry.hosts.hash);
}

/** Key types already recorded for this host, in file order (what the server should be asked for). */
export function knownKeyTypes(entries: readonly KnownHostEntry[], hostName: string): string[] {
  const types: string[] = [];
  for (const e of entries) {
    if (!e.revoked && !types.includes(e.keyType) && entryMatchesHost(e, hostName)) types.push(e.keyType);
  }
  return types;
}

/**
 * Host key algorithms to offer, known types first, as OpenSSH orders them, so a server with
 * several host keys presents the one we can check. `supported` is the client's full list.
 */
export function orderHostKeyAlgorithms(knownTypes: readonly string[], supported: readonly string[]): string[] {
  const preferred: string[] = [];
  for (const type of knownTypes) {
    const algos = type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
    for (const a of algos) if (supported.includes(a) && !preferred.includes(a)) preferred.push(a);
  }
  return [...preferred, ...supported.filter((a) => !preferred.includes(a))];
}

/** What OpenSSH would conclude about `key` presented by `hostName`. A revoked key always loses. */
export function checkHostKey(entries: readonly KnownHostEntry[], hostName: string, key: Buffer): HostKeyVerdict {
  const revoked = entries.find((e) => e.revoked && e.key.equals(key));
  if (revoked) return { status: 'revoked', entry: revoked };
  const forHost = entries.filter((e) => !e.revoked && entryMatchesHost(e, hostName));
  const exact = forHost.find((e) => e.key.equals(key));
  if (exact) return { status: 'known', entry: exact };
  const type = keyTypeOfBlob(key);
  const sameType = forHost.find((e) => e.keyType === type);
  if (sameType) return { status: 'changed', entry: sameType };
  if (forHost.length > 0) return { status: 'other-type', knownTypes: knownKeyTypes(forHost, hostName) };
  return { status: 'unknown' };
}

export function formatKnownHostsLine(hostName: string, key: Buffer): string {
  const type = keyTypeOfBlob(key);
  if (type === undefined) throw new Error('malformed host key blob');
  return `${hostName} ${type} ${key.toString('base64')}\n`;
}

/** Reads and parses a known_hosts file; a missing file is an empty one. */
export async function readKnownHosts(file: string): Promise<KnownHostEntry[]> {
  try {
    return parseKnownHosts(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

// Many hosts connect in parallel: appends to one file are serialised in this process so each
// can re-check for a duplicate, and each line is one O_APPEND write so other processes
// appending at the same time cannot interleave within a line.
const appendQueues = new Map<string, Promise<unknown>>();

/**
 * Records `key` for `hostName` if the host is still unknown when the file is re-read under the
 * lock, and returns that verdict: `unknown` means it was appended now; `known`, `changed`...
 * mean another connection recorded a key first (a changed one is never written).
 * Creates the file 0600 and its folder 0700.
 */
export function appendKnownHost(file: string, hostName: string, key: Buffer): Promise<HostKeyVerdict> {
  const previous: Promise<unknown> = appendQueues.get(file) ?? Promise.resolve();
  const next = previous.then(() => appendNow(file, hostName, key));
  const tail = next.catch(() => undefined);
  appendQueues.set(file, tail);
  void tail.then(() => {
    if (appendQueues.get(file) === tail) appendQueues.delete(file);
  });
  return next;
}

async function appendNow(file: string, hostName: string, key: Buffer): Promise<HostKeyVerdict> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const handle = await open(file, 'a+', 0o600);
  try {
    const text = await handle.readFile('utf8');
    const verdict = checkHostKey(parseKnownHosts(text), hostName, key);
    if (verdict.status !== 'unknown') return verdict;
    const separator = text.length > 0 && !text.endsWith('\n') ? '\n' : '';
    await handle.write(separator + formatKnownHostsLine(hostName, key));
    return verdict;
  } finally {
    await handle.close();
  }
}
