import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';

/** Work done once the provider has answered a request on one of its named routes (`ctx.oidc.route`). */
export type AfterAnswer = (ctx: KoaContextWithOIDC) => Promise<void> | void;

const hooksByProvider = new WeakMap<Provider, Map<string, AfterAnswer[]>>();

/**
 * Runs `hook` after the provider has answered a request on one of `routes`. Every hook of a provider
 * shares one middleware, which looks its route up once: the token endpoint, which has no hook, pays one
 * map lookup instead of a frame per hook around every request. Hooks of a route run in the order added.
 */
export function afterProviderAnswers(provider: Provider, routes: readonly string[], hook: AfterAnswer): void {
  let hooks = hooksByProvider.get(provider);
  if (!hooks) {
    const installed = new Map<string, AfterAnswer[]>();
    hooks = installed;
    hooksByProvider.set(provider, installed);
    provider.use(async (ctx, next) => {
      await next();
      const route = (ctx as unknown as KoaContextWithOIDC).oidc?.route;
      const forRoute = route === undefined ? undefined : installed.get(route);
      if (!forRoute) return;
      for (const run of forRoute) await run(ctx as unknown as KoaContextWithOIDC);
    });
  }
  for (const route of routes) hooks.set(route, [...(hooks.get(route) ?? []), hook]);
}
