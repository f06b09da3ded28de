import { answerAfterReconnect, DEMO, postForm, serverOnOwnDatabase } from '../support/server.js';

/**
 * Issue 3 item 6: while serving, a lost database answers OAuth requests with 503 temporarily_unavailable
 * (RFC 6749 JSON, not oidc-provider's 500 server_error), the process stays up, and it recovers by itself
 * when the database returns. A private FerretDB is halted and resumed in the middle of the test.
 */
describe('the database goes away while serving', () => {
  const own = serverOnOwnDatabase();

  const token = () => postForm(`${own.server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, DEMO);

  test('503 temporarily_unavailable while it is down, then recovery without a restart', async () => {
    const before = await token();
    expect(before.status).toBe(200);
    const accessToken = String(before.body.access_token);

    await own.ferret.halt();

    const issued = await token();
    expect(issued.status).toBe(503);
    expect(issued.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
    expect(issued.headers.get('retry-after')).toBe('5');
    expect(issued.headers.get('content-type')).toMatch(/application\/json/);

    const introspection = await postForm(`${own.server.baseUrl}/token/introspection`, { token: accessToken }, DEMO);
    expect(introspection.status).toBe(503);
    expect(introspection.body.error).toBe('temporarily_unavailable');

    const revocation = await postForm(`${own.server.baseUrl}/token/revocation`, { token: accessToken }, DEMO);
    expect(revocation.status).toBe(503);
    expect(revocation.body.error).toBe('temporarily_unavailable');

    const ready = await fetch(`${own.server.baseUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'not_ready', checks: { store: 'unavailable' } });
    // Liveness is the process, not the database: the orchestrator must not restart us for this.
    expect((await fetch(`${own.server.baseUrl}/healthz`)).status).toBe(200);

    await own.ferret.resume();

    expect((await answerAfterReconnect(token)).status).toBe(200);
    const afterIntrospection = await postForm(`${own.server.baseUrl}/token/introspection`, { token: accessToken }, DEMO);
    expect(afterIntrospection.body).toMatchObject({ active: true });
    expect((await fetch(`${own.server.baseUrl}/readyz`)).status).toBe(200);

    // Every failure was answered; the logs say why and hold no secret.
    expect(own.server.logs.text).not.toContain(accessToken);
    expect(own.server.logs.text).not.toContain(DEMO.secret);
  }, 120_000);
});
