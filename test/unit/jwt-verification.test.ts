import { generateKeyPairSync } from 'node:crypto';

import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { SignJWT, importJWK, type JWK } from 'jose';

import { AccessTokenVerifier } from '../../src/tokens/index.js';

const ISSUER = 'http://127.0.0.1:3000';

function signingKey(kid: string): JWK {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }) as JWK;
  return { ...jwk, kid, alg: 'EdDSA', use: 'sig' };
}

async function accessToken(jwk: JWK, lifetimeSeconds: number, claims: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ client_id: 'partner', scope: 'api:read', ...claims })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: jwk.kid })
    .setIssuer(ISSUER)
    .setSubject('partner')
    .setJti(`jti-${Math.random()}`)
    .setIssuedAt(now)
    .setExpirationTime(now + lifetimeSeconds)
    .sign(await importJWK(jwk, 'EdDSA'));
}

describe('AccessTokenVerifier', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  test('verifies our tokens, and answers a repeated token with the same claims', async () => {
    const key = signingKey('k1');
    const verifier = new AccessTokenVerifier(ISSUER, [key as never]);
    const token = await accessToken(key, 60);
    const first = await verifier.verify(token);
    expect(first).toMatchObject({ client_id: 'partner', iss: ISSUER, sub: 'partner' });
    expect(await verifier.verify(token)).toEqual(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  test('a remembered token stops verifying once it expires', async () => {
    jest.useFakeTimers({ now: new Date('2026-11-28T12:00:00Z'), doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const key = signingKey('k1');
    const verifier = new AccessTokenVerifier(ISSUER, [key as never]);
    const token = await accessToken(key, 30);
    expect(await verifier.verify(token)).toBeDefined();
    jest.setSystemTime(new Date('2026-11-28T12:00:31Z'));
    expect(await verifier.verify(token)).toBeUndefined();
    expect(await verifier.verify(token)).toBeUndefined();
  });

  test('tokens of another key, issuer or type, and tampered tokens, are refused (and refusals are not remembered)', async () => {
    const key = signingKey('k1');
    const stranger = signingKey('k1');
    const verifier = new AccessTokenVerifier(ISSUER, [key as never]);
    expect(await verifier.verify(await accessToken(stranger, 60))).toBeUndefined();
    const valid = await accessToken(key, 60);
    const [header, payload, signature] = valid.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), scope: 'admin:all' })).toString('base64url');
    expect(await verifier.verify(`${header}.${forged}.${signature}`)).toBeUndefined();
    expect(await verifier.verify(`${header}.${forged}.${signature}`)).toBeUndefined();
    const otherIssuer = new AccessTokenVerifier('http://elsewhere', [key as never]);
    expect(await otherIssuer.verify(valid)).toBeUndefined();
    expect(await verifier.verify(valid)).toBeDefined();
  });
});
