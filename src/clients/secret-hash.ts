import { randomBytes } from 'node:crypto';

import { constantTimeEqual, type ServerSecrets } from '../secrets/index.js';

const PREFIX = 'hmac-sha256';

/**
 * Hashes a client secret for storage as `hmac-sha256$keyId$salt$mac`. Client secrets we issue carry 256
 * bits of entropy, so a salted, keyed fast hash is as strong as a slow one here and keeps client
 * authentication cheap under load; the key (derived from the master key) means a database dump alone
 * cannot even be used to test guesses.
 */
export function hashClientSecret(secrets: ServerSecrets, secret: string): string {
  const salt = randomBytes(16).toString('base64url');
  return [PREFIX, secrets.currentKeyId, salt, mac(secrets, secrets.currentKeyId, salt, secret)].join('$');
}

function mac(secrets: ServerSecrets, keyId: string, salt: string, secret: string): string {
  return secrets.mac('client-secret-hash', `${salt}$${secret}`, keyId);
}

export function isHashedClientSecret(value: string): boolean {
  return value.startsWith(`${PREFIX}$`);
}

/** Constant-time check of a presented secret against a stored hash. */
export function verifyClientSecret(secrets: ServerSecrets, stored: string, presented: string): boolean {
  const [prefix, keyId, salt, expected] = stored.split('$');
  if (prefix !== PREFIX || !keyId || !salt || !expected) return false;
  if (!secrets.keyIds().includes(keyId)) return false;
  return constantTimeEqual(mac(secrets, keyId, salt, presented), expected);
}
