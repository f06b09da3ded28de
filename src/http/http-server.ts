import { createServer, type RequestListener, type Server } from 'node:http';

/** Every HTTP server the product listens with, the public and the admin one, and the one tests start: the same timeouts. */
export function createHttpServer(onRequest?: RequestListener): Server {
  const server = createServer(onRequest);
  server.requestTimeout = 30_000;
  server.headersTimeout = 20_000;
  return server;
}
