import type { Store, StoredDocument } from '../store/index.js';

/**
 * What is remembered about revoked JWT access tokens, which are never stored themselves: the `jti` of each
 * one revoked singly (until its `exp`), and per client and per account a "revoked before" time (like
 * Keycloak's not-before) that every JWT issued at or before it fails. One collection, looked up by id.
 */
export const TOKEN_REVOCATIONS_COLLECTION = 'token_revocations';

interface RevocationDocument extends StoredDocument {
  /** Epoch seconds: tokens with `iat` at or before this are revoked (client and account entries). */
  revokedBefore?: number;
  revokedAt: Date;
}

/** The claims of a JWT access token that revocation looks at. */
export interface RevocableTokenClaims {
  jti: string;
  iat: number;
  exp: number;
  client_id: string;
  sub?: string;
}

const jtiKey = (jti: string) => `jti:${jti}`;
const clientKey = (clientId: string) => `client:${clientId}`;
const accountKey = (accountId: string) => `account:${accountId}`;

export class JwtRevocationList {
  constructor(
    private readonly store: Store,
    /** No JWT lives longer than this, so a "revoked before" entry can be forgotten after it. */
    private readonly longestJwtLifetimeSeconds: number,
  ) {}

  get #collection() {
    return this.store.collection<RevocationDocument>(TOKEN_REVOCATIONS_COLLECTION);
  }

  /** Remembers one revoked JWT until it would have expired anyway. */
  async revokeJwt(jti: string, exp: number): Promise<void> {
    await this.#collection.replace({ _id: jtiKey(jti), revokedAt: new Date(), expiresAt: new Date(exp * 1000) });
  }

  async revokeClientJwts(clientId: string, now: Date = new Date()): Promise<void> {
    await this.#revokeIssuedUntil(clientKey(clientId), now);
  }

  async revokeAccountJwts(accountId: string, now: Date = new Date()): Promise<void> {
    await this.#revokeIssuedUntil(accountKey(accountId), now);
  }

  /**
   * `iat` has one-second resolution: a token issued in the same second as the revocation counts as issued
   * before it. Failing safe costs a token issued in that second; the opposite would let one survive.
   */
  async #revokeIssuedUntil(key: string, now: Date): Promise<void> {
    await this.#collection.replace({
      _id: key,
      revokedBefore: Math.floor(now.getTime() / 1000),
      revokedAt: now,
      expiresAt: new Date(now.getTime() + this.longestJwtLifetimeSeconds * 1000),
    });
  }

  /**
   * True when the token was revoked singly, or issued at or before a revocation of its client's or its
   * account's tokens. The account is the subject only for tokens issued to a user (`sub` differs from
   * `client_id`; a client-credentials JWT's subject is its client).
   */
  async isRevoked(claims: RevocableTokenClaims): Promise<boolean> {
    const keys = [jtiKey(claims.jti), clientKey(claims.client_id)];
    if (claims.sub !== undefined && claims.sub !== claims.client_id) keys.push(accountKey(claims.sub));
    // Lookups by exact _id, in parallel: the fast path of every store (an `$in` would scan the memory store).
    const entries = await Promise.all(keys.map((key) => this.#collection.findOne({ _id: key })));
    return entries.some((entry) => entry !== null && (entry.revokedBefore === undefined || claims.iat <= entry.revokedBefore));
  }
}
