import { decodeKey, parseGenerateTokenRequest } from '../../src/generate-token-api/index.js';
import { ExpiringCache } from '../../src/resource-server/token-cache.js';

describe('Generate Token API parameters', () => {
  test('the key is strict base64 (standard or URL alphabet) of UTF-8', () => {
    expect(decodeKey(Buffer.from('pässwörd 1').toString('base64'))).toBe('pässwörd 1');
    expect(decodeKey(Buffer.from('??>>').toString('base64url'))).toBe('??>>');
    expect(decodeKey('cGFzcw')).toBe('pass'); // padding optional
    expect(decodeKey('not base64!')).toBeUndefined();
    expect(decodeKey('a')).toBeUndefined(); // a lone character is no byte
    expect(decodeKey(Buffer.from([0xc3, 0x28]).toString('base64'))).toBeUndefined(); // invalid UTF-8
  });

  test('messages name the parameter, never the value', () => {
    const parsed = parseGenerateTokenRequest({ customerId: 'C-1', key: 'secret value!', email: 'a@example.com', country: 'DE', scope: 'api:read' });
    expect(parsed).toEqual({ ok: false, message: expect.stringContaining("'key'") });
    expect(JSON.stringify(parsed)).not.toContain('secret value!');
  });

  test('a parameter given as something else than one string is named as invalid, not as missing', () => {
    const base = { customerId: 'C-1', key: 'c2VjcmV0', email: 'a@example.com', country: 'DE' };
    for (const customerId of [123, { $ne: null }, ['C-1', 'C-2'], true]) {
      expect(parseGenerateTokenRequest({ ...base, customerId })).toEqual({ ok: false, message: "invalid parameter 'customerId': must be given once, as a string" });
    }
    expect(parseGenerateTokenRequest({ mfaToken: 't', otp: 123456 })).toEqual({ ok: false, message: "invalid parameter 'otp': must be given once, as a string" });
    expect(parseGenerateTokenRequest({ ...base, customerId: undefined })).toEqual({ ok: false, message: "missing required parameter 'customerId'" });
  });

  test('an mfa_token selects the second step, with exactly one code', () => {
    expect(parseGenerateTokenRequest({ mfa_token: 't', otp: '123456' })).toEqual({ ok: true, request: { kind: 'second-factor', mfaToken: 't', otp: '123456' } });
    expect(parseGenerateTokenRequest({ mfaToken: 't', otp: '123456', recoveryCode: 'r' }).ok).toBe(false);
  });
});

describe('introspection cache (the revocation bound of the resource-server middleware)', () => {
  test('an answer is reused until its time, then gone', () => {
    const cache = new ExpiringCache<string>(10);
    cache.set('k', 'active', 1_000);
    expect(cache.get('k', 999)).toBe('active');
    expect(cache.get('k', 1_000)).toBeUndefined();
  });

  test('bounded in size: the oldest entry goes first', () => {
    const cache = new ExpiringCache<number>(2);
    cache.set('a', 1, Infinity);
    cache.set('b', 2, Infinity);
    cache.set('c', 3, Infinity);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([undefined, 2, 3]);
  });

  test('keys are hashes, not tokens', () => {
    expect(ExpiringCache.key('the-token')).not.toContain('the-token');
  });
});
