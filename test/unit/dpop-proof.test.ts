import { randomUUID } from 'node:crypto';

import { describe, expect, test } from '@jest/globals';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';

import { accessTokenHash, DEFAULT_DPOP_ALGORITHMS, DpopReplayCache, verifyDpopProof, type VerifiedProof } from '../../src/resource-server/dpop-proof.js';

const POLICY = { algorithms: DEFAULT_DPOP_ALGORITHMS, maxAgeSeconds: 60, futureSeconds: 5 };
const URL_CALLED = 'https://api.example.test/orders/hello';
const TOKEN = 'an-access-token';
const EXPECTED = { method: 'GET', url: URL_CALLED, accessToken: TOKEN };

async function proof(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  return new SignJWT({ htm: 'GET', htu: URL_CALLED, jti: randomUUID(), ath: accessTokenHash(TOKEN), iat: Math.floor(Date.now() / 1000), ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(publicKey), ...header })
    .sign(privateKey);
}

describe('DPoP proof verification (RFC 9449 4.3)', () => {
  test('a proof for this request passes, its query and fragment ignored', async () => {
    const result = await verifyDpopProof([await proof({ htu: `${URL_CALLED}?page=2#top` })], EXPECTED, POLICY);
    expect(result).toMatchObject({ ok: true, thumbprint: expect.any(String) });
  });

  test('exactly one DPoP header', async () => {
    expect((await verifyDpopProof([], EXPECTED, POLICY)).ok).toBe(false);
    expect((await verifyDpopProof([await proof(), await proof()], EXPECTED, POLICY)).ok).toBe(false);
  });

  test('a MAC or an unsigned proof is refused, whatever the header says', async () => {
    const secret = new Uint8Array(32).fill(7);
    // jose's types keep symmetric members out of a header jwk; a forger is not bound by them.
    const symmetricJwk = { kty: 'oct', k: Buffer.from(secret).toString('base64url') };
    const mac = await new SignJWT({ htm: 'GET', htu: URL_CALLED, jti: randomUUID(), ath: accessTokenHash(TOKEN) })
      .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: symmetricJwk })
      .setIssuedAt()
      .sign(secret);
    const unsigned = new UnsecuredJWT({ htm: 'GET', htu: URL_CALLED, jti: randomUUID(), ath: accessTokenHash(TOKEN) }).setIssuedAt().encode();
    for (const bad of [mac, unsigned]) expect((await verifyDpopProof([bad], EXPECTED, POLICY)).ok).toBe(false);
  });

  test('every required claim must be there and right', async () => {
    // The verifier's clock is pinned to the test's: key generation in the loop is slow under load, and a
    // second ticking over mid-loop would bring `now + 6` inside the 5-second window (CI saw exactly that).
    const nowMs = Date.now();
    const now = Math.floor(nowMs / 1000);
    for (const claims of [{ jti: undefined }, { jti: '' }, { htm: 'get' }, { htu: 'https://api.example.test/hello' }, { htu: 'not a url' }, { iat: undefined }, { iat: now - 61 }, { iat: now + 6 }, { ath: undefined }]) {
      expect(await verifyDpopProof([await proof({ iat: now, ...claims })], EXPECTED, POLICY, nowMs)).toMatchObject({ ok: false });
    }
    expect((await verifyDpopProof([await proof({ iat: now + 4 })], EXPECTED, POLICY, nowMs)).ok).toBe(true);
  });

  test('the key thumbprint is RFC 7638 SHA-256 (what cnf.jkt holds)', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    const signed = await new SignJWT({ htm: 'GET', htu: URL_CALLED, jti: 'j', ath: accessTokenHash(TOKEN) }).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk }).setIssuedAt().sign(privateKey);
    expect(await verifyDpopProof([signed], EXPECTED, POLICY)).toMatchObject({ ok: true, thumbprint: await calculateJwkThumbprint(jwk) });
  });
});

describe('DPoP replay cache', () => {
  const accepted = (jti: string, acceptableUntil: number, thumbprint = 'key-1'): VerifiedProof => ({ thumbprint, jti, acceptableUntil });

  test('a jti is accepted once per key while its proof could still pass, and again only after', () => {
    const cache = new DpopReplayCache(10);
    expect(cache.firstUse(accepted('a', 2_000), 1_000)).toBe(true);
    expect(cache.firstUse(accepted('a', 2_000), 1_500)).toBe(false);
    expect(cache.firstUse(accepted('a', 2_000, 'key-2'), 1_500)).toBe(true);
    expect(cache.firstUse(accepted('a', 3_000), 2_000)).toBe(true);
  });

  test('bounded in size, expired entries swept first', () => {
    const cache = new DpopReplayCache(2);
    cache.firstUse(accepted('a', 1_000), 0);
    cache.firstUse(accepted('b', 5_000), 0);
    cache.firstUse(accepted('c', 5_000), 2_000); // 'a' has expired: swept, nothing live pushed out
    expect(cache.size).toBe(2);
    expect(cache.firstUse(accepted('b', 5_000), 2_000)).toBe(false);
  });
});
