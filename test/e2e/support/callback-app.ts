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

export { demoAppAuthorizationUrl } from '../../support/demo-app.js';
