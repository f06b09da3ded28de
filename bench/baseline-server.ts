// The baseline: plain oidc-provider with its built-in development adapter and keys, one client, the
// grants we compare. Run as its own process by bench/run.ts.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT ?? 4000);
const format = process.env.BASELINE_ACCESS_TOKEN_FORMAT === 'jwt' ? 'jwt' : 'opaque';
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: 'bench-client',
      client_secret: 'bench-secret',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      scope: 'api:read api:write',
    },
  ],
  scopes: ['api:read', 'api:write'],
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => `http://127.0.0.1:${port}/api`,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: 'api:read api:write', accessTokenFormat: format, accessTokenTTL: 3600 }),
    },
  },
});
provider.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
