// Ansible Vault, decryption only: the envelope ($ANSIBLE_VAULT;1.1;AES256 and 1.2's
// $ANSIBLE_VAULT;1.2;AES256;LABEL) and its one cipher, as lib/ansible/parsing/vault does it.
// PBKDF2-HMAC-SHA256 (10000 rounds) derives an AES-256 key, an HMAC key and a CTR counter from
// the password and the salt; the HMAC-SHA256 of the ciphertext is checked before anything is
// decrypted (so a wrong password is told apart from a right one), then PKCS#7 padding removed.
import { createDecipheriv, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import type { Diagnostics } from '../diagnostics.js';

export const VAULT_HEADER = '$ANSIBLE_VAULT';
/** Ansible's label for a password given without one (C.DEFAULT_VAULT_IDENTITY). */
export const DEFAULT_VAULT_ID = 'default';

const ITERATIONS = 10_000;
const KEY_LENGTH = 32;
const IV_LENGTH = 16;

/** A password and the vault id (label) it was given for. */
export interface VaultSecret {
  id: string;
  password: Buffer;
}

export interface VaultEnvelope {
  version: string;
  cipher: string;
  /** The vault id written in a 1.2 header; a 1.1 header has none (Ansible then says 'default'). */
  label?: string;
  /** The hexlified payload, the lines after the header joined. */
  payload: string;
}

/** Text that is not vault data as Ansible writes it: it cannot be decrypted by any password. */
export class VaultFormatError extends Error {
  override name = 'VaultFormatError';
}

/** As Ansible's is_encrypted: the text starts with the header, nothing before it. */
export function isVaultText(text: string): boolean {
  return text.startsWith(VAULT_HEADER);
}

export function parseEnvelope(text: string): VaultEnvelope {
  if (!isVaultText(text)) throw new VaultFormatError(`it does not start with ${VAULT_HEADER}`);
  const lines = text.split(/\r\n|\r|\n/);
  const header = lines[0].trim().split(';');
  if (header.length < 3) throw new VaultFormatError(`its header '${lines[0].trim()}' is not ${VAULT_HEADER};VERSION;CIPHER[;VAULT-ID]`);
  const label = header.length >= 4 ? header[3].trim() : undefined;
  return { version: header[1].trim(), cipher: header[2].trim(), ...(label ? { label } : {}), payload: lines.slice(1).join('') };
}

function unhex(text: string, what: string): Buffer {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) throw new VaultFormatError(`its ${what} is not hexadecimal`);
  return Buffer.from(text, 'hex');
}

interface Payload {
  salt: Buffer;
  hmac: Buffer;
  ciphertext: Buffer;
}

/** The payload is hex of "hex(salt)\nhex(hmac)\nhex(ciphertext)". */
function parsePayload(payload: string): Payload {
  const inner = unhex(payload, 'payload').toString('latin1');
  const first = inner.indexOf('\n');
  const second = first < 0 ? -1 : inner.indexOf('\n', first + 1);
  if (second < 0) throw new VaultFormatError('its payload does not hold a salt, an HMAC and a ciphertext');
  return {
    salt: unhex(inner.slice(0, first), 'salt'),
    hmac: unhex(inner.slice(first + 1, second), 'HMAC'),
    ciphertext: unhex(inner.slice(second + 1), 'ciphertext'),
  };
}

/** The plaintext, or undefined when the password is not the one the text was encrypted with. */
function decryptPayload(p: Payload, password: Buffer): Buffer | undefined {
  const derived = pbkdf2Sync(password, p.salt, ITERATIONS, 2 * KEY_LENGTH + IV_LENGTH, 'sha256');
  const aesKey = derived.subarray(0, KEY_LENGTH);
  const hmacKey = derived.subarray(KEY_LENGTH, 2 * KEY_LENGTH);
  const counter = derived.subarray(2 * KEY_LENGTH);
  const expected = createHmac('sha256', hmacKey).update(p.ciphertext).digest();
  if (p.hmac.length !== expected.length || !timingSafeEqual(p.hmac, expected)) return undefined;
  const decipher = createDecipheriv('aes-256-ctr', aesKey, counter);
  const padded = Buffer.concat([decipher.update(p.ciphertext), decipher.final()]);
  return unpad(padded);
}

/** PKCS#7 over 16-byte blocks: Ansible pads before CTR encryption. */
function unpad(padded: Buffer): Buffer {
  const n = padded.length > 0 ? padded[padded.length - 1] : 0;
  const valid = padded.length % 16 === 0 && n >= 1 && n <= 16 && padded.subarray(padded.length - n).every((b) => b === n);
  if (!valid) throw new VaultFormatError('its padding is corrupt (the HMAC matched: the text was altered after encryption?)');
  return padded.subarray(0, padded.length - n);
}

/**
 * Which passwords a text is tried with, as Ansible's settings say: `identity` (vault_identity,
 * ANSIBLE_VAULT_IDENTITY; default 'default') is the id of a 1.1 text, which names none;
 * `idMatch` (vault_id_match, ANSIBLE_VAULT_ID_MATCH) tries only the passwords of the text's own
 * id, where by default every other one is tried after them.
 */
export interface VaultMatching {
  identity?: string;
  idMatch?: boolean;
}

/** One decryption's outcome; `problem` is a whole sentence naming the vault id(s), never the text. */
export type Opened = { ok: true; plaintext: Buffer; id: string } | { ok: false; problem: string };

/**
 * The passwords given on the command line, in Ansible's order, and what they opened. Ansible
 * tries a text's own vault id first, then every other password (vault_id_match is off by
 * default): a 1.1 text, which names no id, is tried with each. Outcomes are kept per text, so a
 * group var used by ten thousand hosts costs one key derivation per password.
 */
export class VaultKeyring {
  private readonly opened = new Map<string, Opened>();

  constructor(
    readonly secrets: readonly VaultSecret[] = [],
    readonly matching: VaultMatching = {},
  ) {}

  /** `what` names the thing in messages: "this vaulted value", "this vault-encrypted file". */
  open(text: string, what: string): Opened {
    const key = `${what}\0${text}`;
    let result = this.opened.get(key);
    if (!result) this.opened.set(key, (result = this.tryOpen(text, what)));
    return result;
  }

  private tryOpen(text: string, what: string): Opened {
    let envelope: VaultEnvelope;
    let payload: Payload;
    try {
      envelope = parseEnvelope(text);
      if (envelope.cipher !== 'AES256') return { ok: false, problem: `${what} uses the cipher '${envelope.cipher}'; Ansible Vault's only cipher is AES256` };
      payload = parsePayload(envelope.payload);
    } catch (e) {
      if (e instanceof VaultFormatError) return { ok: false, problem: `${what} is not Ansible Vault data: ${e.message}` };
      throw e;
    }
    // A 1.1 text names no id: Ansible gives it the default identity (vault_identity).
    const id = envelope.label ?? this.matching.identity ?? DEFAULT_VAULT_ID;
    if (this.secrets.length === 0) {
      // A 1.1 text names no vault id: Ansible calls it 'default', the id of a password given without one.
      const how = envelope.label ? `--vault-id ${id}@FILE, --vault-password-file FILE` : '--vault-password-file FILE, --vault-id FILE';
      return { ok: false, problem: `cannot decrypt ${what} (vault id '${id}'): no vault password was given; use ${how} or --ask-vault-pass` };
    }
    const own = this.secrets.filter((s) => s.id === id);
    const ordered = this.matching.idMatch ? own : [...own, ...this.secrets.filter((s) => s.id !== id)];
    if (ordered.length === 0) {
      const given = [...new Set(this.secrets.map((s) => `'${s.id}'`))].join(', ');
      return { ok: false, problem: `cannot decrypt ${what} (vault id '${id}'): vault_id_match allows only a password of vault id '${id}', and none was given (given: ${given})` };
    }
    try {
      for (const secret of ordered) {
        const plaintext = decryptPayload(payload, secret.password);
        if (plaintext) return { ok: true, plaintext, id: secret.id };
      }
    } catch (e) {
      if (e instanceof VaultFormatError) return { ok: false, problem: `${what} is not Ansible Vault data: ${e.message}` };
      throw e;
    }
    const tried = [...new Set(ordered.map((s) => s.id))];
    const ids = tried.map((t) => `'${t}'`).join(', ');
    const noOwn = !envelope.label || tried.includes(id) ? '' : `; it was encrypted for vault id '${id}', which no password was given for`;
    return { ok: false, problem: `cannot decrypt ${what} with vault id${tried.length > 1 ? 's' : ''} ${ids} (wrong password?)${noOwn}` };
  }
}

/**
 * A file as Ansible's loader reads it: a whole vault-encrypted file (an inventory, a vars
 * file, a playbook) is decrypted before it is parsed, so it needs a password at once, used
 * or not. Undefined when it cannot be decrypted (reported at the file's first line).
 */
export function openFileText(text: string, file: string, vault: VaultKeyring, diags: Diagnostics): { text: string; decrypted: boolean } | undefined {
  if (!isVaultText(text)) return { text, decrypted: false };
  const opened = vault.open(text, 'this vault-encrypted file');
  if (opened.ok) return { text: opened.plaintext.toString('utf8'), decrypted: true };
  diags.error(opened.problem, { pos: { file, line: 1, col: 1 } });
  return undefined;
}
