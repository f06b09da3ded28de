import { randomInt } from 'node:crypto';

import type { ServerSecrets } from '../secrets/index.js';
import { upsertById, type Condition, type Store, type StoredDocument } from '../store/index.js';

export const RECOVERY_CODES_COLLECTION = 'mfa_recovery_codes';
/** One document per account: which set of recovery codes is the current one. */
export const RECOVERY_CODE_GENERATIONS_COLLECTION = 'mfa_recovery_code_generations';
export const RECOVERY_CODE_COUNT = 10;

// No 0/o, 1/l/i: codes are read off paper.
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const GROUP = 5;

interface RecoveryCodeDocument extends StoredDocument {
  accountId: string;
  createdAt: Date;
  usedAt?: Date;
  /** The set this code belongs to; absent on codes made before sets were numbered (see #currentSet). */
  generation?: number;
}

interface GenerationDocument extends StoredDocument {
  /** The newest set of the account's codes; only its codes are accepted. Counts up, never reset. */
  generation: number;
}

/** Recovery codes just made, with the number of their set (newer sets have higher numbers). */
export interface RecoveryCodeSet {
  codes: string[];
  generation: number;
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
 *
 * A new set replaces the old one by a number: each generation takes the next set number with one atomic $inc
 * on the account's generation document, writes its codes under that number, and only codes of the newest
 * number count. Deleting the old codes and inserting new ones (as before) let two generations at once (a
 * double-clicked form) interleave and leave both sets valid, one of them seen by nobody; whatever order
 * concurrent generations now run in, exactly one set, the one that took the highest number, works.
 */
export class RecoveryCodes {
  constructor(
    private readonly store: Store,
    private readonly secrets: ServerSecrets,
  ) {}

  get #codes() {
    return this.store.collection<RecoveryCodeDocument>(RECOVERY_CODES_COLLECTION);
  }

  get #generations() {
    return this.store.collection<GenerationDocument>(RECOVERY_CODE_GENERATIONS_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.store.ensureIndexes(RECOVERY_CODES_COLLECTION, [{ fields: { accountId: 1 } }]);
  }

  /**
   * The filter on `generation` that selects the account's current codes. Without a generation document the
   * account's codes predate numbered sets: they are its one set, until the next generation replaces them.
   */
  async #currentSet(accountId: string): Promise<Condition> {
    const current = await this.#generations.findOne({ _id: accountId });
    return current ? current.generation : { $exists: false };
  }

  /** Takes the next set number: one atomic single-document update, so concurrent generations never share one. */
  async #nextGeneration(accountId: string): Promise<number> {
    const document = await upsertById(this.#generations, accountId, { $inc: { generation: 1 } });
    if (!document) throw new Error('recovery code generation was not counted');
    return document.generation;
  }

  /** Replaces the account's codes with new ones, returned once (only hashes are kept). */
  async generate(accountId: string): Promise<string[]> {
    return (await this.generateSet(accountId)).codes;
  }

  /**
   * generate, with the set's number: of sets made at once, the one with the highest number is the one that
   * works (what a page shows should be that one).
   */
  async generateSet(accountId: string): Promise<RecoveryCodeSet> {
    const generation = await this.#nextGeneration(accountId);
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => `${randomGroup()}-${randomGroup()}`);
    const createdAt = new Date();
    for (const code of codes) {
      await this.#codes.insert({ _id: this.secrets.keyedHash('code-hash', `recovery:${accountId}:${normalize(code)}`), accountId, createdAt, generation });
    }
    // Older sets no longer count; removing them is only tidying. A slower, older generation may still insert its
    // codes after this: they never count either, and the next generation or removeAll removes them.
    await this.#codes.deleteMany({ accountId, generation: { $lt: generation } });
    await this.#codes.deleteMany({ accountId, generation: { $exists: false } });
    return { codes, generation };
  }

  /** Spends a code of the current set; false when unknown, already used, of an older set, or another account's. */
  async consume(accountId: string, code: string): Promise<boolean> {
    const normalized = normalize(code);
    if (!/^[a-z0-9]{6,32}$/.test(normalized)) return false;
    const candidates = this.secrets.keyedHashCandidates('code-hash', `recovery:${accountId}:${normalized}`);
    const spent = await this.#codes.updateOne(
      { _id: { $in: candidates }, accountId, usedAt: { $exists: false }, generation: await this.#currentSet(accountId) },
      { $set: { usedAt: new Date() } },
    );
    return spent !== null;
  }

  async remaining(accountId: string): Promise<number> {
    return this.#codes.count({ accountId, usedAt: { $exists: false }, generation: await this.#currentSet(accountId) });
  }

  /**
   * Removes every code of the account. The generation document stays: set numbers must only grow, or codes an
   * older, slower generation wrote late could count again under a reused number.
   */
  async removeAll(accountId: string): Promise<void> {
    await this.#codes.deleteMany({ accountId });
  }
}
