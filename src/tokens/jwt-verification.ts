import type { JsonWebKey } from 'node:crypto';

import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';

/** The claims of one of our JWT access tokens (RFC 9068) once its signature and lifetime are checked. */
export interface VerifiedAccessToken extends JWTPayload {
  jti: string;
  iat: number;
  exp: number;
  client_id: string;
  sub: string;
  scope?: string;
  grant_id?: string;
}

const ACCESS_TOKEN_ALGORITHMS = ['EdDSA', 'ES256', 'RS256'];
/** Verified tokens remembered per verifier; at about 1 KiB each, a few MiB at most. */
const VERIFIED_TOKENS_REMEMBERED = 5_000;

function publicPart(jwk: JsonWebKey): JsonWebKey {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
  return publicJwk;
}

/**
 * Verifies JWT access tokens against the keys this server publishes, never a key named by the token.
 *
 * A resource server introspects the same token on every call it serves, and the signature check is most of
 * the cost of answering, so a token that verified is remembered until its `exp` (a verifier is built per
 * signing key set, so a key change starts afresh). Only the signature and lifetime are remembered:
 * revocation is checked by the caller on every request. Failures are never remembered.
 */
export class AccessTokenVerifier {
  readonly #keySet: ReturnType<typeof createLocalJWKSet>;
  readonly #verified = new LRUCache<string, Readonly<VerifiedAccessToken>>({ max: VERIFIED_TOKENS_REMEMBERED });

  constructor(
    private readonly issuer: string,
    keys: JsonWebKey[],
  ) {
    this.#keySet = createLocalJWKSet({ keys: keys.map(publicPart) as Parameters<typeof createLocalJWKSet>[0]['keys'] });
  }

  /** The verified claims, or undefined for anything that is not a valid, unexpired access token of ours. */
  async verify(token: string): Promise<Readonly<VerifiedAccessToken> | undefined> {
    const remembered = this.#verified.get(token);
    if (remembered) {
      if (remembered.exp > Date.now() / 1000) return remembered;
      this.#verified.delete(token);
      return undefined;
    }
    try {
      const { payload } = await jwtVerify(token, this.#keySet, {
        issuer: this.issuer,
        typ: 'at+jwt',
        algorithms: ACCESS_TOKEN_ALGORITHMS,
        requiredClaims: ['jti', 'iat', 'exp', 'client_id', 'sub'],
      });
      if (typeof payload.client_id !== 'string' || typeof payload.jti !== 'string') return undefined;
      const verified = Object.freeze(payload as VerifiedAccessToken);
      this.#verified.set(token, verified);
      return verified;
    } catch {
      return undefined;
    }
  }
}
