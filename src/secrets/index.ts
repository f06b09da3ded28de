import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

import type { MasterKey } from '../config/index.js';
import { HmacSha256 } from './hmac-sha256.js';

/** What a derived key is for; each purpose gets its own key, so one leaking reveals nothing of another. */
export type KeyPurpose = 'token-hash' | 'totp-encryption' | 'signing-key-encryption' | 'client-secret-hash' | 'code-hash' | 'mfa-token-hash' | 'internal-client-secret' | 'dashboard-reference';

const SALT = Buffer.from('authtoken-server/v1');

/** A purpose's MAC under one key id, with its last keyed hash. */
interface KeyedMac {
  readonly mac: HmacSha256;
  /**
   * Introspection and revocation without a type hint look the presented token up in three models at once
   * (access token, client credentials, refresh token), each hashing the same value under each readable key
   * id; the repeats are answered from here.
   */
  last?: { value: string; hashed: string };
}

/**
 * Every server-side secret is derived from AUTHTOKEN_MASTER_KEY with HKDF-SHA-256 under a key id,
 * so a master key can be rotated: new data uses the current id, old data names the id it was made with.
 */
export class ServerSecrets {
  readonly #keys = new Map<string, Buffer>();
  readonly #derived = new Map<string, Buffer>();
  // By key id, then purpose: two map lookups and no key string built per call.
  readonly #macs = new Map<string, Map<KeyPurpose, KeyedMac>>();
  readonly currentKeyId: string;

  constructor(current: MasterKey, previous: MasterKey[] = []) {
    this.currentKeyId = current.id;
    for (const { id, key } of [current, ...previous]) this.#keys.set(id, key);
  }

  /** The derived key for a purpose under a key id (the current one by default). */
  key(purpose: KeyPurpose, keyId: string = this.currentKeyId): Buffer {
    const cacheKey = `${keyId}/${purpose}`;
    let derived = this.#derived.get(cacheKey);
    if (!derived) {
      const master = this.#keys.get(keyId);
      if (!master) throw new Error(`unknown master key id ${keyId}`);
      derived = Buffer.from(hkdfSync('sha256', master, SALT, `${purpose}/${keyId}`, 32));
      this.#derived.set(cacheKey, derived);
    }
    return derived;
  }

  /** HMAC-SHA-256 of a message under the derived key for a purpose, as base64url (hot path: every token operation). */
  mac(purpose: KeyPurpose, message: string, keyId: string = this.currentKeyId): string {
    return this.#keyedMac(purpose, keyId).mac.digest(message);
  }

  #keyedMac(purpose: KeyPurpose, keyId: string): KeyedMac {
    let keyed = this.#macs.get(keyId)?.get(purpose);
    if (!keyed) {
      keyed = { mac: new HmacSha256(this.key(purpose, keyId)) };
      const macs = this.#macs.get(keyId) ?? new Map<KeyPurpose, KeyedMac>();
      macs.set(purpose, keyed);
      this.#macs.set(keyId, macs);
    }
    return keyed;
  }

  /** Key ids able to read existing data: the current one first. */
  keyIds(): string[] {
    return [...this.#keys.keys()];
  }

  /** HMAC-SHA-256 of a value, as `keyId.base64url`; deterministic so it can be looked up. */
  keyedHash(purpose: KeyPurpose, value: string, keyId: string = this.currentKeyId): string {
    const keyed = this.#keyedMac(purpose, keyId);
    if (keyed.last?.value === value) return keyed.last.hashed;
    const hashed = `${keyId}.${keyed.mac.digest(value)}`;
    keyed.last = { value, hashed };
    return hashed;
  }

  /** Every keyed hash the value may be stored under (one per readable key id). */
  keyedHashCandidates(purpose: KeyPurpose, value: string): string[] {
    return this.keyIds().map((keyId) => this.keyedHash(purpose, value, keyId));
  }

  /** AES-256-GCM encryption as `keyId.iv.ciphertext.tag` (base64url parts). */
  encrypt(purpose: KeyPurpose, plaintext: string | Buffer, associatedData = ''): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key(purpose), iv);
    cipher.setAAD(Buffer.from(associatedData));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return [this.currentKeyId, iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  decrypt(purpose: KeyPurpose, sealed: string, associatedData = ''): Buffer {
    const [keyId, iv, ciphertext, tag] = sealed.split('.');
    if (!keyId || !iv || ciphertext === undefined || !tag) throw new Error('malformed sealed value');
    const decipher = createDecipheriv('aes-256-gcm', this.key(purpose, keyId), Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(associatedData));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
  }
}

/** Constant-time comparison of two strings of possibly different length. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

/** A random URL-safe secret with the given number of bytes of entropy. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
