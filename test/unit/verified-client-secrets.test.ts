import { randomBytes } from 'node:crypto';

import { hashClientSecret, VerifiedClientSecrets } from '../../src/clients/index.js';
import { ServerSecrets } from '../../src/secrets/index.js';

const secrets = new ServerSecrets({ id: 'k1', key: randomBytes(32) });

describe.each([
  ['remembering verified secrets', { ttlMs: 60_000, maxEntries: 10 }],
  ['with the client cache turned off', { ttlMs: 0, maxEntries: 10 }],
])('client secret checks %s', (_, options) => {
  test('the right secret verifies every time and a wrong one never does, before or after it', () => {
    const verified = new VerifiedClientSecrets(secrets, options);
    const stored = hashClientSecret(secrets, 'right-secret');
    expect(verified.matches(stored, 'wrong-secret')).toBe(false);
    expect(verified.matches(stored, 'right-secret')).toBe(true);
    expect(verified.matches(stored, 'right-secret')).toBe(true);
    expect(verified.matches(stored, 'wrong-secret')).toBe(false);
    expect(verified.matches(stored, 'right-secret-')).toBe(false);
    expect(verified.matches(stored, '')).toBe(false);
  });

  test('after a rotation the old secret does not match the new hash', () => {
    const verified = new VerifiedClientSecrets(secrets, options);
    const before = hashClientSecret(secrets, 'old-secret');
    expect(verified.matches(before, 'old-secret')).toBe(true);
    const after = hashClientSecret(secrets, 'new-secret');
    expect(verified.matches(after, 'old-secret')).toBe(false);
    expect(verified.matches(after, 'new-secret')).toBe(true);
  });

  test('a hash made under another master key never matches', () => {
    const verified = new VerifiedClientSecrets(secrets, options);
    const foreign = hashClientSecret(new ServerSecrets({ id: 'k1', key: randomBytes(32) }), 'secret');
    expect(verified.matches(foreign, 'secret')).toBe(false);
  });
});
