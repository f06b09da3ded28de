import { randomBytes } from 'node:crypto';

import { ServerSecrets } from '../../src/secrets/index.js';

const key = (id: string) => ({ id, key: randomBytes(32) });

describe('server secrets derived from the master key', () => {
  test('keyed hashes are deterministic per key and differ across keys and purposes', () => {
    const secrets = new ServerSecrets(key('k1'));
    expect(secrets.keyedHash('token-hash', 'value')).toBe(secrets.keyedHash('token-hash', 'value'));
    expect(secrets.keyedHash('token-hash', 'value')).not.toBe(secrets.keyedHash('code-hash', 'value'));
    expect(new ServerSecrets(key('k1')).keyedHash('token-hash', 'value')).not.toBe(secrets.keyedHash('token-hash', 'value'));
    expect(secrets.keyedHash('token-hash', 'value')).toMatch(/^k1\./);
  });

  test('repeated keyed hashes (answered from the last one) equal fresh ones, across values, key ids and purposes', () => {
    const current = key('k2');
    const previous = key('k1');
    const secrets = new ServerSecrets(current, [previous]);
    const fresh = () => new ServerSecrets(current, [previous]);
    const calls: [Parameters<ServerSecrets['keyedHash']>[0], string, string][] = [
      ['token-hash', 'a', 'k2'], ['token-hash', 'a', 'k2'], ['token-hash', 'a', 'k1'], ['token-hash', 'a', 'k2'],
      ['code-hash', 'a', 'k2'], ['token-hash', 'b', 'k2'], ['token-hash', 'a', 'k2'], ['token-hash', 'a', 'k1'],
    ];
    for (const [purpose, value, keyId] of calls) {
      expect(secrets.keyedHash(purpose, value, keyId)).toBe(fresh().keyedHash(purpose, value, keyId));
    }
    expect(secrets.keyedHash('token-hash', 'a', 'k1')).not.toBe(secrets.keyedHash('token-hash', 'a', 'k2'));
  });

  test('data sealed under a previous master key stays readable after rotation', () => {
    const old = key('k1');
    const sealed = new ServerSecrets(old).encrypt('totp-encryption', 'JBSWY3DPEHPK3PXP', 'account-1');
    const rotated = new ServerSecrets(key('k2'), [old]);
    expect(rotated.decrypt('totp-encryption', sealed, 'account-1').toString()).toBe('JBSWY3DPEHPK3PXP');
    expect(rotated.keyedHashCandidates('token-hash', 't')).toHaveLength(2);
  });

  test('tampered or misattributed ciphertext is rejected', () => {
    const secrets = new ServerSecrets(key('k1'));
    const sealed = secrets.encrypt('totp-encryption', 'secret', 'account-1');
    expect(() => secrets.decrypt('totp-encryption', sealed, 'account-2')).toThrow();
  });
});
