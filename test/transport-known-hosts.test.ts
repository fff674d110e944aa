import { execFileSync } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  appendKnownHost,
  checkHostKey,
  entryMatchesHost,
  fingerprint,
  keyTypeOfBlob,
  knownHostName,
  knownKeyTypes,
  orderHostKeyAlgorithms,
  parseKnownHosts,
  readKnownHosts,
} from '../src/transport/known-hosts.js';
import { matchPattern, matchPatternList } from '../src/transport/pattern.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'transport');
const KNOWN_HOSTS = readFileSync(join(FIXTURES, 'known_hosts'), 'utf8');

function pubBlob(file: string): Buffer {
  return Buffer.from(readFileSync(join(FIXTURES, file), 'utf8').split(' ')[1], 'base64');
}

function sshString(data: Buffer | string): Buffer {
  const body = Buffer.from(data);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** A fresh ed25519 public key in SSH wire format, without ssh-keygen. */
function freshEd25519(): Buffer {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ type: 'spki', format: 'der' }).subarray(-32);
  return Buffer.concat([sshString('ssh-ed25519'), sshString(raw)]);
}

const ED25519 = pubBlob('ed25519.pub');
const ECDSA = pubBlob('ecdsa.pub');
const RSA = pubBlob('rsa.pub');
const REVOKED = pubBlob('other-ed25519.pub');

const temps: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'multilink-kh-'));
  temps.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

describe('host patterns', () => {
  it.each([
    ['*.example.net', 'a.example.net', true],
    ['*.example.net', 'example.net', false],
    ['r?', 'r1', true],
    ['r?', 'r10', false],
    ['ROUTER-*', 'router-1', true],
    ['[10.0.0.1]:2222', '[10.0.0.1]:2222', true],
    ['*', '', true],
    ['a*b*c', 'axxbyyc', true],
    ['a*b*c', 'axxbyy', false],
  ])('%s matches %s: %s', (pattern, value, expected) => {
    expect(matchPattern(pattern, value)).toBe(expected);
  });

  it('a negated match vetoes the list', () => {
    expect(matchPatternList(['r*', '!r9'], 'r1')).toBe(true);
    expect(matchPatternList(['r*', '!r9'], 'r9')).toBe(false);
    expect(matchPatternList(['!r9'], 'r1')).toBe(false);
  });
});

describe('parseKnownHosts', () => {
  const entries = parseKnownHosts(KNOWN_HOSTS);

  it('keeps host and revoked lines, skips comments, blanks, @cert-authority and malformed lines', () => {
    expect(entries.map((e) => e.line)).toEqual([3, 4, 5, 6, 7, 8, 9, 15]);
    expect(entries.find((e) => e.line === 9)?.revoked).toBe(true);
    expect(entries.find((e) => e.line === 7)?.hosts.kind).toBe('hashed');
    expect(entries.find((e) => e.line === 4)?.hosts).toEqual({
      kind: 'patterns',
      patterns: ['alpha.example.net', 'beta.example.net', '192.0.2.7'],
    });
  });

  it('reads key type from the blob', () => {
    expect(keyTypeOfBlob(ED25519)).toBe('ssh-ed25519');
    expect(keyTypeOfBlob(ECDSA)).toBe('ecdsa-sha2-nistp256');
    expect(keyTypeOfBlob(RSA)).toBe('ssh-rsa');
    expect(keyTypeOfBlob(Buffer.from('xx'))).toBeUndefined();
  });

  const changed = freshEd25519();
  it.each([
    ['plain host', 'plain.example.net', ED25519, 'known', 3],
    ['comma list, first', 'alpha.example.net', ECDSA, 'known', 4],
    ['comma list, address', '192.0.2.7', ECDSA, 'known', 4],
    ['[host]:port', '[port.example.net]:2222', ED25519, 'known', 5],
    ['port 22 entry is not used for another port', '[plain.example.net]:2222', ED25519, 'unknown', undefined],
    ['hashed, port 22 (ssh-keygen -H)', 'hashed.example.net', ED25519, 'known', 7],
    ['hashed, [host]:port (ssh-keygen -H)', '[hashed.example.net]:2222', ECDSA, 'known', 8],
    ['wildcard', 'x.wild.example.net', ED25519, 'known', 15],
    ['negated wildcard', 'secret.wild.example.net', ED25519, 'unknown', undefined],
    ['changed key of the same type', 'plain.example.net', changed, 'changed', 3],
    ['changed key, hashed entry', 'hashed.example.net', changed, 'changed', 7],
    ['revoked key, whatever the host', 'plain.example.net', REVOKED, 'revoked', 9],
    ['revoked key on a host nobody knows', 'new.example.net', REVOKED, 'revoked', 9],
    ['only another key type known', 'port.example.net', ED25519, 'other-type', undefined],
    ['@cert-authority gives no trust', 'ca.example.net', RSA, 'unknown', undefined],
    ['malformed base64 line ignored', 'broken.example.net', ED25519, 'unknown', undefined],
    ['type/blob mismatch line ignored', 'mismatch.example.net', ED25519, 'unknown', undefined],
    ['unknown host', 'nowhere.example.net', ED25519, 'unknown', undefined],
  ])('%s', (_label, host, key, status, line) => {
    const verdict = checkHostKey(entries, host, key);
    expect(verdict.status).toBe(status);
    if (line !== undefined && 'entry' in verdict) expect(verdict.entry.line).toBe(line);
  });

  it('matches a hashed entry computed here: HMAC-SHA1(salt, "[host]:port")', () => {
    const salt = randomBytes(20);
    const host = knownHostName('10.1.1.1', 2200);
    const hash = createHmac('sha1', salt).update(host).digest('base64');
    const line = `|1|${salt.toString('base64')}|${hash} ssh-ed25519 ${ED25519.toString('base64')}`;
    const [entry] = parseKnownHosts(line);
    expect(entryMatchesHost(entry, '[10.1.1.1]:2200')).toBe(true);
    expect(entryMatchesHost(entry, '10.1.1.1')).toBe(false);
  });

  it('names hosts as OpenSSH looks them up', () => {
    expect(knownHostName('r1', 22)).toBe('r1');
    expect(knownHostName('r1', 2222)).toBe('[r1]:2222');
  });

  it('offers known key types first', () => {
    const all = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
    expect(knownKeyTypes(entries, 'port.example.net')).toEqual(['ssh-rsa']);
    expect(orderHostKeyAlgorithms(['ssh-rsa'], all)).toEqual([
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
      'ssh-ed25519',
      'ecdsa-sha2-nistp256',
    ]);
    expect(orderHostKeyAlgorithms(['ecdsa-sha2-nistp256'], all)[0]).toBe('ecdsa-sha2-nistp256');
    expect(orderHostKeyAlgorithms([], all)).toEqual(all);
  });
});

describe('fingerprint', () => {
  // fingerprints.txt is `ssh-keygen -lf` output for the fixture keys.
  const lines = readFileSync(join(FIXTURES, 'fingerprints.txt'), 'utf8').trim().split('\n');
  it.each([
    ['ed25519.pub', 0],
    ['ecdsa.pub', 1],
    ['rsa.pub', 2],
    ['other-ed25519.pub', 3],
  ])('%s matches ssh-keygen -lf', (file, index) => {
    expect(fingerprint(pubBlob(file))).toBe(lines[index].split(' ')[1]);
  });

  it.skipIf(!existsSync('/usr/bin/ssh-keygen'))('matches ssh-keygen -lf on a fresh key', () => {
    const dir = tempDir();
    const blob = freshEd25519();
    writeFileSync(join(dir, 'k.pub'), `ssh-ed25519 ${blob.toString('base64')} fresh\n`);
    const out = execFileSync('ssh-keygen', ['-lf', join(dir, 'k.pub')], { encoding: 'utf8' });
    expect(fingerprint(blob)).toBe(out.split(' ')[1]);
  });
});

describe('appendKnownHost', () => {
  it('creates folder 0700 and file 0600 and writes one line per host', async () => {
    const file = join(tempDir(), 'nested', '.ssh', 'known_hosts');
    const verdict = await appendKnownHost(file, '[10.0.0.1]:2222', ED25519);
    expect(verdict.status).toBe('unknown');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(file, '..')).mode & 0o777).toBe(0o700);
    expect(readFileSync(file, 'utf8')).toBe(`[10.0.0.1]:2222 ssh-ed25519 ${ED25519.toString('base64')}\n`);
    expect(checkHostKey(await readKnownHosts(file), '[10.0.0.1]:2222', ED25519).status).toBe('known');
  });

  it('is safe for many hosts in parallel and never duplicates a line', async () => {
    const file = join(tempDir(), 'known_hosts');
    const hosts = Array.from({ length: 30 }, (_, i) => `r${i % 15}`);
    await Promise.all(hosts.map((h) => appendKnownHost(file, h, ED25519)));
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(15);
    expect(new Set(lines).size).toBe(15);
  });

  it('never writes a changed key and reports it', async () => {
    const file = join(tempDir(), 'known_hosts');
    writeFileSync(file, `r1 ssh-ed25519 ${ED25519.toString('base64')}`); // no trailing newline
    const verdict = await appendKnownHost(file, 'r1', freshEd25519());
    expect(verdict.status).toBe('changed');
    await appendKnownHost(file, 'r2', ED25519);
    expect(readFileSync(file, 'utf8').split('\n')).toEqual([
      `r1 ssh-ed25519 ${ED25519.toString('base64')}`,
      `r2 ssh-ed25519 ${ED25519.toString('base64')}`,
      '',
    ]);
  });

  it('reads a missing file as empty', async () => {
    expect(await readKnownHosts(join(tempDir(), 'none'))).toEqual([]);
  });
});
