// Ansible Vault encryption, as lib/ansible/parsing/vault's VaultAES256.encrypt does it, for
// tests that need an encrypted file with given content at run time (the fixtures themselves
// were made by ansible-vault: test/fixtures/vault/make-fixtures.sh).
import { createCipheriv, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

export function vaultEncrypt(plaintext: string, password: string, label?: string): string {
  const salt = randomBytes(32);
  const key = pbkdf2Sync(Buffer.from(password), salt, 10_000, 80, 'sha256');
  const data = Buffer.from(plaintext);
  const pad = 16 - (data.length % 16);
  const padded = Buffer.concat([data, Buffer.alloc(pad, pad)]);
  const cipher = createCipheriv('aes-256-ctr', key.subarray(0, 32), key.subarray(64));
  const ciphertext = Buffer.concat([cipher.update(padded), cipher.final()]);
  const hmac = createHmac('sha256', key.subarray(32, 64)).update(ciphertext).digest('hex');
  const payload = Buffer.from(`${salt.toString('hex')}\n${hmac}\n${ciphertext.toString('hex')}`).toString('hex');
  const header = label ? `$ANSIBLE_VAULT;1.2;AES256;${label}` : '$ANSIBLE_VAULT;1.1;AES256';
  return `${header}\n${payload.match(/.{1,80}/g)?.join('\n')}\n`;
}
