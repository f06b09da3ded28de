import { adminRequest, TEST_ADMIN_TOKEN } from '../support/admin.js';
import { DEMO, postForm, testServer } from '../support/server.js';

describe('Prometheus metrics on the admin port', () => {
  const running = testServer({ store: 'mongodb', env: { ADMIN_TOKEN: TEST_ADMIN_TOKEN } });

  const scrape = async () => {
    const response = await adminRequest(running.server.adminUrl ?? '', 'GET', '/metrics', { token: null });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.body as string;
  };

  test('after a client-credentials flow, the named series are there with the right labels', async () => {
    const token = async (form: Record<string, string>, basic = DEMO) => postForm(`${running.server.baseUrl}/token`, form, basic);
    expect((await token({ grant_type: 'client_credentials', scope: 'api:read' })).status).toBe(200);
    expect((await token({ grant_type: 'client_credentials', scope: 'api:read' })).status).toBe(200);
    expect((await token({ grant_type: 'client_credentials' }, { id: DEMO.id, secret: 'wrong' })).status).toBe(401);
    expect((await token({ grant_type: 'urn:example:made-up-1' })).status).toBe(400);
    expect((await fetch(`${running.server.baseUrl}/interaction/some-random-uid-123`)).status).toBeGreaterThanOrEqual(400);
    // The seeded demo user has TOTP enrolled: the password step answers 403 mfa_required.
    const passwordStep = await token({ grant_type: 'password', username: running.server.config.demo.userEmail, password: running.server.config.demo.userPassword, scope: 'api:read' });
    expect(passwordStep.body.error).toBe('mfa_required');
    expect((await fetch(`${running.server.baseUrl}/healthz`)).status).toBe(200);

    const text = await scrape();
    expect(text).toContain('authtoken_tokens_issued_total{grant="client_credentials",outcome="success"} 2');
    expect(text).toContain('authtoken_tokens_issued_total{grant="client_credentials",outcome="invalid_client"} 1');
    // An unsupported grant_type is caller-chosen text: it must not become a label value.
    expect(text).toContain('authtoken_tokens_issued_total{grant="other",outcome="unsupported_grant_type"} 1');
    expect(text).not.toContain('made-up-1');
    expect(text).toContain('authtoken_tokens_issued_total{grant="password",outcome="mfa_required"} 1');
    expect(text).not.toContain('grant="password",outcome="success"');

    expect(text).toMatch(/^authtoken_http_request_duration_seconds_count\{route="\/token",method="POST",status="2xx"\} 2$/m);
    expect(text).toMatch(/^authtoken_http_request_duration_seconds_count\{route="\/healthz",method="GET",status="2xx"\} 1$/m);
    expect(text).toMatch(/^authtoken_http_request_duration_seconds_bucket\{le="0.005",route="\/token",method="POST",status="4xx"\} \d+$/m);
    expect(text).not.toContain('some-random-uid-123');

    for (const operation of ['findOne', 'replace', 'insert']) {
      expect(text).toMatch(new RegExp(`^authtoken_store_operation_duration_seconds_count\\{operation="${operation}"\\} [1-9]\\d*$`, 'm'));
    }
    // Declared for the MFA and lockout code (issue 4), which increments them.
    expect(text).toContain('# TYPE authtoken_mfa_challenges_total counter');
    expect(text).toContain('# TYPE authtoken_lockouts_total counter');
    expect(text).toContain('authtoken_process_cpu_seconds_total');
    const unprefixed = text.split('\n').filter((line) => line && !line.startsWith('#') && !line.startsWith('authtoken_'));
    expect(unprefixed).toEqual([]);
  });
});
