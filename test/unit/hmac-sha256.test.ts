import { createHmac, hkdfSync, randomBytes } from 'node:crypto';

import { HmacSha256 } from '../../src/secrets/hmac-sha256.js';
import { ServerSecrets } from '../../src/secrets/index.js';

const reference = (key: Buffer, message: string | Buffer) => createHmac('sha256', key).update(message).digest('base64url');

describe('HMAC-SHA-256 on one-shot hashes', () => {
  // Every stored token id, client secret hash and CSRF token depends on these bytes being createHmac's.
  test.each([0, 1, 31, 32, 63, 64, 65, 100, 200])('matches createHmac for a %i-byte key', (keyBytes) => {
    const key = randomBytes(keyBytes);
    const mac = new HmacSha256(key);
    for (const message of ['', 'a', 'client-secret$with-salt', 'ünïcødé ✓ 🔑', 'x'.repeat(55), 'y'.repeat(64), 'z'.repeat(70_000)]) {
      expect(mac.digest(message)).toBe(reference(key, message));
    }
    const binary = randomBytes(300);
    expect(mac.digest(binary)).toBe(reference(key, binary));
  });

  test('RFC 4231 test case 2', () => {
    const mac = new HmacSha256(Buffer.from('Jefe'));
    expect(Buffer.from(mac.digest('what do ya want for nothing?'), 'base64url').toString('hex')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  test('keyed hashes stored before the change still match (same HKDF key, same HMAC)', () => {
    const master = randomBytes(32);
    const secrets = new ServerSecrets({ id: 'k1', key: master });
    const derived = Buffer.from(hkdfSync('sha256', master, Buffer.from('authtoken-server/v1'), 'token-hash/k1', 32));
    expect(secrets.keyedHash('token-hash', 'token-id')).toBe(`k1.${reference(derived, 'token-id')}`);
  });
});
