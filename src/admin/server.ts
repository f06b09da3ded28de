import type { Server } from 'node:http';

import type { Application } from '../app.js';
import type { Config } from '../config/index.js';
import { createHttpServer } from '../http/http-server.js';
import { listen } from '../http/listen.js';
import type { Logger } from '../log/index.js';
import { createAdminApp } from './app.js';

/**
 * Listens for the admin API on ADMIN_HOST:ADMIN_PORT. Without ADMIN_TOKEN there is no safe way to
 * authenticate operators, so it does not start at all, and says so once.
 */
export async function startAdminServer(config: Config, application: Application, logger: Logger): Promise<Server | undefined> {
  if (!config.admin.token) {
    logger.warn('ADMIN_TOKEN is not set: the admin API and /metrics are not started');
    return undefined;
  }
  const server = createHttpServer(createAdminApp(config, application, config.admin.token, logger).callback());
  await listen(server, config.admin.port, config.admin.host, { port: 'ADMIN_PORT', host: 'ADMIN_HOST' });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.admin.port;
  logger.info({ host: config.admin.host, port }, 'admin API listening');
  return server;
}
