import { dpopProof, newDpopKey } from '../support/dpop.js';
import { requestWithHost } from '../support/host-request.js';
import { DEMO, testServer } from '../support/server.js';

const basic = `Basic ${Buffer.from(`${DEMO.id}:${DEMO.secret}`).toString('base64')}`;

/**
 * oidc-provider builds the URLs it publishes and checks (discovery's endpoints, a DPoP proof's `htu`, client
 * assertion audiences) from the request's Host header. Anyone can send any Host:
 * a cache in front of discovery could then serve an attacker's endpoints to every client, and a DPoP proof
 * made for another server's token endpoint could be replayed here under that server's name. Every URL is
 * built from ISSUER instead, as Hydra (`urls.self.issuer`) and Keycloak (strict hostname) do; only a browser's
 * own navigation stays on its host (test/e2e/browser-host.test.ts). Store-independent.
 */
describe('endpoint URLs come from ISSUER, never from the Host header', () => {
  const running = testServer({ store: 'memory' });

  test('discovery fetched under another Host lists only endpoints under ISSUER', async () => {
    const discovery = await requestWithHost(running.server.baseUrl, 'attacker.example', '/.well-known/openid-configuration');
    expect(discovery.status).toBe(200);
    const document = discovery.body as Record<string, unknown>;
    const urls = Object.entries(document).filter(([name, value]) => typeof value === 'string' && (name.endsWith('_endpoint') || name.endsWith('_uri')));
    expect(urls.map(([name]) => name)).toEqual(expect.arrayContaining(['token_endpoint', 'jwks_uri', 'introspection_endpoint', 'revocation_endpoint', 'authorization_endpoint']));
    // Each URL is the issuer's origin with the endpoint's path: only the path may come from the endpoint.
    for (const [name, value] of urls) expect({ name, value }).toEqual({ name, value: `${running.server.config.issuer}${new URL(String(value)).pathname}` });
    expect(JSON.stringify(document)).not.toContain('attacker.example');
  });

  test('a DPoP proof must name the token endpoint under ISSUER, whatever Host the request came with', async () => {
    const key = await newDpopKey();
    const tokenRequest = async (host: string, htu: string) =>
      requestWithHost(running.server.baseUrl, host, '/token', {
        form: { grant_type: 'client_credentials', scope: 'api:read' },
        headers: { authorization: basic, dpop: await dpopProof(key, { htm: 'POST', htu }) },
      });
    const forOtherServer = await tokenRequest('other-as.example', 'http://other-as.example/token');
    expect(forOtherServer.status).toBe(400);
    expect(forOtherServer.body).toMatchObject({ error: 'invalid_dpop_proof' });

    // A proxy passing its upstream name as Host changes nothing for a proof made for this server.
    const viaProxy = await tokenRequest('authtoken-upstream:3000', `${running.server.config.issuer}/token`);
    expect(viaProxy.status).toBe(200);
    expect(viaProxy.body).toMatchObject({ token_type: 'DPoP' });
  });
});
