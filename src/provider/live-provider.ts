import type { Middleware } from 'koa';
import mount from 'koa-mount';
import type Provider from 'oidc-provider';

import type { MethodsAtPath } from '../http/method-not-allowed.js';
import type { Logger } from '../log/index.js';
import type { ServerSecrets } from '../secrets/index.js';
import type { Store } from '../store/index.js';
import { openSigningKeySet, readSigningKeyDocuments, signingKeySetVersion, type SigningKeySet } from './signing-keys.js';

interface Generation {
  provider: Provider;
  keys: SigningKeySet;
  handle: Middleware;
  methodsAt: MethodsAtPath;
}

export interface LiveProviderOptions {
  store: Store;
  secrets: ServerSecrets;
  logger: Logger;
  pollIntervalSeconds: number;
  /**
   * Builds a complete provider for one key set (called again whenever the key set changes), with the routes
   * served beside it that use that provider instance.
   */
  build(keys: SigningKeySet): { provider: Provider; routes?: Middleware; methodsAt: MethodsAtPath };
}

/**
 * The oidc-provider instance currently serving, replaced when the signing keys change. oidc-provider builds
 * its keystore once, in its constructor, and offers no way to change it; its state otherwise lives in the
 * store, so a fresh instance with the new keys is a drop-in replacement. Requests already inside the old
 * instance finish there; new requests go to the new one. Every instance polls the store, so a rotation made
 * anywhere (or a published key whose activation time has come) is in effect everywhere within one interval.
 */
export class LiveProvider {
  #generation: Generation;
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<boolean> | undefined;

  private constructor(
    private readonly options: LiveProviderOptions,
    keys: SigningKeySet,
  ) {
    this.#generation = this.#build(keys);
  }

  static async start(options: LiveProviderOptions, keys: SigningKeySet): Promise<LiveProvider> {
    const live = new LiveProvider(options, keys);
    live.#timer = setInterval(() => {
      live.refresh().catch((error: unknown) => options.logger.warn({ err: error }, 'signing key refresh failed; keeping the current keys'));
    }, options.pollIntervalSeconds * 1000);
    live.#timer.unref();
    return live;
  }

  get provider(): Provider {
    return this.#generation.provider;
  }

  get keys(): SigningKeySet {
    return this.#generation.keys;
  }

  /** Koa middleware delegating each request to the provider current when it arrives. */
  middleware(): Middleware {
    return (ctx, next) => this.#generation.handle(ctx, next);
  }

  /** The methods the serving provider (and the routes built with it) serves at a path. */
  methodsAt(path: string): Iterable<string> {
    return this.#generation.methodsAt(path);
  }

  /** Reads the key set and swaps in a new provider if it changed; true when it did. Concurrent calls share one run. */
  async refresh(now: Date = new Date()): Promise<boolean> {
    this.#refreshing ??= this.#refresh(now).finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh(now: Date): Promise<boolean> {
    const documents = await readSigningKeyDocuments(this.options.store);
    if (signingKeySetVersion(documents, now) === this.#generation.keys.version) return false;
    const keys = openSigningKeySet(documents, this.options.secrets, now);
    this.#generation = this.#build(keys);
    this.options.logger.info({ signingKids: keys.signingKid }, 'signing keys changed; provider rebuilt');
    return true;
  }

  #build(keys: SigningKeySet): Generation {
    const { provider, routes, methodsAt } = this.options.build(keys);
    const mounted = mount(provider);
    const handle: Middleware = routes ? (ctx, next) => routes(ctx, () => mounted(ctx, next)) : mounted;
    return { provider, keys, handle, methodsAt };
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}
