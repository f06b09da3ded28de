import { randomInt } from 'node:crypto';

import type { ServerSecrets } from '../secrets/index.js';
import type { Store, StoredDocument } from '../store/index.js';

export const RECOVERY_CODES_COLLECTION = 'mfa_recovery_codes';
export const RECOVERY_CODE_COUNT = 10;

// No 0/o, 1/l/i: codes are read off paper.
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const GROUP = 5;

interface RecoveryCodeDocument extends StoredDocument {
  accountId: string;
  createdAt: Date;
  usedAt?: Date;
}

function randomGroup(): string {
  let group = '';
  for (let index = 0; index < GROUP; index += 1) group += ALPHABET[randomInt(ALPHABET.length)];
  return group;
}

/** Lower-case, without spaces or dashes, so `ABCDE-FGHIJ` and `abcdefghij` are the same code. */
function normalize(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '');
}

/**
 * Single-use recovery codes, one document each under a keyed hash of (account, code): spending one is a
 * single conditional update, so a code cannot be used twice even by concurrent requests.
 */
export class RecoveryCodes {
  constructor(
    private readonly store: Store,
    private readonly secrets: ServerSecrets,
  ) {}

  get #codes() {
    return this.store.collection<RecoveryCodeDocument>(RECOVERY_CODES_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.store.ensureIndexes(RECOVERY_CODES_COLLECTION, [{ fields: { accountId: 1 } }]);
  }

  /** Replaces the account's codes with new ones, returned once (only hashes are kept). */
  async generate(accountId: string): Promise<string[]> {
    await this.#codes.deleteMany({ accountId });
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => `${randomGroup()}-${randomGroup()}`);
    const createdAt = new Date();
    for (const code of codes) {
      await this.#codes.insert({ _id: this.secrets.keyedHash('code-hash', `recovery:${accountId}:${normalize(code)}`), accountId, createdAt });
    }
    return codes;
  }

  /** Spends a code; false when unknown, already used, or another account's. */
  async consume(accountId: string, code: string): Promise<boolean> {
    const normalized = normalize(code);
    if (!/^[a-z0-9]{6,32}$/.test(normalized)) return false;
    const candidates = this.secrets.keyedHashCandidates('code-hash', `recovery:${accountId}:${normalized}`);
    const spent = await this.#codes.updateOne(
      { _id: { $in: candidates }, accountId, usedAt: { $exists: false } },
      { $set: { usedAt: new Date() } },
    );
    return spent !== null;
  }

  async remaining(accountId: string): Promise<number> {
    return this.#codes.count({ accountId, usedAt: { $exists: false } });
  }

  async removeAll(accountId: string): Promise<void> {
    await this.#codes.deleteMany({ accountId });
  }
}
