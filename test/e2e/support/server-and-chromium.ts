import type { Browser } from 'playwright-core';

import { startServerWithMailbox, startTestServer, type TestServer, type TestServerOptions } from '../../support/server.js';
import type { TestMailbox } from '../../support/smtp.js';
import { launchChromium } from './browser.js';
import { startCallbackApp, type CallbackApp } from './callback-app.js';

export interface ServerAndChromiumOptions extends TestServerOptions {
  /** A TestMailbox takes every mail the server sends (as startServerWithMailbox). */
  mailbox?: boolean;
  /** A callback app, started before the server, is where the seeded demo clients redirect (DEMO_REDIRECT_URI). */
  callbackApp?: boolean;
}

export interface ServerAndChromium {
  readonly server: TestServer;
  readonly browser: Browser;
}

/** What serverAndChromium gives for these options: the mailbox and the callback app only when asked for. */
export type ServerAndChromiumFor<O extends ServerAndChromiumOptions> = ServerAndChromium &
  (O extends { mailbox: true } ? { readonly mailbox: TestMailbox } : unknown) &
  (O extends { callbackApp: true } ? { readonly callback: CallbackApp } : unknown);

/**
 * Starts (the callback app, then) the test server (with a mailbox), then Chromium, before the enclosing describe's
 * tests; after them the browser closes first, then the server (and its mailbox), then the callback app, so nothing
 * stops while something started after it may still use it. Call it at describe level, like serverOnOwnDatabase:
 * a describe's afterAll hooks run in the order they are declared, so this one pair of hooks keeps that order.
 */
export function serverAndChromium<O extends ServerAndChromiumOptions>(options: O): ServerAndChromiumFor<O> {
  const { mailbox: withMailbox = false, callbackApp: withCallbackApp = false, ...serverOptions } = options;
  let callback: CallbackApp | undefined;
  let running: { server: TestServer; mailbox: TestMailbox | undefined; close(): Promise<void> } | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    if (withCallbackApp) callback = await startCallbackApp();
    const env = callback ? { ...serverOptions.env, DEMO_REDIRECT_URI: callback.redirectUri } : serverOptions.env;
    if (withMailbox) {
      running = await startServerWithMailbox({ ...serverOptions, env });
    } else {
      const server = await startTestServer({ ...serverOptions, env });
      running = { server, mailbox: undefined, close: () => server.close() };
    }
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await running?.close();
    await callback?.close();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('serverAndChromium: used before its beforeAll ran, or without the option that starts it');
    return value;
  };
  const fixture = {
    get server() {
      return started(running).server;
    },
    get browser() {
      return started(browser);
    },
    get mailbox() {
      return started(started(running).mailbox);
    },
    get callback() {
      return started(callback);
    },
  };
  // The getters of what was not asked for exist but throw; the type leaves them out.
  return fixture as ServerAndChromiumFor<O>;
}
