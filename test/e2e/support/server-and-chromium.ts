import type { Browser } from 'playwright-core';

import { startServerWithMailbox, startTestServer, type TestServer, type TestServerOptions } from '../../support/server.js';
import type { TestMailbox } from '../../support/smtp.js';
import { launchChromium } from './browser.js';

export interface ServerAndChromium {
  readonly server: TestServer;
  readonly browser: Browser;
}

export interface ServerWithMailboxAndChromium extends ServerAndChromium {
  /** The SMTP server that takes every mail the server sends (as startServerWithMailbox). */
  readonly mailbox: TestMailbox;
}

export type ServerAndChromiumOptions = TestServerOptions & { mailbox?: boolean };

/**
 * A test server (with a mailbox when `mailbox: true`), then Chromium, started before the enclosing describe's
 * tests; after them the browser closes before the server, so no page still talks to a server that is gone.
 * Call it at describe level, like serverOnOwnDatabase; hooks the describe declares after it run after its own.
 */
export function serverAndChromium(options: TestServerOptions & { mailbox: true }): ServerWithMailboxAndChromium;
export function serverAndChromium(options: TestServerOptions & { mailbox?: false }): ServerAndChromium;
export function serverAndChromium(options: ServerAndChromiumOptions): ServerAndChromium | ServerWithMailboxAndChromium {
  const { mailbox: withMailbox = false, ...serverOptions } = options;
  let running: { server: TestServer; mailbox: TestMailbox | undefined; close(): Promise<void> } | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    if (withMailbox) {
      running = await startServerWithMailbox(serverOptions);
    } else {
      const server = await startTestServer(serverOptions);
      running = { server, mailbox: undefined, close: () => server.close() };
    }
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await running?.close();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('serverAndChromium: used before its beforeAll ran');
    return value;
  };
  return {
    get server() {
      return started(running).server;
    },
    get browser() {
      return started(browser);
    },
    get mailbox() {
      const { mailbox } = started(running);
      if (mailbox === undefined) throw new Error('serverAndChromium: started without a mailbox (pass mailbox: true)');
      return mailbox;
    },
  };
}
