import type { RefreshToken } from 'oidc-provider';

export interface RefreshTokenLifetimes {
  /** The whole chain of rotated refresh tokens ends this long after the first was issued. */
  absoluteSeconds: number;
  /** A refresh token not used for this long expires. */
  idleSeconds: number;
}

/**
 * oidc-provider's `ttl.RefreshToken`: each rotated refresh token lives the idle lifetime, cut short so the
 * chain never outlives the absolute lifetime counted from the first issue (`iiat`, kept across rotations).
 */
export function refreshTokenTtl({ absoluteSeconds, idleSeconds }: RefreshTokenLifetimes) {
  return (_ctx: unknown, token: RefreshToken): number => {
    const now = Math.floor(Date.now() / 1000);
    const chainStart = token.iiat ?? token.iat ?? now;
    const remaining = chainStart + absoluteSeconds - now;
    return Math.max(1, Math.min(idleSeconds, remaining));
  };
}
