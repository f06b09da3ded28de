import { createProtectedApi } from './app.js';

/**
 * Runs the example API: `npm run example:api` with
 *   AUTHTOKEN_ISSUER (default http://localhost:3000), RESOURCE_CLIENT_ID, RESOURCE_CLIENT_SECRET,
 *   API_AUDIENCE (default ISSUER/api), REVOCATION_CHECK_SECONDS (default 30), PORT (default 4000).
 */
const issuer = process.env.AUTHTOKEN_ISSUER ?? 'http://localhost:3000';
const clientId = process.env.RESOURCE_CLIENT_ID;
const clientSecret = process.env.RESOURCE_CLIENT_SECRET;
if (!clientId || !clientSecret) {
  console.error('Set RESOURCE_CLIENT_ID and RESOURCE_CLIENT_SECRET (a client registered with resource_server_audiences).');
  process.exit(1);
}
const port = Number(process.env.PORT ?? 4000);
createProtectedApi({
  issuer,
  introspection: { clientId, clientSecret },
  audience: process.env.API_AUDIENCE ?? `${issuer}/api`,
  revocationCheckSeconds: Number(process.env.REVOCATION_CHECK_SECONDS ?? 30),
}).listen(port, '127.0.0.1', () => console.log(`protected API on http://127.0.0.1:${port}/hello`));
