import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';

/** What the middleware needs from our server's discovery document (RFC 8414). */
interface Metadata {
  issuer: string;
  jwks_uri: string;
  introspection_endpoint: string;
}

/** An RFC 7662 answer (only the members the middleware reads are typed). */
export interface IntrospectionAnswer {
  active: boolean;
  sub?: string;
  client_id?: string;
  scope?: string;
  exp?: number;
  aud?: string | string[];
  roles?: unknown;
  customer_id?: string;
  /** RFC 7800 confirmation: `jkt` for a DPoP-bound token (RFC 9449 6.2). */
  cnf?: unknown;
  [claim: string]: unknown;
}

export class AuthorizationServerUnavailable extends Error {}

const TIMEOUT_MS = 5000;

/**
 * The authorization server as a resource server sees it: discovery read once (retried after a failure),
 * JWKS fetched and cached by jose (refetched on an unknown kid, so signing key rotation needs no restart),
 * and RFC 7662 introspection with the resource server's own client credentials (client_secret_basic).
 */
export class AuthorizationServer {
  #metadata: Promise<Metadata> | undefined;
  #jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  constructor(
    readonly issuer: string,
    private readonly credentials: { clientId: string; clientSecret: string },
  ) {}

  async #discover(): Promise<Metadata> {
    this.#metadata ??= (async () => {
      const response = await fetch(`${this.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
      if (!response.ok) throw new AuthorizationServerUnavailable(`discovery answered ${response.status}`);
      const metadata = (await response.json()) as Partial<Metadata>;
      if (metadata.issuer !== this.issuer || !metadata.jwks_uri || !metadata.introspection_endpoint) {
        throw new AuthorizationServerUnavailable('discovery document does not describe this issuer');
      }
      return metadata as Metadata;
    })().catch((error: unknown) => {
      this.#metadata = undefined;
      throw error instanceof AuthorizationServerUnavailable ? error : new AuthorizationServerUnavailable('discovery failed', { cause: error });
    });
    return this.#metadata;
  }

  /** The claims of a JWT access token signed by our keys for this issuer (RFC 9068), or undefined. */
  async verifyJwt(token: string, audience: string): Promise<JWTPayload | undefined> {
    const metadata = await this.#discover();
    this.#jwks ??= createRemoteJWKSet(new URL(metadata.jwks_uri), { timeoutDuration: TIMEOUT_MS });
    try {
      const { payload } = await jwtVerify(token, this.#jwks, {
        issuer: this.issuer,
        typ: 'at+jwt',
        audience,
        algorithms: ['EdDSA', 'ES256', 'RS256', 'PS256'],
      });
      return payload;
    } catch (error) {
      if (error instanceof Error && 'code' in error && (error.code === 'ERR_JWKS_TIMEOUT' || error.code === 'ERR_JOSE_GENERIC')) {
        throw new AuthorizationServerUnavailable('could not fetch the JWKS', { cause: error });
      }
      return undefined;
    }
  }

  async introspect(token: string): Promise<IntrospectionAnswer> {
    const metadata = await this.#discover();
    const basic = Buffer.from(`${encodeURIComponent(this.credentials.clientId)}:${encodeURIComponent(this.credentials.clientSecret)}`).toString('base64');
    let response: Response;
    try {
      response = await fetch(metadata.introspection_endpoint, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token }).toString(),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      throw new AuthorizationServerUnavailable('introspection request failed', { cause: error });
    }
    if (!response.ok) throw new AuthorizationServerUnavailable(`introspection answered ${response.status}`);
    const answer = (await response.json()) as IntrospectionAnswer;
    return typeof answer.active === 'boolean' ? answer : { active: false };
  }
}
