import { createServer, type RequestListener, type Server } from 'node:http';

import { answerClientErrors } from './client-errors.js';

/**
 * Every HTTP server the product listens with, the public and the admin one, and the one tests start: the same
 * timeouts, and the same answer to requests Node's parser refuses before they reach the application.
 */
export function createHttpServer(onRequest?: RequestListener): Server {
  const server = createServer(onRequest);
  server.requestTimeout = 30_000;
  server.headersTimeout = 20_000;
  server.on('clientError', answerClientErrors());
  return server;
}
