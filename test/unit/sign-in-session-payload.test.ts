import { describe, expect, test } from '@jest/globals';

import { readStoredPayload } from '../../src/provider/adapter.js';
import { grantsEndingWithSession } from '../../src/provider/sign-in-sessions.js';

/** The grants a stored session's JSON names for revocation when it is signed out from the dashboard. */
const grantsOf = (data: string): string[] => grantsEndingWithSession(readStoredPayload(data));

describe('the grants ending with a sign-in session', () => {
  test('every app authorization’s grant, except those that persist logout (offline_access), as oidc-provider’s logout', () => {
    const data = JSON.stringify({
      accountId: 'acct-1',
      loginTs: 1_700_000_000,
      authorizations: {
        'photo-app': { sid: 's1', grantId: 'grant-photo' },
        'backup-app': { sid: 's2', grantId: 'grant-backup', persistsLogout: true },
        dashboard: { sid: 's3', grantId: 'grant-dashboard', persistsLogout: false },
      },
    });
    expect(grantsOf(data).sort()).toEqual(['grant-dashboard', 'grant-photo']);
  });

  test('one grant named twice is revoked once', () => {
    expect(grantsOf(JSON.stringify({ authorizations: { a: { grantId: 'g' }, b: { grantId: 'g' } } }))).toEqual(['g']);
  });

  test('a record without authorizations, or with malformed ones, names nothing and never throws', () => {
    for (const data of [
      '{}',
      JSON.stringify({ accountId: 'acct-1', loginTs: 1 }),
      JSON.stringify({ authorizations: null }),
      JSON.stringify({ authorizations: 'grant-1' }),
      JSON.stringify({ authorizations: { app: null } }),
      JSON.stringify({ authorizations: { app: 'grant-1' } }),
      JSON.stringify({ authorizations: { app: { sid: 's1' } } }),
      JSON.stringify({ authorizations: { app: { grantId: '' } } }),
      JSON.stringify({ authorizations: { app: { grantId: 42 } } }),
      JSON.stringify({ authorizations: { app: { grantId: ['g'] } } }),
      'not json',
      '',
      'null',
      '[]',
      '"a string"',
    ]) {
      expect(grantsOf(data)).toEqual([]);
    }
  });

  test('malformed entries are skipped, the well-formed ones beside them still count', () => {
    const data = JSON.stringify({ authorizations: { broken: 7, empty: {}, photo: { grantId: 'grant-photo' } } });
    expect(grantsOf(data)).toEqual(['grant-photo']);
  });

  test('the payload parser accepts only JSON objects', () => {
    expect(readStoredPayload('{"loginTs":5}')).toEqual({ loginTs: 5 });
    for (const data of ['not json', 'null', '[]', '3', '"x"']) expect(readStoredPayload(data)).toBeUndefined();
  });
});
