import { generateKeyPairSync, randomBytes } from 'node:crypto';

import { ClientValidationError, validateNewClient } from '../../src/clients/index.js';

const valid = { name: 'Partner', grantTypes: ['client_credentials'], scopes: ['api:read'] };
const RSA_1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
const ED25519 = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
const X25519 = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' });
/** An RSA public JWK with a modulus of exactly `bits` bits (random, odd): Node loads any such modulus, and generating real keys this size takes minutes. */
const rsaOfBits = (bits: number) => {
  const modulus = randomBytes(bits / 8);
  modulus[0] = (modulus[0] ?? 0) | 0x80;
  modulus[modulus.length - 1] = (modulus[modulus.length - 1] ?? 0) | 1;
  return { kty: 'RSA', n: modulus.toString('base64url'), e: 'AQAB' };
};

/** The ClientValidationError `validate` throws. */
function catchValidationError(validate: () => unknown): ClientValidationError {
  try {
    validate();
  } catch (error) {
    if (error instanceof ClientValidationError) return error;
    throw error;
  }
  throw new Error('no ClientValidationError thrown');
}

const nativeApp = { name: 'CLI', applicationType: 'native', grantTypes: ['authorization_code'], scopes: ['openid'], redirectUris: ['http://127.0.0.1/cb'] };

describe('client registration validation', () => {
  test('a valid registration passes and is returned typed', () => {
    expect(validateNewClient(valid)).toEqual(valid);
    expect(
      validateNewClient({ ...valid, grantTypes: ['authorization_code'], redirectUris: ['https://app.example/cb', 'http://127.0.0.1:8080/cb'] }),
    ).toMatchObject({ redirectUris: ['https://app.example/cb', 'http://127.0.0.1:8080/cb'] });
  });

  test('RSA keys of 2048 to 8192 bits are taken', () => {
    for (const bits of [2048, 8192]) {
      const jwks = { keys: [rsaOfBits(bits)] };
      expect(validateNewClient({ ...valid, authMethod: 'private_key_jwt', jwks })).toMatchObject({ jwks });
    }
  });

  test('a native app may use loopback IP literals over http, claimed https URIs and reverse-domain private-use schemes', () => {
    const redirectUris = ['http://127.0.0.1/cb', 'http://127.0.0.1:8400/cb', 'http://[::1]/cb', 'https://app.example/cb', 'com.example.app:/cb', 'com.example.app://cb'];
    expect(validateNewClient({ ...nativeApp, redirectUris })).toMatchObject({ applicationType: 'native', redirectUris });
    expect(validateNewClient({ ...nativeApp, authMethod: 'none' })).toMatchObject({ authMethod: 'none' });
  });

  test('a name that needs a zero-width non-joiner (Persian) or joiner (emoji) passes', () => {
    for (const name of ['\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645', 'Family \u{1F468}\u200D\u{1F469}\u200D\u{1F467}']) {
      expect(validateNewClient({ ...valid, name })).toMatchObject({ name });
    }
  });

  test('a private_key_jwt client with a real public key passes', () => {
    expect(validateNewClient({ ...valid, authMethod: 'private_key_jwt', jwks: { keys: [ED25519] } })).toMatchObject({ jwks: { keys: [ED25519] } });
  });

  test.each([
    ['an empty name', { ...valid, name: '  ' }, ['name'], /./],
    ['a name with a control character', { ...valid, name: 'Part\u0000ner' }, ['name'], /./],
    ['a name with a right-to-left override', { ...valid, name: 'Photos\u202Egnp.exe' }, ['name'], /./],
    ['a name with a line separator', { ...valid, name: 'Part\u2028ner' }, ['name'], /./],
    ['a name of zero-width characters only', { ...valid, name: '\u200B\u200B' }, ['name'], /./],
    ['an X25519 key, which cannot sign', { ...valid, authMethod: 'private_key_jwt', jwks: { keys: [X25519] } }, ['jwks', 'keys', 0], /./],
    ['a key marked for encryption', { ...valid, authMethod: 'private_key_jwt', jwks: { keys: [{ ...ED25519, use: 'enc' }] } }, ['jwks', 'keys', 0], /./],
    ['an unknown grant type', { ...valid, grantTypes: ['implicit'] }, ['grantTypes', 0], /./],
    ['no grant type', { ...valid, grantTypes: [] }, ['grantTypes'], /./],
    ['a scope with a space or quote', { ...valid, scopes: ['api "read'] }, ['scopes', 0], /./],
    ['a client id with a slash', { ...valid, clientId: 'a/b' }, ['clientId'], /./],
    ['a client id with the prefix of customer ids', { ...valid, clientId: 'C-lookalike01' }, ['clientId'], /./],
    ['a redirect URI with a wildcard', { ...valid, grantTypes: ['authorization_code'], redirectUris: ['https://*.example.com/cb'] }, ['redirectUris', 0], /./],
    ['client_credentials without client authentication', { ...valid, authMethod: 'none' }, ['grantTypes'], /./],
    ['keys on a client that does not authenticate with them', { ...valid, jwks: { keys: [ED25519] } }, ['jwks'], /./],
    ['an http redirect URI off loopback', { ...valid, grantTypes: ['authorization_code'], redirectUris: ['http://app.example/cb'] }, ['redirectUris', 0], /./],
    ['a redirect URI with a fragment', { ...valid, grantTypes: ['authorization_code'], redirectUris: ['https://app.example/cb#x'] }, ['redirectUris', 0], /./],
    ['authorization_code without redirect URIs', { ...valid, grantTypes: ['authorization_code'] }, ['redirectUris'], /./],
    ['private_key_jwt without keys', { ...valid, authMethod: 'private_key_jwt' }, ['jwks'], /./],
    ['a key that is no key (a 12-bit RSA modulus)', { ...valid, authMethod: 'private_key_jwt', jwks: { keys: [{ kty: 'RSA', n: 'abc', e: 'AQAB' }] } }, ['jwks', 'keys', 0], /./],
    ['a 1024-bit RSA key', { ...valid, authMethod: 'private_key_jwt', jwks: { keys: [RSA_1024] } }, ['jwks', 'keys', 0], /./],
    // Each assertion of its client would cost about a thousand 2048-bit verifications.
    ['a 60000-bit RSA key', { ...valid, authMethod: 'private_key_jwt', jwks: { keys: [rsaOfBits(60_000)] } }, ['jwks', 'keys', 0], /8192/],
    ['an 8200-bit RSA key', { ...valid, authMethod: 'private_key_jwt', jwks: { keys: [rsaOfBits(8200)] } }, ['jwks', 'keys', 0], /./],
    ['a private key in jwks', { ...valid, authMethod: 'private_key_jwt', jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'x', d: 'secret' }] } }, ['jwks', 'keys', 0], /./],
    ['an unknown field', { ...valid, admin: true }, [], /admin/],
    ['a short secret', { ...valid, secret: 'short' }, ['secret'], /./],
    ['a native app with an http URI off loopback', { ...nativeApp, redirectUris: ['http://app.example/cb'] }, ['redirectUris', 0], /./],
    ['a native app with localhost (RFC 8252 8.3)', { ...nativeApp, redirectUris: ['http://localhost/cb'] }, ['redirectUris', 0], /127\.0\.0\.1/],
    ['a native app with a scheme that is no reverse domain name', { ...nativeApp, redirectUris: ['myapp:/cb'] }, ['redirectUris', 0], /./],
    ['a native app with a loopback address in another spelling', { ...nativeApp, redirectUris: ['http://2130706433/cb'] }, ['redirectUris', 0], /./],
    ['a native app with userinfo before the loopback address', { ...nativeApp, redirectUris: ['http://app@127.0.0.1/cb'] }, ['redirectUris', 0], /./],
    ['a native app with a wildcard', { ...nativeApp, redirectUris: ['com.example.app:/*'] }, ['redirectUris', 0], /./],
    ['a native app with a client secret', { ...nativeApp, authMethod: 'client_secret_basic' }, ['authMethod'], /./],
    ['a native app with private_key_jwt', { ...nativeApp, authMethod: 'private_key_jwt', jwks: { keys: [ED25519] } }, ['authMethod'], /./],
    ['a web app with a private-use scheme', { ...valid, grantTypes: ['authorization_code'], redirectUris: ['com.example.app:/cb'] }, ['redirectUris', 0], /./],
  ])('refuses %s, naming the field', (_label, input, path, problem) => {
    // The registry names the field as NewClient does; the admin API renames it (admin/field-names.ts).
    const error = catchValidationError(() => validateNewClient(input));
    expect(error.path).toEqual(path);
    expect(error.problem).toMatch(problem);
    expect(error.message).toBe(`${path.join('.') || 'client'}: ${error.problem}`);
  });
});
