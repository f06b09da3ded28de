import type { JsonWebKey } from 'node:crypto';

import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';

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

function publicPart(jwk: JsonWebKey): JsonWebKey {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
  return publicJwk;
}

/** Verifies JWT access tokens against the keys this server publishes, never a key named by the token. */
export class AccessTokenVerifier {
  readonly #keySet: ReturnType<typeof createLocalJWKSet>;

  constructor(
    private readonly issuer: string,
    keys: JsonWebKey[],
  ) {
    this.#keySet = createLocalJWKSet({ keys: keys.map(publicPart) as Parameters<typeof createLocalJWKSet>[0]['keys'] });
  }

  /** The verified claims, or undefined for anything that is not a valid, unexpired access token of ours. */
  async verify(token: string): Promise<VerifiedAccessToken | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.#keySet, {
        issuer: this.issuer,
        typ: 'at+jwt',
        algorithms: ACCESS_TOKEN_ALGORITHMS,
        requiredClaims: ['jti', 'iat', 'exp', 'client_id', 'sub'],
      });
      if (typeof payload.client_id !== 'string' || typeof payload.jti !== 'string') return undefined;
      return payload as VerifiedAccessToken;
    } catch {
      return undefined;
    }
  }
}
