import { randomBytes } from 'node:crypto';

import { EmailedLinks } from '../../src/accounts/index.js';
import { ServerSecrets } from '../../src/secrets/index.js';
import { MemoryStore } from '../../src/store/memory.js';

const secrets = new ServerSecrets({ id: 't', key: randomBytes(32) });

describe('EmailedLinks', () => {
  let store: MemoryStore;
  let links: EmailedLinks;

  beforeEach(() => {
    store = new MemoryStore();
    links = new EmailedLinks(store, secrets, { collection: 'links', purpose: 'test-link', ttlSeconds: 600 });
  });

  test('a link is stored only as a keyed hash and is claimed once; a released link can be claimed again', async () => {
    const token = await links.issue('C-1');
    const stored = await store.collection('links').find({});
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(token);
    expect(await links.isLive(token)).toBe(true);
    const [first, second] = await Promise.all([links.claim(token), links.claim(token)]);
    expect([first, second].filter((accountId) => accountId === 'C-1')).toHaveLength(1);
    expect(await links.isLive(token)).toBe(false);
    await links.release(token);
    expect(await links.claim(token)).toBe('C-1');
    await links.end(token);
    await links.release(token);
    expect(await links.claim(token)).toBeUndefined();
  });

  test('a new link ends the earlier ones; unknown, empty and oversized tokens are dead', async () => {
    const earlier = await links.issue('C-1');
    const later = await links.issue('C-1');
    expect(await links.isLive(earlier)).toBe(false);
    expect(await links.claim(earlier)).toBeUndefined();
    for (const token of ['', 'x'.repeat(129), randomBytes(32).toString('base64url')]) {
      expect(await links.isLive(token)).toBe(false);
      expect(await links.claim(token)).toBeUndefined();
    }
    await links.endAllOf('C-1');
    expect(await links.isLive(later)).toBe(false);
  });

  test('keepEarlierLinks: links live side by side, each with its own password hash, until endAllOf', async () => {
    const signUps = new EmailedLinks(store, secrets, { collection: 'links', purpose: 'test-link', ttlSeconds: 600, keepEarlierLinks: true });
    const earlier = await signUps.issue('C-1', { passwordHash: 'hash-1' });
    const later = await signUps.issue('C-1', { passwordHash: 'hash-2' });
    expect(await signUps.find(earlier)).toEqual({ accountId: 'C-1', passwordHash: 'hash-1' });
    expect(await signUps.find(later)).toEqual({ accountId: 'C-1', passwordHash: 'hash-2' });
    expect(await signUps.claim(earlier)).toBe('C-1');
    expect(await signUps.find(earlier)).toBeUndefined();
    await signUps.endAllOf('C-1');
    expect(await signUps.find(later)).toBeUndefined();
  });

  test('a token of one kind of link does not open another kind kept in the same collection', async () => {
    const other = new EmailedLinks(store, secrets, { collection: 'links', purpose: 'other-link', ttlSeconds: 600 });
    const token = await links.issue('C-1');
    expect(await other.isLive(token)).toBe(false);
    expect(await other.claim(token)).toBeUndefined();
  });
});
