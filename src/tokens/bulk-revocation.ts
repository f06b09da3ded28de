import { ACCOUNT_BOUND_MODELS, CLIENT_BOUND_MODELS, collectionName, revokeGrantEverywhere } from '../provider/index.js';
import type { Store } from '../store/index.js';
import type { JwtRevocationList } from './revocations.js';

/** How many stored records a bulk revocation removed (JWTs are not stored, so they are not counted). */
export interface BulkRevocationResult {
  removed: number;
}

/**
 * Revocation of many tokens at once, reaching both kinds: opaque tokens (and codes, grants) are deleted
 * from the store, JWTs already issued are caught by a "revoked before" entry checked at introspection.
 * The JWT entry is written first: a JWT issued meanwhile must not slip between the two steps.
 */
export class BulkRevocation {
  constructor(
    private readonly store: Store,
    private readonly jwts: JwtRevocationList,
  ) {}

  /** Every token of a client, whoever it was issued to: for secret rotation and client deletion. */
  async revokeClientTokens(clientId: string): Promise<BulkRevocationResult> {
    await this.jwts.revokeClientJwts(clientId);
    return this.#deleteFrom(CLIENT_BOUND_MODELS, { clientId });
  }

  /** Every token of a user, at every client: for password change, MFA reset, account lock. */
  async revokeAccountTokens(accountId: string): Promise<BulkRevocationResult> {
    await this.jwts.revokeAccountJwts(accountId);
    return this.#deleteFrom(ACCOUNT_BOUND_MODELS, { accountId });
  }

  /**
   * Every access and refresh token of a user, at every client, leaving grants, codes in flight and sign-in
   * sessions alone: for an account that just enrolled its first second factor, whose tokens all came from
   * password-only sign-ins. A sign-in in progress (enrolling as part of it) goes on to tokens of its own.
   */
  async revokeAccountAccessAndRefreshTokens(accountId: string): Promise<BulkRevocationResult> {
    await this.jwts.revokeAccountJwts(accountId);
    return this.#deleteFrom(['AccessToken', 'RefreshToken'], { accountId });
  }

  /**
   * Every token of one grant. JWTs carry their grant id and introspection requires the grant to exist,
   * so deleting the grant reaches them too.
   */
  async revokeGrant(grantId: string): Promise<void> {
    await revokeGrantEverywhere(this.store, grantId);
  }

  async #deleteFrom(models: readonly string[], filter: { clientId: string } | { accountId: string }): Promise<BulkRevocationResult> {
    const counts = await Promise.all(models.map((model) => this.store.collection(collectionName(model)).deleteMany(filter)));
    return { removed: counts.reduce((sum, count) => sum + count, 0) };
  }
}
