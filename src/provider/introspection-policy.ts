import type { Client } from 'oidc-provider';

/** Client metadata naming the audiences a client serves as a resource server (it may introspect their tokens). */
export const RESOURCE_SERVER_AUDIENCES = 'resource_server_audiences';
/** Client metadata: the roles a client holds itself (in its client-credentials tokens). */
export const CLIENT_ROLES = 'roles';

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : [];
}

/**
 * oidc-provider keeps extra client metadata on the Client instance under its own (snake_case) name; reading
 * the property is far cheaper than `client.metadata()`, which rebuilds the whole metadata object, and this
 * runs for every token issued.
 */
function clientProperty(client: Client, metadataName: string): unknown {
  return (client as unknown as Record<string, unknown>)[metadataName];
}

export function clientResourceServerAudiences(client: Client): string[] {
  return stringList(clientProperty(client, RESOURCE_SERVER_AUDIENCES));
}

export function clientRoles(client: Client): string[] {
  return stringList(clientProperty(client, CLIENT_ROLES));
}

/**
 * Our introspection policy, for every token type: a client sees the tokens issued to it, and the tokens
 * for the audiences it is registered to serve as a resource server; anything else is `{"active":false}`.
 * (oidc-provider's default lets any confidential client introspect every token.) A public client sees
 * nothing: RFC 7662 2.1 wants the caller authorized, and its client_id alone is something anyone can send.
 */
export function mayIntrospect(client: Client, token: { clientId: string | undefined; audience: unknown }): boolean {
  if (client.clientAuthMethod === 'none') return false;
  if (token.clientId === client.clientId) return true;
  const served = new Set(clientResourceServerAudiences(client));
  const audiences = Array.isArray(token.audience) ? token.audience : [token.audience];
  return audiences.some((audience) => typeof audience === 'string' && served.has(audience));
}
