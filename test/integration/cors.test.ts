import { testServer } from '../support/server.js';

describe('CORS only for the web origins registered on a client', () => {
  let spaClientId: string;
  const running = testServer({ store: 'memory' });
  beforeAll(async () => {
    const spa = await running.server.application.clients.create({
      name: 'SPA',
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['openid', 'api:read'],
      redirectUris: ['https://spa.example.com/callback'],
      authMethod: 'none',
      webOrigins: ['https://console.example.com'],
    });
    spaClientId = spa.clientId;
  });

  async function tokenRequestFrom(origin: string): Promise<Response> {
    return fetch(`${running.server.baseUrl}/token`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'not-a-token', client_id: spaClientId }).toString(),
    });
  }

  test('a registered web origin is allowed', async () => {
    const response = await tokenRequestFrom('https://console.example.com');
    expect(response.headers.get('access-control-allow-origin')).toBe('https://console.example.com');
  });

  test("a public client's redirect URI origin is allowed", async () => {
    const response = await tokenRequestFrom('https://spa.example.com');
    expect(response.headers.get('access-control-allow-origin')).toBe('https://spa.example.com');
  });

  test('any other origin gets no CORS permission', async () => {
    const response = await tokenRequestFrom('https://evil.example.net');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('a web origin that is not a bare origin, or is plain http elsewhere than loopback, is refused at registration', async () => {
    for (const origin of ['https://x.example.com/path', 'http://x.example.com']) {
      await expect(
        running.server.application.clients.create({
          name: 'Bad',
          grantTypes: ['authorization_code'],
          scopes: ['openid'],
          redirectUris: ['https://x.example.com/cb'],
          authMethod: 'none',
          webOrigins: [origin],
        }),
      ).rejects.toMatchObject({ name: 'ClientValidationError', path: ['webOrigins', 0] });
    }
  });
});
