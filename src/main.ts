import type { IncomingMessage, Server, ServerResponse } from 'node:http';

import { startAdminServer } from './admin/index.js';
import { createApplication, type Application } from './app.js';
import { ConfigError, loadConfig, type Config } from './config/index.js';
import { createHttpServer } from './http/http-server.js';
import { listen } from './http/listen.js';
import { createLogger, type Logger } from './log/index.js';
import { seedDemoData } from './seed/index.js';
import { createStore, StoreUnavailableError, type Store } from './store/index.js';

const MINIMUM_NODE_MAJOR = 24;

function fail(message: string): never {
  process.stderr.write(`authtoken-server: ${message}\n`);
  process.exit(1);
}

function warnLoudly(lines: string[]): void {
  const bar = '!'.repeat(78);
  process.stderr.write(`${bar}\n${lines.map((line) => `!! ${line}`).join('\n')}\n${bar}\n`);
}

/** Stops accepting, lets in-flight requests finish within the deadline, then closes the database. */
async function shutdown(servers: Server[], store: Store, application: Application, config: Config, logger: Logger): Promise<void> {
  logger.info('shutting down: no new connections, finishing in-flight requests');
  // A keep-alive connection would otherwise go on carrying new requests until the deadline: answer what
  // is already in flight with Connection: close, so each connection ends after its current request.
  for (const server of servers) server.on('request', (_request: IncomingMessage, response: ServerResponse) => response.setHeader('Connection', 'close'));
  const closed = Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  for (const server of servers) server.closeIdleConnections();
  const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), config.shutdownTimeoutMs).unref());
  if ((await Promise.race([closed, deadline])) === 'timeout') {
    logger.warn('shutdown deadline reached; closing remaining connections');
    for (const server of servers) server.closeAllConnections();
  }
  // Work requests left running after their answers (a sign-up's email) needs the store: within the same deadline.
  if ((await Promise.race([application.afterAnswersSettled(), deadline])) === 'timeout') {
    logger.warn('shutdown deadline reached; work started by answered requests may be lost');
  }
  application.stop();
  await store.close();
  logger.info('shutdown complete');
}

async function main(): Promise<void> {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < MINIMUM_NODE_MAJOR) {
    fail(`Node.js ${MINIMUM_NODE_MAJOR} or later is required (running ${process.versions.node}); run through npm scripts, which use the project's Node 24`);
  }

  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) fail(`invalid configuration: ${error.message}`);
    throw error;
  }
  const logger = createLogger(config.logLevel);

  if (config.masterKeyIsDevelopment) {
    warnLoudly([
      'AUTHTOKEN_MASTER_KEY is not set: using the fixed DEVELOPMENT master key.',
      'Anything derived from it (token hashes, encrypted keys) is not secret. Never use this in production.',
      'Generate one with: openssl rand -base64 32',
    ]);
  }
  if (config.cookieKeysEphemeral) {
    warnLoudly(['COOKIE_KEYS is not set: using random cookie keys for this process; sign-in sessions end at restart.']);
  }

  let store: Store;
  try {
    store = await createStore(config, logger);
  } catch (error) {
    if (error instanceof StoreUnavailableError) fail(error.message);
    throw error;
  }
  if (store.kind === 'memory') {
    warnLoudly(['MONGODB_URI is not set: using the embedded IN-MEMORY store. Everything is lost when the process stops.']);
  }

  const application = await createApplication(config, store, logger);
  logger.info({ store: store.kind, expiry: store.expiryMode() }, 'store ready');
  const seed = await seedDemoData(config, application);

  const server = createHttpServer(application.app.callback());
  await listen(server, config.port, config.host, { port: 'PORT', host: 'HOST' });
  logger.info({ port: config.port, issuer: config.issuer, configFile: config.configFile }, 'authtoken-server listening');
  const adminServer = await startAdminServer(config, application, logger);
  // Not a reason to refuse to start (sign-ins without a second factor by email still work), but the operator
  // should learn of a wrong SMTP_URL now rather than from the first person waiting for a code.
  application.mfa.checkDelivery().catch((error: unknown) => {
    logger.warn(
      { err: error instanceof Error ? error.message : String(error) },
      'one-time codes, sign-up links and security notices cannot be delivered until this is fixed',
    );
  });
  if (seed.banner.length > 0) process.stdout.write(`${seed.banner.join('\n')}\n`);

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'signal received');
    shutdown(adminServer ? [server, adminServer] : [server], store, application, config, logger)
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  fail(`failed to start: ${message}`);
});
