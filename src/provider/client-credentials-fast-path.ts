import type { IncomingMessage } from 'node:http';
import * as querystring from 'node:querystring';

import type { Context, Middleware, Next } from 'koa';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { noVSCHAR } from 'oidc-provider/lib/consts/client_attributes.js';
import als from 'oidc-provider/lib/helpers/als.js';
import isValidScope from 'oidc-provider/lib/helpers/is_valid_scope.js';
import Params from 'oidc-provider/lib/helpers/params.js';
import instance from 'oidc-provider/lib/helpers/weak_cache.js';
import { getClientAuthParams } from 'oidc-provider/lib/shared/client_auth.js';

import { requestWithBody } from '../http/request-with-body.js';
import { StoreUnavailableError } from '../store/index.js';

/** oidc-provider's token endpoint (its default route, which our configuration keeps). */
const TOKEN_PATH = '/token';
const GRANT_TYPE = 'client_credentials';
/** The parameters of the request this path serves; anything else in the body goes to oidc-provider. */
const SERVED_PARAMETERS = new Set(['grant_type', 'scope', 'resource']);
/** client_secret_post's parameters, served when the request has no Authorization header. */
const BODY_CREDENTIALS = new Set(['client_id', 'client_secret']);
/**
 * The secret methods: oidc-provider takes a secret from either place for a client registered with either
 * (lib/shared/client_auth.js), and so does this path.
 */
const SECRET_METHODS = new Set(['client_secret_basic', 'client_secret_post']);
/** A body of grant_type, a few scopes and one resource URL fits easily; a larger one takes the general path. */
const MAX_BODY_BYTES = 2048;
const FORM_TYPES = new Set(['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8']);
/** Headers that bring in mechanisms this path does not run: CORS, DPoP and client attestation. */
const DEFERRED_HEADERS = ['origin', 'dpop', 'oauth-client-attestation', 'oauth-client-attestation-pop', 'transfer-encoding'] as const;
/** RFC 4648 base64 with its padding, as oidc-provider checks a Basic header (lib/shared/client_auth.js). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;

type Client = NonNullable<Awaited<ReturnType<Provider['Client']['find']>>>;

/** What the fast path works with, worked out once per provider. */
interface FastPathSetup {
  provider: Provider;
  /** The token endpoint's registered client_credentials handler. */
  handler: (ctx: KoaContextWithOIDC) => Promise<void> | void;
  allowedParameters: Set<string>;
  answerHeaders: Record<string, string>;
}

/** The client's id and secret, from a Basic header or from the form. */
interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

/**
 * The client-credentials request partners send all day (a client secret in HTTP Basic or in the form, then
 * grant_type, scope and at most one resource), answered without oidc-provider's generic token-route pipeline:
 * its router, CORS, body reader, parameter assembly, duplicate checks and the client-authentication dispatch
 * over every method it supports.
 * Skipping it cut the server's CPU per client-credentials token by about a third on the bench machine
 * (`npm run bench`, README "Client-credentials fast path").
 *
 * It decides nothing on its own but "this request is the plain case". It authenticates the client with the same
 * calls (Client.find, a registered secret method, compareClientSecret) and then runs the same registered grant
 * handler inside a context set up as the router sets it, so scope and resource policy, the token, its storage,
 * its events and its answer are the provider's. It answers only with a token, or with the 503 every request
 * gets while the database is out of reach: a request it is not sure of (another shape, another client
 * authentication method, a wrong secret, a refused scope) is handed to oidc-provider as it arrived, body
 * included, and gets the provider's own answer, error or not.
 */
export function clientCredentialsFastPath(provider: Provider): Middleware {
  const { features, grantTypeHandlers, grantTypeParams } = instance(provider);
  // The handler registered for the grant (ours, registerClientCredentialsGrant), looked up once: the provider's
  // registrations are complete when it is built.
  const handler = grantTypeHandlers.get(GRANT_TYPE);
  const grantParameters = grantTypeParams.get(GRANT_TYPE);
  // Certificate-bound tokens and attestation-based client authentication need the pipeline's checks on every
  // request; with either on (or without the grant), this path steps aside entirely.
  if (!handler || !grantParameters || features.mTLS.enabled || features.attestClientAuth.enabled) return (ctx, next) => next();
  // The headers the token route's CORS middleware sets on a request without an Origin (lib/shared/cors.js,
  // lib/helpers/initialize_app.js): the answer's headers are the pipeline's too.
  const exposed = [features.dPoP.enabled && features.dPoP.nonceSecret ? 'DPoP-Nonce' : undefined, 'WWW-Authenticate'].filter(Boolean).join(',');
  const setup: FastPathSetup = {
    provider,
    handler,
    // The parameters the token route keeps for this grant: the grant's own and every client authentication's.
    allowedParameters: new Set([...grantParameters, ...getClientAuthParams({ oidc: { provider } } as unknown as KoaContextWithOIDC)]),
    answerHeaders: { vary: 'Origin', 'access-control-allow-origin': '*', 'access-control-expose-headers': exposed, 'cache-control': 'no-store' },
  };
  return function answerPlainClientCredentials(ctx: Context, next: Next): Promise<void> {
    if (ctx.method !== 'POST' || ctx.path !== TOKEN_PATH) return next();
    const headers = ctx.req.headers;
    const length = Number(headers['content-length']);
    if (!(length > 0 && length <= MAX_BODY_BYTES) || !FORM_TYPES.has(String(headers['content-type']).toLowerCase())) return next();
    for (const name of DEFERRED_HEADERS) if (headers[name] !== undefined) return next();
    // HTTP Basic, or (without an Authorization header) client_id and client_secret in the form.
    const basic = headers.authorization === undefined ? undefined : basicCredentials(headers.authorization);
    if (headers.authorization !== undefined && !basic) return next();
    return answerOrDefer(setup, ctx, next, basic, length);
  };
}

async function answerOrDefer(
  { provider, handler, allowedParameters, answerHeaders }: FastPathSetup,
  ctx: Context,
  next: Next,
  basic: ClientCredentials | undefined,
  length: number,
): Promise<void> {
  const body = await readBody(ctx.req);
  const form = body.length === length ? plainForm(body, basic === undefined) : undefined;
  const credentials = basic ?? (form?.client_id && form.client_secret ? { clientId: form.client_id, clientSecret: form.client_secret } : undefined);
  if (!form || !credentials) return defer(ctx, next, body);
  // What oidc-provider's router and context middleware set up for its token route.
  ctx._matchedRoute = TOKEN_PATH;
  (ctx as Context & { _matchedRouteName?: string })._matchedRouteName = 'token';
  const oidc = new provider.OIDCContext(ctx);
  Object.defineProperty(ctx, 'oidc', { value: oidc, configurable: true });
  const oidcCtx = ctx as unknown as KoaContextWithOIDC;
  const writable = oidc as unknown as { body: unknown; params: unknown };
  writable.body = form;
  writable.params = new Params(allowedParameters, form);
  let answered = false;
  try {
    const client = await authenticatedClient(provider, credentials);
    if (client?.grantTypeAllowed(GRANT_TYPE)) {
      oidc.entity('Client', client);
      // oidc-provider's models find the request through this store (its router's context middleware sets it).
      await als.run(ctx, () => handler(oidcCtx));
      answered = true;
    }
  } catch (error) {
    // The database is out of reach: answered 503 at once (src/http/errors.ts), as the pipeline's answer would
    // be, rather than after a second wait for it there. Counted like the pipeline's grant errors.
    if (error instanceof StoreUnavailableError) {
      provider.emit('grant.error', ctx, error);
      throw error;
    }
    // Anything else (a refusal: scope, resource, DPoP required) is the pipeline's to answer, as it would have
    // from the start. Nothing was stored: the handler's last step is the token's save.
  }
  // Outside the try: errors of the pipeline's own run are its own (and the error boundary's).
  if (!answered) return defer(ctx, next, body);
  ctx.set(answerHeaders);
  provider.emit('grant.success', ctx);
}

/**
 * The form when it holds only the served parameters (the client's id and secret too, when they are to be in
 * it), each once and not empty, as a client-credentials request.
 */
function plainForm(body: Buffer, credentialsInForm: boolean): Record<string, string> | undefined {
  const parsed = querystring.parse(body.toString('utf8'));
  const form: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    const served = SERVED_PARAMETERS.has(name) || (credentialsInForm && BODY_CREDENTIALS.has(name));
    if (!served || typeof value !== 'string' || value.length === 0) return undefined;
    form[name] = value;
  }
  if (form.grant_type !== GRANT_TYPE || !isValidScope(form.scope)) return undefined;
  return form;
}

/** The client when it is found, registered for a secret method, and the secret matches; otherwise undefined. */
async function authenticatedClient(provider: Provider, { clientId, clientSecret }: ClientCredentials): Promise<Client | undefined> {
  const client = await provider.Client.find(clientId);
  // A secret with an expiry: oidc-provider checks it against its clock tolerance.
  if (!client?.clientAuthMethod || !SECRET_METHODS.has(client.clientAuthMethod) || client.clientSecretExpiresAt) return undefined;
  return (await client.compareClientSecret(clientSecret)) ? client : undefined;
}

/** Client id and secret of a Basic header, decoded as oidc-provider decodes them, or undefined for anything else. */
function basicCredentials(authorization: string): ClientCredentials | undefined {
  const parts = authorization.split(' ');
  if (parts.length !== 2 || parts[0]?.toLowerCase() !== 'basic' || !parts[1] || !BASE64.test(parts[1])) return undefined;
  const decoded = Buffer.from(parts[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  const clientId = formDecoded(decoded.slice(0, colon));
  const clientSecret = formDecoded(decoded.slice(colon + 1));
  return clientId && clientSecret ? { clientId, clientSecret } : undefined;
}

/** RFC 6749 2.3.1: the form-urlencoded value, when it decodes to visible ASCII only. */
function formDecoded(value: string): string | undefined {
  try {
    const decoded = decodeURIComponent(value.replace(/\+/g, '%20'));
    return noVSCHAR.test(decoded) ? undefined : decoded;
  } catch {
    return undefined;
  }
}

/**
 * The body as it arrives: Node's parser delivers at most Content-Length bytes, fewer when the client stops
 * sending. What was read is what oidc-provider gets to read again, so it answers a short body as it would have.
 */
async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    for await (const chunk of request.iterator({ destroyOnReturn: false })) {
      const bytes = chunk as Buffer;
      chunks.push(bytes);
      received += bytes.length;
    }
  } catch {
    // The client went away mid-body: hand on the bytes that came.
  }
  return Buffer.concat(chunks, received);
}

/** Hands the request to oidc-provider as it arrived: the body read here is served to it again, unread. */
function defer(ctx: Context, next: Next, body: Buffer): Promise<void> {
  delete (ctx as Context & { oidc?: unknown }).oidc;
  const original = ctx.req;
  const replay = requestWithBody(original, { method: original.method ?? 'POST', url: original.url ?? TOKEN_PATH, headers: original.headers, body });
  ctx.req = ctx.request.req = ctx.response.req = replay;
  return next();
}
