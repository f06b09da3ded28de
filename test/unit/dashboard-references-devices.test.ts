import { randomBytes } from 'node:crypto';

import { describeDevice } from '../../src/dashboard/device-description.js';
import { RecordReferences } from '../../src/dashboard/references.js';
import { ServerSecrets } from '../../src/secrets/index.js';

const key = (id: string) => ({ id, key: randomBytes(32) });

describe('sealed references to stored records (dashboard)', () => {
  const references = new RecordReferences(new ServerSecrets(key('k1')));
  const storedId = 'k1.hashed-token-id';

  test('open only for the account and kind they were sealed for', () => {
    const reference = references.seal('AccessToken', 'C-alice', storedId);
    expect(reference).not.toContain(storedId);
    expect(references.open('AccessToken', 'C-alice', reference)).toBe(storedId);
    expect(references.open('AccessToken', 'C-bob', reference)).toBeUndefined();
    expect(references.open('RefreshToken', 'C-alice', reference)).toBeUndefined();
  });

  test('a reference changes on every sealing and cannot be forged or altered', () => {
    const first = references.seal('AccessToken', 'C-alice', storedId);
    expect(references.seal('AccessToken', 'C-alice', storedId)).not.toBe(first);
    const parts = first.split('.');
    const altered = [parts[0], parts[1], `A${String(parts[2]).slice(1)}`, parts[3]].join('.');
    for (const forged of ['', 'x', storedId, altered, 'k9.a.b.c', 'k1...', first.repeat(5)]) {
      expect(references.open('AccessToken', 'C-alice', forged)).toBeUndefined();
    }
  });

  test('references made before a master-key rotation still open', () => {
    const old = key('k1');
    const before = new RecordReferences(new ServerSecrets(old)).seal('sign-in', 'C-alice', storedId);
    expect(new RecordReferences(new ServerSecrets(key('k2'), [old])).open('sign-in', 'C-alice', before)).toBe(storedId);
  });
});

describe('device descriptions from user agents', () => {
  test.each([
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36', 'Chrome 140 on Linux (desktop)'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1', 'Safari 17 on iOS (iPhone)'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0', 'Firefox 128 on Windows (desktop)'],
    ['curl/8.5.0', 'curl/8.5.0'],
    ['', 'Unknown device'],
    ['   ', 'Unknown device'],
  ])('%j -> %s', (userAgent, description) => {
    expect(describeDevice(userAgent)).toBe(description);
  });

  test('an unrecognised long user agent is shortened, not guessed at', () => {
    const described = describeDevice(`custom-agent/${'x'.repeat(150)}`);
    expect(described.length).toBeLessThanOrEqual(60);
    expect(described.endsWith('…')).toBe(true);
  });
});
