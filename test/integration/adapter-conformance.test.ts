import { randomBytes, randomUUID } from 'node:crypto';

import { errors, type AdapterPayload } from 'oidc-provider';

import { collectionName, OIDC_MODELS, ensureOidcIndexes } from '../../src/provider/index.js';
import { StoreAdapter } from '../../src/provider/adapter.js';
import { ServerSecrets } from '../../src/secrets/index.js';
import type { Store } from '../../src/store/index.js';
import { STORE_KINDS } from '../support/server.js';
import { openStore, past } from '../support/stores.js';

const masterKey = (id: string) => ({ id, key: randomBytes(32) });

/**
 * oidc-provider's adapter contract, for every model it persists, on both stores: one suite, both
 * implementations (issue 3 item 7).
 */
describe.each(STORE_KINDS)('oidc-provider adapter conformance on the %s store', (storeKind) => {
  let store: Store;
  const secrets = new ServerSecrets(masterKey('k1'));
  const adapter = (model: string) => new StoreAdapter(model, store, secrets);

  beforeAll(async () => {
    store = await openStore(storeKind);
    await ensureOidcIndexes(store);
  });
  afterAll(async () => {
    await store.close();
  });

  /** A payload shaped like oidc-provider's, with a unique uid so the test can find the stored document. */
  const payloadFor = (model: string, id: string, extra: Partial<AdapterPayload> = {}): AdapterPayload => ({
    jti: id,
    kind: model,
    uid: `uid-${randomUUID()}`,
    clientId: 'client-1',
    accountId: 'account-1',
    iat: Math.floor(Date.now() / 1000),
    exp: Math.floor(Date.now() / 1000) + 600,
    scope: 'openid api:read',
    ...extra,
  });

  describe.each([...OIDC_MODELS])('%s', (model) => {
    test('upsert then find returns the payload, with its id; an unknown id is undefined', async () => {
      const id = randomUUID();
      const payload = payloadFor(model, id, { grantId: 'grant-a' });
      await adapter(model).upsert(id, payload, 600);
      expect(await adapter(model).find(id)).toEqual(payload);
      expect(await adapter(model).find(randomUUID())).toBeUndefined();
    });

    test('upsert again replaces the stored payload', async () => {
      const id = randomUUID();
      await adapter(model).upsert(id, payloadFor(model, id, { scope: 'first' }), 600);
      const second = payloadFor(model, id, { scope: 'second' });
      await adapter(model).upsert(id, second, 600);
      expect(await adapter(model).find(id)).toEqual(second);
    });

    test('findByUid finds the record by its uid', async () => {
      const id = randomUUID();
      const payload = payloadFor(model, id);
      await adapter(model).upsert(id, payload, 600);
      const found = await adapter(model).findByUid(payload.uid as string);
      expect(found).toMatchObject({ uid: payload.uid, scope: payload.scope });
      expect(await adapter(model).findByUid('no-such-uid')).toBeUndefined();
    });

    test('find and findByUid never return an expired record, even before a sweep', async () => {
      const id = randomUUID();
      const payload = payloadFor(model, id);
      await adapter(model).upsert(id, payload, 600);
      await store.collection(collectionName(model)).updateOne({ uid: payload.uid as string }, { $set: { expiresAt: past() } });
      expect(await adapter(model).find(id)).toBeUndefined();
      expect(await adapter(model).findByUid(payload.uid as string)).toBeUndefined();
    });

    test('consume sets consumed once; the record stays findable with consumed set; a second consume is InvalidGrant', async () => {
      const id = randomUUID();
      await adapter(model).upsert(id, payloadFor(model, id), 600);
      await adapter(model).consume(id);
      const consumed = await adapter(model).find(id);
      expect(typeof consumed?.consumed).toBe('number');
      await expect(adapter(model).consume(id)).rejects.toBeInstanceOf(errors.InvalidGrant);
    });

    test('two concurrent consume calls: exactly one wins, the loser gets InvalidGrant', async () => {
      const id = randomUUID();
      await adapter(model).upsert(id, payloadFor(model, id), 600);
      const outcomes = await Promise.allSettled([adapter(model).consume(id), adapter(model).consume(id)]);
      expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
      const [rejected] = outcomes.filter((outcome) => outcome.status === 'rejected');
      expect(rejected?.reason).toBeInstanceOf(errors.InvalidGrant);
    });

    test('destroy removes the record', async () => {
      const id = randomUUID();
      await adapter(model).upsert(id, payloadFor(model, id), 600);
      await adapter(model).destroy(id);
      expect(await adapter(model).find(id)).toBeUndefined();
      // Destroying what is not there is not an error.
      await adapter(model).destroy(id);
    });
  });

  test('Session: findByUid also restores the session id (it is stored sealed, never in clear)', async () => {
    const id = randomUUID();
    const payload = payloadFor('Session', id);
    await adapter('Session').upsert(id, payload, 600);
    expect(await adapter('Session').findByUid(payload.uid as string)).toEqual(payload);
  });

  test('DeviceCode: findByUserCode finds the record and restores its user code and id', async () => {
    const id = randomUUID();
    const payload = payloadFor('DeviceCode', id, { userCode: 'BCDF-GHJK' });
    await adapter('DeviceCode').upsert(id, payload, 600);
    expect(await adapter('DeviceCode').findByUserCode('BCDF-GHJK')).toEqual(payload);
    expect(await adapter('DeviceCode').find(id)).toEqual(payload);
    expect(await adapter('DeviceCode').findByUserCode('XXXX-XXXX')).toBeUndefined();
  });

  test('revokeByGrantId removes every record of that grant in every collection, and nothing else', async () => {
    const grantId = `grant-${randomUUID()}`;
    const otherGrantId = `grant-${randomUUID()}`;
    const grantBound = ['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest'];
    const revoked: [string, string][] = [];
    const kept: [string, string][] = [];
    for (const model of grantBound) {
      for (const [grant, list] of [
        [grantId, revoked],
        [otherGrantId, kept],
      ] as const) {
        const id = randomUUID();
        await adapter(model).upsert(id, payloadFor(model, id, { grantId: grant }), 600);
        list.push([model, id]);
      }
    }
    await adapter('Grant').upsert(grantId, { jti: grantId, kind: 'Grant', clientId: 'client-1', accountId: 'account-1' }, 600);

    await adapter('RefreshToken').revokeByGrantId(grantId);

    for (const [model, id] of revoked) expect(await adapter(model).find(id)).toBeUndefined();
    for (const [model, id] of kept) expect(await adapter(model).find(id)).toBeDefined();
    expect(await adapter('Grant').find(grantId)).toBeUndefined();
  });

  test('records written before a master-key rotation are still found, consumed and destroyed after it', async () => {
    const oldKey = masterKey('old');
    const before = new StoreAdapter('RefreshToken', store, new ServerSecrets(oldKey));
    const after = new StoreAdapter('RefreshToken', store, new ServerSecrets(masterKey('new'), [oldKey]));
    const id = randomUUID();
    const payload = payloadFor('RefreshToken', id);
    await before.upsert(id, payload, 600);
    expect(await after.find(id)).toEqual(payload);
    await after.consume(id);
    expect(typeof (await after.find(id))?.consumed).toBe('number');
    await after.destroy(id);
    expect(await before.find(id)).toBeUndefined();
  });

  test('records are stored under a keyed hash of the id, so the id alone does not find them', async () => {
    const id = randomUUID();
    await adapter('AccessToken').upsert(id, payloadFor('AccessToken', id), 600);
    expect(await store.collection(collectionName('AccessToken')).findOne({ _id: id })).toBeNull();
    // A different master key (an attacker with the database but not the key) cannot derive the stored key.
    expect(await new StoreAdapter('AccessToken', store, new ServerSecrets(masterKey('k1'))).find(id)).toBeUndefined();
  });
});
