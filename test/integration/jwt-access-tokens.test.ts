import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';

import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';

import { collectionName } from '../../src/provider/index.js';
import { issueAuthorizationCode } from '../support/authorization-code.js';
import { totpCode } from '../support/dashboard.js';
import { grantRefreshTokenForUser } from '../support/grants.js';
import { DEMO, postForm, startTestServer, STORE_KINDS, testServer } from '../support/server.js';

const REPORTS_API = 'https://reports.example/api';
const LEDGER_API = 'https://ledger.example/api';

/** Its own access-token lifetime, shorter than both kinds' defaults (which differ here, so each shows). */
const REPORTS_TTL = 900;

const ENV = {
  ACCESS_TOKEN_FORMAT: 'jwt',
  CLIENT_CREDENTIALS_TTL: '1800',
  RESOURCE_SERVERS: JSON.stringify([
    { identifier: REPORTS_API, scopes: ['reports:read', 'admin:reports'], format: 'jwt', signingAlg: 'ES256', accessTokenTtl: REPORTS_TTL },
    { identifier: LEDGER_API, scopes: ['ledger:read'], format: 'opaque' },
  ]),
  SCOPE_ROLE_REQUIREMENTS: JSON.stringify({ 'admin:*': 'admin' }),
};

type Credentials = { id: string; secret: string };
const PASSWORD = 'correct horse battery staple';

describe.each(STORE_KINDS)('JWT AuthTokens, revocation and introspection on the %s store', (storeKind) => {
  let partner: Credentials;
  let administrator: Credentials;
  let reportsApi: Credentials;
  let webApp: Credentials;
  let newUser: (roles?: string[]) => Promise<{ email: string; customerId: string }>;

  const credentials = (created: { clientId: string; clientSecret: string | undefined }): Credentials => ({
    id: created.clientId,
    secret: String(created.clientSecret),
  });

  const running = testServer({ store: storeKind, env: ENV });
  beforeAll(async () => {
    const clients = running.server.application.clients;
    partner = credentials(
      await clients.create({
        name: 'Partner',
        grantTypes: ['client_credentials'],
        scopes: ['api:read', 'reports:read', 'admin:reports', 'ledger:read'],
        roles: ['reporter'],
      }),
    );
    administrator = credentials(
      await clients.create({ name: 'Admin tool', grantTypes: ['client_credentials'], scopes: ['admin:reports'], roles: ['admin'] }),
    );
    reportsApi = credentials(
      await clients.create({ name: 'Reports API', grantTypes: ['client_credentials'], scopes: ['reports:read'], resourceServerAudiences: [REPORTS_API] }),
    );
    webApp = credentials(
      await clients.create({
        name: 'Web app',
        grantTypes: ['authorization_code', 'refresh_token'],
        redirectUris: ['https://app.example/callback'],
        scopes: ['openid', 'offline_access', 'api:read', 'reports:read', 'admin:reports'],
        passwordGrant: true,
      }),
    );
    let users = 0;
    newUser = async (roles = []) => {
      users += 1;
      const email = `user-${users}-${storeKind}@example.com`;
      const account = await running.server.application.accounts.create({ email, password: PASSWORD, roles });
      return { email, customerId: account.customerId };
    };
  });

  const token = async (form: Record<string, string>, client: Credentials = DEMO): Promise<string> => {
    const response = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', ...form }, client);
    expect(response.status).toBe(200);
    return String(response.body.access_token);
  };
  const introspect = (value: string, client: Credentials = DEMO, extra: Record<string, string> = {}) =>
    postForm(`${running.server.baseUrl}/token/introspection`, { token: value, ...extra }, client);
  const revoke = (value: string, client: Credentials = DEMO, extra: Record<string, string> = {}) =>
    postForm(`${running.server.baseUrl}/token/revocation`, { token: value, ...extra }, client);
  const refresh = (refreshToken: string, client: Credentials = webApp, extra: Record<string, string | string[]> = {}) =>
    postForm(`${running.server.baseUrl}/token`, { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra }, client);
  /** The password grant (a user without a second factor): a JWT for the API and a refresh token. */
  const signIn = async (user: { email: string }, client: Credentials = webApp, form: Record<string, string> = {}) => {
    const response = await postForm(
      `${running.server.baseUrl}/token`,
      { grant_type: 'password', username: user.email, password: PASSWORD, scope: 'api:read offline_access', ...form },
      client,
    );
    expect(response.status).toBe(200);
    return { accessToken: String(response.body.access_token), refreshToken: String(response.body.refresh_token) };
  };

  describe('formats and the token contract', () => {
    test('the default resource issues an RFC 9068 JWT signed with EdDSA, verifiable against our JWKS', async () => {
      const accessToken = await token({ scope: 'api:read' });
      const header = decodeProtectedHeader(accessToken);
      expect(header).toMatchObject({ typ: 'at+jwt', alg: 'EdDSA' });
      const { payload } = await jwtVerify(accessToken, createRemoteJWKSet(new URL(`${running.server.baseUrl}/jwks`)), {
        issuer: running.server.config.issuer,
        audience: running.server.config.defaultResource,
        typ: 'at+jwt',
      });
      expect(payload).toMatchObject({ client_id: DEMO.id, sub: DEMO.id, scope: 'api:read', roles: [] });
      expect(payload.jti).toEqual(expect.any(String));
      expect(payload.exp).toBe(Number(payload.iat) + running.server.config.ttl.clientCredentials);
    });

    test('an API with its own accessTokenTtl bounds every token for it; the others keep their kind\'s lifetime', async () => {
      const lifetime = (accessToken: string) => Number(decodeJwt(accessToken).exp) - Number(decodeJwt(accessToken).iat);
      const partnerReports = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'reports:read', resource: REPORTS_API }, partner);
      expect(partnerReports.body.expires_in).toBe(REPORTS_TTL);
      expect(lifetime(String(partnerReports.body.access_token))).toBe(REPORTS_TTL);
      const user = await newUser();
      const userReports = await postForm(
        `${running.server.baseUrl}/token`,
        { grant_type: 'password', username: user.email, password: PASSWORD, scope: 'reports:read', resource: REPORTS_API },
        webApp,
      );
      expect(userReports.body.expires_in).toBe(REPORTS_TTL);
      expect(lifetime(String(userReports.body.access_token))).toBe(REPORTS_TTL);
      // Without a lifetime of its own: a client's token lives CLIENT_CREDENTIALS_TTL, a user's ACCESS_TOKEN_TTL.
      const ledger = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'ledger:read', resource: LEDGER_API }, partner);
      expect(ledger.body.expires_in).toBe(running.server.config.ttl.clientCredentials);
      expect(lifetime((await signIn(user)).accessToken)).toBe(running.server.config.ttl.accessToken);
      expect(running.server.config.ttl.clientCredentials).not.toBe(running.server.config.ttl.accessToken);
    });

    test('a resource server configured for ES256 gets ES256 JWTs carrying the client roles', async () => {
      const accessToken = await token({ scope: 'reports:read', resource: REPORTS_API }, partner);
      expect(decodeProtectedHeader(accessToken).alg).toBe('ES256');
      const { payload } = await jwtVerify(accessToken, createRemoteJWKSet(new URL(`${running.server.baseUrl}/jwks`)), { audience: REPORTS_API });
      expect(payload).toMatchObject({ client_id: partner.id, roles: ['reporter'] });
    });

    test('a resource server configured opaque gets opaque tokens, whose introspection carries the roles', async () => {
      const accessToken = await token({ scope: 'ledger:read', resource: LEDGER_API }, partner);
      expect(accessToken.split('.')).toHaveLength(1);
      const introspection = await introspect(accessToken, partner);
      expect(introspection.body).toMatchObject({ active: true, aud: LEDGER_API, roles: ['reporter'], token_type: 'Bearer' });
    });

    test('a scope that requires a role is invalid_scope for a client without it, granted to one with it', async () => {
      const refused = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'admin:reports', resource: REPORTS_API }, partner);
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ error: 'invalid_scope', scope: 'admin:reports' });
      const granted = await token({ scope: 'admin:reports', resource: REPORTS_API }, administrator);
      expect(decodeJwt(granted)).toMatchObject({ scope: 'admin:reports', roles: ['admin'] });
    });

    test('OpenID scopes alone yield a token for userinfo; API scopes yield an AuthToken userinfo refuses', async () => {
      const user = await newUser();
      const userinfoGrant = await grantRefreshTokenForUser(running.server, { accountId: user.customerId, clientId: webApp.id, openIdScopes: 'openid' });
      const forUserinfo = await refresh(userinfoGrant.refreshToken);
      expect(forUserinfo.status).toBe(200);
      const userinfoToken = String(forUserinfo.body.access_token);
      expect(userinfoToken.split('.')).toHaveLength(1);
      const userinfo = await fetch(`${running.server.baseUrl}/me`, { headers: { authorization: `Bearer ${userinfoToken}` } });
      expect(userinfo.status).toBe(200);
      expect(await userinfo.json()).toMatchObject({ sub: user.customerId });

      const { accessToken: apiToken } = await signIn(user);
      expect(decodeJwt(apiToken)).toMatchObject({ aud: running.server.config.defaultResource, sub: user.customerId, client_id: webApp.id, scope: 'api:read' });
      const refusedAtUserinfo = await fetch(`${running.server.baseUrl}/me`, { headers: { authorization: `Bearer ${apiToken}` } });
      expect(refusedAtUserinfo.status).toBe(401);
    });

    test("a user's JWT carries the account roles, and a scope requiring a role needs it on the account", async () => {
      const reporter = await newUser(['reporter']);
      const administrator = await newUser(['admin']);
      const { accessToken } = await signIn(reporter);
      expect(decodeJwt(accessToken)).toMatchObject({ roles: ['reporter'], amr: ['pwd'], customer_id: reporter.customerId });
      const refused = await postForm(
        `${running.server.baseUrl}/token`,
        { grant_type: 'password', username: reporter.email, password: PASSWORD, scope: 'admin:reports', resource: REPORTS_API },
        webApp,
      );
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ error: 'invalid_scope', scope: 'admin:reports' });
      const granted = await signIn(administrator, webApp, { scope: 'admin:reports', resource: REPORTS_API });
      expect(decodeProtectedHeader(granted.accessToken).alg).toBe('ES256');
      expect(decodeJwt(granted.accessToken)).toMatchObject({ aud: REPORTS_API, scope: 'admin:reports', roles: ['admin'] });
    });
  });

  describe('one audience per token (RFC 8707 2)', () => {
    test('two resource indicators at the password grant are invalid_target, not a token for one of them with scope ""', async () => {
      const user = await newUser();
      const refused = await postForm(
        `${running.server.baseUrl}/token`,
        { grant_type: 'password', username: user.email, password: PASSWORD, scope: 'reports:read', resource: [REPORTS_API, running.server.config.defaultResource] },
        webApp,
      );
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('invalid_target');
    });

    test('the same resource twice at the password grant is invalid_target too: issuance resolved it to the default API', async () => {
      const user = await newUser();
      const refused = await postForm(
        `${running.server.baseUrl}/token`,
        { grant_type: 'password', username: user.email, password: PASSWORD, scope: 'reports:read', resource: [REPORTS_API, REPORTS_API] },
        webApp,
      );
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('invalid_target');
    });

    test('client_credentials answers the same, whichever resource comes first', async () => {
      for (const resource of [
        [REPORTS_API, running.server.config.defaultResource],
        [running.server.config.defaultResource, REPORTS_API],
      ]) {
        const refused = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read', resource }, partner);
        expect(refused.status).toBe(400);
        expect(refused.body.error).toBe('invalid_target');
      }
    });
  });

  describe('introspection of JWTs (RFC 7662)', () => {
    test('the owning client sees an active JWT with every documented field and no internal one', async () => {
      const accessToken = await token({ scope: 'api:read api:write' });
      const introspection = await introspect(accessToken);
      expect(introspection.status).toBe(200);
      expect(introspection.headers.get('cache-control')).toBe('no-store');
      const claims = decodeJwt(accessToken);
      expect(introspection.body).toEqual({
        active: true,
        scope: 'api:read api:write',
        client_id: DEMO.id,
        sub: DEMO.id,
        exp: claims.exp,
        iat: claims.iat,
        iss: running.server.config.issuer,
        aud: running.server.config.defaultResource,
        jti: claims.jti,
        token_type: 'Bearer',
        roles: [],
      });
    });

    test('another client gets {"active":false}; a client serving the audience as resource server sees it', async () => {
      const forReports = await token({ scope: 'reports:read', resource: REPORTS_API }, partner);
      expect((await introspect(forReports, DEMO)).body).toEqual({ active: false });
      expect((await introspect(forReports, reportsApi)).body).toMatchObject({ active: true, aud: REPORTS_API, client_id: partner.id });
      const forDefaultApi = await token({ scope: 'api:read' }, partner);
      expect((await introspect(forDefaultApi, reportsApi)).body).toEqual({ active: false });
    });

    test('the same policy holds for opaque tokens', async () => {
      const opaque = await token({ scope: 'ledger:read', resource: LEDGER_API }, partner);
      expect((await introspect(opaque, reportsApi)).body).toEqual({ active: false });
      expect((await introspect(opaque, DEMO)).body).toEqual({ active: false });
    });

    // RFC 7662 2.1: the caller must be authorized; a client_id alone proves nothing (anyone can send it).
    test('a public client, which cannot authenticate, introspects nothing, not even its own tokens', async () => {
      const created = await running.server.application.clients.create({
        name: 'Single-page app',
        grantTypes: ['authorization_code', 'refresh_token'],
        redirectUris: ['https://spa.example/callback'],
        scopes: ['openid', 'offline_access', 'api:read'],
        authMethod: 'none',
      });
      const user = await newUser();
      const verifier = randomBytes(32).toString('base64url');
      const code = await issueAuthorizationCode(running.server.application.provider, {
        clientId: created.clientId,
        accountId: user.customerId,
        codeChallenge: createHash('sha256').update(verifier).digest('base64url'),
        redirectUri: 'https://spa.example/callback',
        scope: 'openid offline_access',
      });
      const tokens = await postForm(`${running.server.baseUrl}/token`, {
        grant_type: 'authorization_code',
        client_id: created.clientId,
        code,
        code_verifier: verifier,
        redirect_uri: 'https://spa.example/callback',
      });
      expect(tokens.status).toBe(200);
      for (const value of [String(tokens.body.access_token), String(tokens.body.refresh_token)]) {
        const answer = await postForm(`${running.server.baseUrl}/token/introspection`, { token: value, client_id: created.clientId });
        expect(answer.body).toEqual({ active: false });
      }
      // Still live: the refresh token works for the app itself.
      expect((await postForm(`${running.server.baseUrl}/token`, { grant_type: 'refresh_token', client_id: created.clientId, refresh_token: String(tokens.body.refresh_token) })).status).toBe(200);
    });

    test('a JWT signed by a key we never published is inactive, and revoking it is a quiet 200', async () => {
      const { privateKey } = generateKeyPairSync('ed25519');
      const realHeader = decodeProtectedHeader(await token({ scope: 'api:read' }));
      const forged = await new SignJWT({ client_id: DEMO.id, scope: 'api:read', jti: 'forged' })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: realHeader.kid })
        .setIssuer(running.server.config.issuer)
        .setSubject(DEMO.id)
        .setAudience(running.server.config.defaultResource)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey);
      expect((await introspect(forged)).body).toEqual({ active: false });
      const revocation = await revoke(forged);
      expect(revocation.status).toBe(200);
    });

    test('client authentication comes first for JWTs too: none is invalid_request, a wrong one invalid_client', async () => {
      const accessToken = await token({ scope: 'api:read' });
      const introspection = await postForm(`${running.server.baseUrl}/token/introspection`, { token: accessToken });
      expect(introspection.status).toBe(400);
      expect(introspection.body).toMatchObject({ error: 'invalid_request', error_description: 'no client authentication mechanism provided' });
      const wrongSecret = await revoke(accessToken, { id: DEMO.id, secret: 'wrong-secret' });
      expect(wrongSecret.status).toBe(401);
      expect(wrongSecret.body.error).toBe('invalid_client');
      expect((await introspect(accessToken)).body.active).toBe(true);
    });

    test('a caller accepting only HTML still gets the JSON answers for a JWT', async () => {
      const accessToken = await token({ scope: 'api:read' });
      const headers = {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'text/html',
        authorization: `Basic ${Buffer.from(`${DEMO.id}:${DEMO.secret}`).toString('base64')}`,
      };
      const body = new URLSearchParams({ token: accessToken }).toString();
      const introspection = await fetch(`${running.server.baseUrl}/token/introspection`, { method: 'POST', headers, body });
      expect(introspection.headers.get('content-type')).toContain('application/json');
      expect(await introspection.json()).toMatchObject({ active: true, client_id: DEMO.id });
      const revocation = await fetch(`${running.server.baseUrl}/token/revocation`, { method: 'POST', headers, body });
      expect(revocation.status).toBe(200);
      expect(await revocation.text()).toBe('');
      expect((await introspect(accessToken)).body).toEqual({ active: false });
    });

    test('RFC 9701: a client asking for a JWT introspection response gets one, signed by our JWKS', async () => {
      const accessToken = await token({ scope: 'api:read' });
      const response = await fetch(`${running.server.baseUrl}/token/introspection`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/token-introspection+jwt',
          authorization: `Basic ${Buffer.from(`${DEMO.id}:${DEMO.secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ token: accessToken }).toString(),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('application/token-introspection+jwt');
      const { payload } = await jwtVerify(await response.text(), createRemoteJWKSet(new URL(`${running.server.baseUrl}/jwks`)), {
        issuer: running.server.config.issuer,
        audience: DEMO.id,
      });
      expect(payload.token_introspection).toMatchObject({ active: true, client_id: DEMO.id, jti: decodeJwt(accessToken).jti });
    });
  });

  describe('revocation of JWTs (RFC 7009)', () => {
    test('a revoked JWT introspects exactly {"active":false}; its signature alone still verifies', async () => {
      const accessToken = await token({ scope: 'api:read' });
      const revocation = await revoke(accessToken);
      expect(revocation.status).toBe(200);
      expect((await introspect(accessToken)).body).toEqual({ active: false });
      // What a resource server verifying signatures locally sees: why JWT lifetimes are kept short.
      await expect(jwtVerify(accessToken, createRemoteJWKSet(new URL(`${running.server.baseUrl}/jwks`)))).resolves.toBeDefined();
      const stored = await running.server.store.collection('token_revocations').findOne({ _id: `jti:${String(decodeJwt(accessToken).jti)}` });
      expect(stored?.expiresAt?.getTime()).toBe(Number(decodeJwt(accessToken).exp) * 1000);
    });

    test('a wrong token_type_hint is tolerated', async () => {
      const accessToken = await token({ scope: 'api:read' });
      expect((await revoke(accessToken, DEMO, { token_type_hint: 'refresh_token' })).status).toBe(200);
      expect((await introspect(accessToken, DEMO, { token_type_hint: 'refresh_token' })).body).toEqual({ active: false });
    });

    test("revoking another client's JWT is refused with unauthorized_client and the token stays valid", async () => {
      const accessToken = await token({ scope: 'api:read' });
      const refused = await revoke(accessToken, partner);
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('unauthorized_client');
      expect((await introspect(accessToken)).body.active).toBe(true);
    });

    test('unknown and malformed tokens answer 200 at revocation and {"active":false} at introspection', async () => {
      for (const value of ['not-a-token', 'a.b.c', 'eyJhbGciOiJub25lIn0.e30.']) {
        expect((await revoke(value)).status).toBe(200);
        expect((await introspect(value)).body).toEqual({ active: false });
      }
    });
  });

  describe('bulk revocation', () => {
    /** A user signed in with the password alone at two clients, and another user at one. */
    async function signedInAtTwoClients() {
      const user = await newUser();
      const bystander = await newUser();
      return { user, atWebApp: await signIn(user), atDemo: await signIn(user, DEMO), other: await signIn(bystander) };
    }

    test("revoking a client's tokens reaches its earlier JWTs and opaque tokens, not other clients'", async () => {
      const client = credentials(
        await running.server.application.clients.create({ name: 'Rotating', grantTypes: ['client_credentials'], scopes: ['api:read', 'ledger:read'] }),
      );
      const jwt = await token({ scope: 'api:read' }, client);
      const opaque = await token({ scope: 'ledger:read', resource: LEDGER_API }, client);
      const bystander = await token({ scope: 'api:read' });
      const result = await running.server.application.revocation.revokeClientTokens(client.id);
      expect(result.removed).toBeGreaterThanOrEqual(1);
      expect((await introspect(jwt, client)).body).toEqual({ active: false });
      expect((await introspect(opaque, client)).body).toEqual({ active: false });
      expect((await introspect(bystander)).body.active).toBe(true);
      await nextSecond();
      // Tokens issued after the revocation are good again.
      expect((await introspect(await token({ scope: 'api:read' }, client), client)).body.active).toBe(true);
    });

    test("revoking a user's tokens reaches their JWTs and refresh tokens at every client", async () => {
      const { user, atWebApp, atDemo, other } = await signedInAtTwoClients();
      expect((await introspect(atWebApp.accessToken, webApp)).body).toMatchObject({ active: true, sub: user.customerId, amr: ['pwd'] });

      await running.server.application.revocation.revokeAccountTokens(user.customerId);
      expect((await introspect(atWebApp.accessToken, webApp)).body).toEqual({ active: false });
      expect((await introspect(atDemo.accessToken, DEMO)).body).toEqual({ active: false });
      for (const [refreshToken, client] of [[atWebApp.refreshToken, webApp], [atDemo.refreshToken, DEMO]] as const) {
        const afterRevocation = await refresh(refreshToken, client);
        expect(afterRevocation.status).toBe(400);
        expect(afterRevocation.body.error).toBe('invalid_grant');
      }
      expect((await introspect(other.accessToken, webApp)).body.active).toBe(true);
      await nextSecond();
      expect((await introspect((await signIn(user)).accessToken, webApp)).body.active).toBe(true);
    });

    test("enrolling a first authenticator app ends the account's JWTs and refresh tokens at every client, not its grants", async () => {
      const { user, atWebApp, atDemo, other } = await signedInAtTwoClients();
      const { secret } = await running.server.application.mfa.totp.enroll(user.customerId, user.email, 'test');
      expect(await running.server.application.mfa.confirmTotp(user.customerId, await totpCode(secret), 'test')).toBe(true);

      // All of them came from password-only sign-ins: a phished password's tokens end with the enrollment.
      expect((await introspect(atWebApp.accessToken, webApp)).body).toEqual({ active: false });
      expect((await introspect(atDemo.accessToken, DEMO)).body).toEqual({ active: false });
      expect((await refresh(atWebApp.refreshToken)).body.error).toBe('invalid_grant');
      expect((await introspect(other.accessToken, webApp)).body.active).toBe(true);
      const grants = await running.server.application.store.collection(collectionName('Grant')).count({ accountId: user.customerId });
      expect(grants).toBeGreaterThan(0);

      // Confirming an authenticator while the account has a factor revokes nothing: its tokens needed the code.
      await nextSecond();
      const withCode = await signIn(user, webApp, { otp: await totpCode(secret, 1) });
      const replacement = await running.server.application.mfa.totp.enroll(user.customerId, user.email, 'test');
      expect(await running.server.application.mfa.confirmTotp(user.customerId, await totpCode(replacement.secret), 'test')).toBe(true);
      expect((await introspect(withCode.accessToken, webApp)).body).toMatchObject({ active: true, amr: ['pwd', 'otp', 'mfa'] });
    });
  });

  describe('refresh tokens', () => {
    test('each use rotates the refresh token; reusing a spent one revokes the grant and its JWTs', async () => {
      const { refreshToken, accessToken: firstJwt } = await signIn(await newUser());
      const first = await refresh(refreshToken);
      expect(first.status).toBe(200);
      const rotated = String(first.body.refresh_token);
      expect(rotated).not.toBe(refreshToken);
      const jwt = String(first.body.access_token);
      expect((await introspect(jwt, webApp)).body.active).toBe(true);

      // The spent token is kept, marked consumed, so that its reuse is recognised.
      const spent = await running.server.store
        .collection<{ _id: string; consumed?: number }>(collectionName('RefreshToken'))
        .find({ consumed: { $exists: true } });
      expect(spent.length).toBeGreaterThan(0);

      const reuse = await refresh(refreshToken);
      expect(reuse.status).toBe(400);
      expect(reuse.body.error).toBe('invalid_grant');
      const afterReuse = await refresh(rotated);
      expect(afterReuse.body.error).toBe('invalid_grant');
      expect((await introspect(jwt, webApp)).body).toEqual({ active: false });
      expect((await introspect(firstJwt, webApp)).body).toEqual({ active: false });
    });

    test('a refresh naming a resource its grant does not hold is invalid_target and spends nothing: the retry works', async () => {
      const { refreshToken, accessToken } = await signIn(await newUser());
      // A typo, and an API we serve that this grant was not given: RFC 6749 5.2, an error has no side effect.
      for (const resource of ['https://typo.example/api', REPORTS_API]) {
        const refused = await refresh(refreshToken, webApp, { resource });
        expect(refused.status).toBe(400);
        expect(refused.body.error).toBe('invalid_target');
      }
      expect((await introspect(accessToken, webApp)).body.active).toBe(true);
      const retried = await refresh(refreshToken, webApp, { resource: running.server.config.defaultResource });
      expect(retried.status).toBe(200);
      expect(decodeJwt(String(retried.body.access_token))).toMatchObject({ aud: running.server.config.defaultResource, scope: 'api:read' });
    });

    test('a refresh naming two resources is invalid_target and spends nothing, even when one is its own API', async () => {
      const { refreshToken } = await signIn(await newUser());
      for (const resource of [[running.server.config.defaultResource, REPORTS_API], [REPORTS_API, running.server.config.defaultResource]]) {
        const refused = await refresh(refreshToken, webApp, { resource });
        expect(refused.status).toBe(400);
        expect(refused.body.error).toBe('invalid_target');
      }
      expect((await refresh(refreshToken)).status).toBe(200);
    });

    test('a refresh asking for a scope its grant lacks is invalid_scope and spends nothing', async () => {
      const { refreshToken } = await signIn(await newUser());
      const refused = await refresh(refreshToken, webApp, { scope: 'api:read reports:read' });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('invalid_scope');
      expect((await refresh(refreshToken)).status).toBe(200);
    });

    test('a spent refresh token presented again, even with an unknown resource, still revokes the grant', async () => {
      const { refreshToken, accessToken } = await signIn(await newUser());
      const first = await refresh(refreshToken);
      expect(first.status).toBe(200);
      const reuse = await refresh(refreshToken, webApp, { resource: 'https://typo.example/api' });
      expect(reuse.body.error).toBe('invalid_grant');
      expect((await refresh(String(first.body.refresh_token))).body.error).toBe('invalid_grant');
      expect((await introspect(accessToken, webApp)).body).toEqual({ active: false });
    });

    test('a refresh token lives the idle lifetime, never beyond the absolute one', async () => {
      const { refreshToken } = await signIn(await newUser());
      const refreshed = await refresh(refreshToken);
      const introspection = await introspect(String(refreshed.body.refresh_token), webApp);
      expect(introspection.body).toMatchObject({ active: true, client_id: webApp.id });
      const lifetime = Number(introspection.body.exp) - Number(introspection.body.iat);
      expect(lifetime).toBe(running.server.config.refreshTokenIdleTtl);
    });

    test('revoking a refresh token revokes the JWTs of its grant', async () => {
      const { refreshToken, accessToken } = await signIn(await newUser());
      expect((await revoke(refreshToken, webApp, { token_type_hint: 'refresh_token' })).status).toBe(200);
      expect((await introspect(accessToken, webApp)).body).toEqual({ active: false });
    });
  });
});

/** Waits for the clock's second to change, so `iat` of the next token is after an earlier revocation. */
async function nextSecond(): Promise<void> {
  const current = Math.floor(Date.now() / 1000);
  while (Math.floor(Date.now() / 1000) === current) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe.each(STORE_KINDS)('a refresh for an API removed from RESOURCE_SERVERS on the %s store', (storeKind) => {
  // The API shares its scope with the default one, so only the resource goes away here; a client allowed a scope
  // only the removed API defines is removed-api-scopes.test.ts's.
  const withReports = { ...ENV, RESOURCE_SERVERS: JSON.stringify([{ identifier: REPORTS_API, scopes: ['api:read'], format: 'jwt', signingAlg: 'ES256' }]) };
  const withoutReports = { ...ENV, RESOURCE_SERVERS: '[]' };

  test('is invalid_target and spends nothing: once the operator restores the API, the same refresh token works', async () => {
    // One store through three servers with one issuer: configured, removed, restored. Each listens on a port of
    // its own, so no request rides a kept-alive connection to the server closed before it.
    let server = await startTestServer({ store: storeKind, env: withReports });
    const issuer = { ISSUER: server.config.issuer };
    const store = server.store;
    const refresh = (refreshToken: string, client: Credentials) =>
      postForm(`${server.baseUrl}/token`, { grant_type: 'refresh_token', refresh_token: refreshToken }, client);
    try {
      const created = await server.application.clients.create({
        name: 'Reports app',
        grantTypes: ['refresh_token'],
        scopes: ['offline_access', 'api:read'],
        passwordGrant: true,
      });
      const client = { id: created.clientId, secret: String(created.clientSecret) };
      await server.application.accounts.create({ email: `reports-${storeKind}@example.com`, password: PASSWORD });
      const issued = await postForm(
        `${server.baseUrl}/token`,
        { grant_type: 'password', username: `reports-${storeKind}@example.com`, password: PASSWORD, scope: 'api:read offline_access', resource: REPORTS_API },
        client,
      );
      expect(issued.status).toBe(200);
      const refreshToken = String(issued.body.refresh_token);

      await server.close({ keepStore: true });
      server = await startTestServer({ store: storeKind, env: { ...withoutReports, ...issuer }, reuseStore: store });
      // No `resource`: the token's own API is used, and this deployment no longer has it.
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const refused = await refresh(refreshToken, client);
        expect(refused.status).toBe(400);
        expect(refused.body.error).toBe('invalid_target');
      }

      await server.close({ keepStore: true });
      server = await startTestServer({ store: storeKind, env: { ...withReports, ...issuer }, reuseStore: store });
      const retried = await refresh(refreshToken, client);
      expect(retried.status).toBe(200);
      expect(decodeJwt(String(retried.body.access_token))).toMatchObject({ aud: REPORTS_API, scope: 'api:read' });
    } finally {
      await server.close();
    }
  });
});
