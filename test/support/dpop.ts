import { randomUUID } from 'node:crypto';

import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export interface DpopKey {
  privateKey: CryptoKey;
  jwk: JWK;
  alg: string;
  jkt: string;
}

export async function newDpopKey(alg = 'ES256'): Promise<DpopKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, alg, jkt: await calculateJwkThumbprint(jwk) };
}

const sha256 = async (value: string): Promise<string> => Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(value))).toString('base64url');

/** A DPoP proof (RFC 9449 4.2) made as a client would, with jose; `claims` and `header` override the defaults. */
export async function dpopProof(
  key: DpopKey,
  claims: { htm: string; htu: string; accessToken?: string; iat?: number; jti?: string; ath?: string },
  header: Record<string, unknown> = {},
): Promise<string> {
  const payload: Record<string, unknown> = { htm: claims.htm, htu: claims.htu, jti: claims.jti ?? randomUUID() };
  if (claims.ath !== undefined) payload.ath = claims.ath;
  else if (claims.accessToken !== undefined) payload.ath = await sha256(claims.accessToken);
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, typ: 'dpop+jwt', jwk: key.jwk, ...header })
    .setIssuedAt(claims.iat ?? Math.floor(Date.now() / 1000))
    .sign(key.privateKey);
}
