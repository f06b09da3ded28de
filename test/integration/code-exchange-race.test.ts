import { createHash, randomBytes } from 'node:crypto';

import { createTestAccount, DEMO_REDIRECT_URI, issueAuthorizationCode } from '../support/authorization-code.js';
import { postForm, STORE_KINDS, testServer } from '../support/server.js';

/**
 * Two concurrent exchanges of one authorization code over the real token endpoint: exactly one gets
 * tokens, the other invalid_grant. The code is minted through oidc-provider's own models because the
 * login pages (which would normally produce it) are another issue's work.
 */
describe.each(STORE_KINDS)('authorization code exchange race on the %s store', (storeKind) => {
  let client: { id: string; secret: string };
  let accountId: string;
  const running = testServer({ store: storeKind });
  beforeAll(async () => {
    accountId = await createTestAccount(running.server.application);
    const created = await running.server.application.clients.create({
      name: 'race client',
      grantTypes: ['authorization_code'],
      scopes: ['api:read'],
      redirectUris: [DEMO_REDIRECT_URI],
    });
    client = { id: created.clientId, secret: created.clientSecret as string };
  });

  test('exactly one of two concurrent exchanges succeeds', async () => {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const verifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const code = await issueAuthorizationCode(running.server.application.provider, { clientId: client.id, codeChallenge: challenge, accountId });
      const exchange = () =>
        postForm(
          `${running.server.baseUrl}/token`,
          { grant_type: 'authorization_code', code, redirect_uri: DEMO_REDIRECT_URI, code_verifier: verifier },
          client,
        );
      const responses = await Promise.all([exchange(), exchange()]);
      const statuses = responses.map((response) => response.status).sort();
      expect(statuses).toEqual([200, 400]);
      const loser = responses.find((response) => response.status === 400);
      expect(loser?.body.error).toBe('invalid_grant');
      const winner = responses.find((response) => response.status === 200);
      expect(typeof winner?.body.access_token).toBe('string');
    }
  });
});
