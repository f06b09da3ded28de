import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';

import { startAdminServer } from '../../src/admin/index.js';
import { createApplication, type Application } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { createHttpServer } from '../../src/http/http-server.js';
import { createLogger } from '../../src/log/index.js';
import { seedDemoData } from '../../src/seed/index.js';
import { createStore, type Store } from '../../src/store/index.js';
import { FerretDbProcess } from './ferretdb.js';
import { TestMailbox } from './smtp.js';

export type StoreKind = 'memory' | 'mongodb';
export const STORE_KINDS: StoreKind[] = ['memory', 'mongodb'];

export const TEST_MASTER_KEY = randomBytes(32).toString('base64');

/** The MongoDB-wire server global-setup provided. */
export function testMongoUri(): string {
  const uri = process.env.TEST_MONGODB_URI;
  if (!uri) throw new Error('TEST_MONGODB_URI is not set: run the tests through `npm test` (jest global setup)');
  return uri;
}

export function uniqueDatabaseName(): string {
  return `authtoken_test_${randomBytes(6).toString('hex')}`;
}

/** Captures every log line the server writes, so tests can assert on (and scan) them. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.lines.push(...chunk.toString().split('\n').filter(Boolean));
    callback();
  }
  get text(): string {
    return this.lines.join('\n');
  }
}

export interface TestServer {
  baseUrl: string;
  config: Config;
  store: Store;
  application: Application;
  logs: LogCapture;
  /** The admin API's base URL when ADMIN_TOKEN was given (it listens on 127.0.0.1, port 0). */
  adminUrl: string | undefined;
  /** Stops HTTP and background work; closes the store unless `keepStore`. */
  close(options?: { keepStore?: boolean }): Promise<void>;
}

export interface TestServerOptions {
  store: StoreKind;
  /** Reuse a database (e.g. to restart a server on the same data). */
  databaseName?: string;
  /** Reuse a port (a restarted server keeps its issuer). */
  port?: number;
  mongoUri?: string;
  env?: Record<string, string>;
  /**
   * Run on this open store instead of a new one (a restart with other configuration on the same data, the
   * memory store included); the previous server must have closed with `keepStore`.
   */
  reuseStore?: Store;
}

/**
 * Starts the real application on 127.0.0.1 with the chosen store. The socket listens first, so the
 * issuer can name the port the OS gave us.
 */
export async function startTestServer(options: TestServerOptions): Promise<TestServer> {
  // The product's own server (timeouts, answers to requests that are not HTTP); the application joins it below.
  const server: Server = createHttpServer();
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const databaseName = options.databaseName ?? uniqueDatabaseName();
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    PORT: String(port),
    ISSUER: `http://127.0.0.1:${port}`,
    AUTHTOKEN_MASTER_KEY: TEST_MASTER_KEY,
    COOKIE_KEYS: 'test-cookie-key-0123456789abcdefghijklmnop',
    LOG_LEVEL: 'info',
    MONGODB_CONNECT_ATTEMPTS: '2',
    ADMIN_HOST: '127.0.0.1',
    ADMIN_PORT: '0',
    ...(options.store === 'mongodb'
      ? { MONGODB_URI: options.mongoUri ?? testMongoUri(), MONGODB_DB: databaseName, DEMO_SEED: 'true' }
      : {}),
    ...options.env,
  };
  const config = loadConfig(env);
  const logs = new LogCapture();
  const logger = createLogger(config.logLevel, logs);
  const store = options.reuseStore ?? (await createStore(config, logger));
  const application = await createApplication(config, store, logger);
  await seedDemoData(config, application);
  server.on('request', application.app.callback());
  const adminServer = await startAdminServer(config, application, logger);
  const adminAddress = adminServer?.address();
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    adminUrl: typeof adminAddress === 'object' && adminAddress ? `http://127.0.0.1:${adminAddress.port}` : undefined,
    config,
    store,
    application,
    logs,
    async close({ keepStore = false } = {}) {
      for (const listening of adminServer ? [server, adminServer] : [server]) {
        listening.closeAllConnections();
        await new Promise<void>((resolve) => listening.close(() => resolve()));
      }
      await application.afterAnswersSettled();
      application.stop();
      if (!keepStore) await store.close();
    },
  };
}

/** POSTs a form to the server, optionally with HTTP Basic client authentication. */
export async function postForm(
  url: string,
  form: Record<string, string | readonly string[]>,
  basic?: { id: string; secret: string },
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basic) {
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(basic.id)}:${encodeURIComponent(basic.secret)}`).toString('base64')}`;
  }
  // An array value is sent as the parameter repeated (e.g. several `resource` values).
  const encoded = new URLSearchParams();
  for (const [name, value] of Object.entries(form)) for (const entry of typeof value === 'string' ? [value] : value) encoded.append(name, entry);
  const response = await fetch(url, { method: 'POST', headers, body: encoded.toString() });
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { raw: text };
  }
  return { status: response.status, body, headers: response.headers };
}

export const DEMO = { id: 'demo-client', secret: 'demo-secret' };

export interface ServerOnOwnDatabase {
  /** The FerretDB only this server uses: tests may halt and resume it without disturbing other files. */
  readonly ferret: FerretDbProcess;
  readonly server: TestServer;
}

/**
 * A test server on a FerretDB of its own, started before the enclosing describe's tests and stopped after
 * them (call it at describe level). For tests that take the database away while the server runs.
 */
export function serverOnOwnDatabase(): ServerOnOwnDatabase {
  let ferret: FerretDbProcess | undefined;
  let server: TestServer | undefined;
  beforeAll(async () => {
    ferret = await FerretDbProcess.start();
    server = await startTestServer({ store: 'mongodb', mongoUri: ferret.uri });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await ferret?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('serverOnOwnDatabase: used before its beforeAll ran');
    return value;
  };
  return {
    get ferret() {
      return started(ferret);
    },
    get server() {
      return started(server);
    },
  };
}

/**
 * The answer to `request` once the database is back: repeated every 250 ms (at most 60 times) until it is 200,
 * for the driver to reconnect on its own after an outage (no server restart).
 */
export async function answerAfterReconnect<T extends { status: number }>(request: () => Promise<T>): Promise<T> {
  let answer = await request();
  for (let attempt = 0; attempt < 60 && answer.status !== 200; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    answer = await request();
  }
  return answer;
}

export interface ServerWithMailbox {
  /** The SMTP server that takes every mail the server sends (SMTP_URL points at it). */
  readonly mailbox: TestMailbox;
  readonly server: TestServer;
  /** Stops the server, then the mailbox. */
  close(): Promise<void>;
}

/**
 * Starts a TestMailbox, then the test server with SMTP_URL pointing at it (added to `options.env`), so that what
 * the server mails can be read back.
 */
export async function startServerWithMailbox(options: TestServerOptions): Promise<ServerWithMailbox> {
  const mailbox = new TestMailbox();
  await mailbox.start();
  let server: TestServer;
  try {
    server = await startTestServer({ ...options, env: { ...options.env, SMTP_URL: mailbox.url } });
  } catch (error) {
    await mailbox.stop();
    throw error;
  }
  return {
    mailbox,
    server,
    async close() {
      await server.close();
      await mailbox.stop();
    },
  };
}

/**
 * Registers a beforeAll that starts something and an afterAll that closes it (call it at describe level); the
 * returned function gives what started, and throws when called before the beforeAll ran. What the describe-level
 * fixtures below share.
 */
function startedAroundDescribe<T>(fixture: string, start: () => Promise<T>, close: (started: T) => Promise<void>): () => T {
  let started: T | undefined;
  beforeAll(async () => {
    started = await start();
  });
  afterAll(async () => {
    if (started !== undefined) await close(started);
  });
  return () => {
    if (started === undefined) throw new Error(`${fixture}: used before its beforeAll ran`);
    return started;
  };
}

/**
 * startTestServer before the enclosing describe's tests, and its close after them (call it at describe level,
 * like serverOnOwnDatabase).
 */
export function testServer(options: TestServerOptions): { readonly server: TestServer } {
  const running = startedAroundDescribe('testServer', () => startTestServer(options), (server) => server.close());
  return {
    get server() {
      return running();
    },
  };
}

/**
 * startServerWithMailbox before the enclosing describe's tests, and its close after them (call it at describe
 * level, like serverOnOwnDatabase).
 */
export function serverWithMailbox(options: TestServerOptions): Pick<ServerWithMailbox, 'mailbox' | 'server'> {
  const running = startedAroundDescribe('serverWithMailbox', () => startServerWithMailbox(options), (started) => started.close());
  return {
    get mailbox() {
      return running().mailbox;
    },
    get server() {
      return running().server;
    },
  };
}
