import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

export interface CallbackApp {
  /** Where the relying party wants the browser back (`http://127.0.0.1:<port>/callback`). */
  redirectUri: string;
  close(): Promise<void>;
}

/** The relying party's callback: a real little HTTP server on 127.0.0.1, so the browser really lands somewhere. */
export async function startCallbackApp(): Promise<CallbackApp> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<!doctype html><title>callback</title><p>back at the app</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  return {
    redirectUri: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/callback`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * An authorization request of the seeded public client `demo-app` at `origin` (PKCE S256; the code verifier is
 * not kept, so the code itself is not redeemed: for tests about the pages and the session).
 */
export function demoAppAuthorizationUrl(origin: string, redirectUri: string, extra: Record<string, string> = {}): string {
  const parameters = new URLSearchParams({
    client_id: 'demo-app',
    response_type: 'code',
    scope: 'openid',
    redirect_uri: redirectUri,
    state: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url'),
    code_challenge_method: 'S256',
    ...extra,
  });
  return `${origin}/auth?${parameters.toString()}`;
}
