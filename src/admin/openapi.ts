import { z } from 'zod';

import {
  auditEventResponse,
  auditQuery,
  clientResponse,
  clientWithSecretResponse,
  createClientRequest,
  createUserRequest,
  errorResponse,
  pageQuery,
  revokedTokenResponse,
  revokedTokensResponse,
  requireMfaRequest,
  revokedUserTokensResponse,
  rotateKeyRequest,
  rotatedSecretResponse,
  rotateSecretRequest,
  setRolesRequest,
  signingKeyResponse,
  tokenDescriptionResponse,
  tokenRequest,
  updateClientRequest,
  userResponse,
} from './schemas.js';

type JsonSchema = Record<string, unknown>;

/** A component schema from a zod schema: request bodies as accepted (input), responses as produced. */
function component(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

function queryParameters(schema: z.ZodObject): JsonSchema[] {
  return Object.entries(schema.shape).map(([name, field]) => ({
    name,
    in: 'query',
    required: false,
    schema: component(field as z.ZodType, 'input'),
  }));
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ content: { 'application/json': { schema: ref(name) } } });
const jsonArray = (name: string) => ({ content: { 'application/json': { schema: { type: 'array', items: ref(name) } } } });
const error = (description: string) => ({ description, ...json('Error') });
const clientIdParameter = { name: 'clientId', in: 'path', required: true, schema: { type: 'string' } };
const customerIdParameter = { name: 'customerId', in: 'path', required: true, schema: { type: 'string', pattern: '^C-[A-Za-z0-9_-]{4,64}$' } };
const userAction = (summary: string) => ({
  parameters: [customerIdParameter],
  post: { summary, responses: { '200': { description: 'the user after the change', ...json('User') }, '404': error('no such user'), ...common } },
});
const common = { '401': error('no admin token (unauthorized, a bare Bearer challenge) or a wrong one (invalid_token)') };

/** The OpenAPI 3.1 description of the admin API, served at /openapi.json. */
export function adminOpenApiDocument(): JsonSchema {
  return {
    openapi: '3.1.0',
    info: { title: 'authtoken-server admin API', version: '1' },
    components: {
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'the ADMIN_TOKEN value; an Authorization header other than Bearer and one token is 400 invalid_request' } },
      schemas: {
        CreateClientRequest: component(createClientRequest, 'input'),
        UpdateClientRequest: component(updateClientRequest, 'input'),
        TokenRequest: component(tokenRequest, 'input'),
        CreateUserRequest: component(createUserRequest, 'input'),
        SetRolesRequest: component(setRolesRequest, 'input'),
        User: component(userResponse, 'output'),
        RevokedUserTokens: component(revokedUserTokensResponse, 'output'),
        RequireMfaRequest: component(requireMfaRequest, 'input'),
        RotateKeyRequest: component(rotateKeyRequest, 'input'),
        SigningKey: component(signingKeyResponse, 'output'),
        Client: component(clientResponse, 'output'),
        ClientWithSecret: component(clientWithSecretResponse, 'output'),
        RotateSecretRequest: component(rotateSecretRequest, 'input'),
        RotatedSecret: component(rotatedSecretResponse, 'output'),
        RevokedTokens: component(revokedTokensResponse, 'output'),
        TokenDescription: component(tokenDescriptionResponse, 'output'),
        RevokedToken: component(revokedTokenResponse, 'output'),
        AuditEvent: component(auditEventResponse, 'output'),
        Error: component(errorResponse, 'output'),
      },
    },
    security: [{ adminToken: [] }],
    paths: {
      '/clients': {
        get: { summary: 'List clients', parameters: queryParameters(pageQuery), responses: { '200': { description: 'clients, oldest first', ...jsonArray('Client') }, '400': error('invalid query'), ...common } },
        post: {
          summary: 'Create a client (the generated secret is returned once)',
          requestBody: { required: true, ...json('CreateClientRequest') },
          responses: { '201': { description: 'created', ...json('ClientWithSecret') }, '400': error('invalid body, with field errors'), '409': error('client_id taken'), ...common },
        },
      },
      '/clients/{clientId}': {
        parameters: [clientIdParameter],
        get: { summary: 'Get a client', responses: { '200': { description: 'the client', ...json('Client') }, '404': error('no such client'), ...common } },
        patch: {
          summary: 'Change name, grant types, scopes or redirect URIs',
          requestBody: { required: true, ...json('UpdateClientRequest') },
          responses: { '200': { description: 'updated', ...json('Client') }, '400': error('invalid body, with field errors'), '404': error('no such client'), '409': error('an internal client, defined by the server'), ...common },
        },
        delete: { summary: 'Delete a client and revoke all its tokens', responses: { '204': { description: 'deleted' }, '404': error('no such client'), '409': error('an internal client, defined by the server'), ...common } },
      },
      '/clients/{clientId}/secret': {
        parameters: [clientIdParameter],
        post: {
          summary: 'Rotate the client secret (returned once); optionally keep the old one working for a grace period',
          requestBody: { required: false, ...json('RotateSecretRequest') },
          responses: { '200': { description: 'new secret', ...json('RotatedSecret') }, '400': error('invalid body, with field errors'), '404': error('no such client'), '409': error('client has no secret, or is an internal client'), ...common },
        },
      },
      '/clients/{clientId}/revoke-tokens': {
        parameters: [clientIdParameter],
        post: { summary: "Revoke all of the client's tokens (stored ones deleted, JWTs through a revoked-before time), codes and grants", responses: { '200': { description: 'revoked', ...json('RevokedTokens') }, '404': error('no such client'), ...common } },
      },
      '/users': {
        get: { summary: 'List users', parameters: queryParameters(pageQuery), responses: { '200': { description: 'users, oldest first', ...jsonArray('User') }, '400': error('invalid query'), ...common } },
        post: {
          summary: 'Create a user (password policy applied)',
          requestBody: { required: true, ...json('CreateUserRequest') },
          responses: { '201': { description: 'created', ...json('User') }, '400': error('invalid body, with field errors'), '409': error('email taken'), ...common },
        },
      },
      '/users/{customerId}': {
        parameters: [customerIdParameter],
        get: { summary: 'Get a user (second factors by name only)', responses: { '200': { description: 'the user', ...json('User') }, '404': error('no such user'), ...common } },
      },
      '/users/{customerId}/roles': {
        parameters: [customerIdParameter],
        put: {
          summary: "Replace the user's roles",
          requestBody: { required: true, ...json('SetRolesRequest') },
          responses: { '200': { description: 'updated', ...json('User') }, '400': error('invalid body, with field errors'), '404': error('no such user'), ...common },
        },
      },
      '/users/{customerId}/disable': userAction('Disable sign-in and revoke stored tokens and sessions'),
      '/users/{customerId}/enable': userAction('Enable sign-in again'),
      '/users/{customerId}/reset-mfa': userAction('Remove every second factor (the user enrolls again); sessions and tokens end'),
      '/users/{customerId}/require-mfa': {
        parameters: [customerIdParameter],
        post: {
          summary: 'Require (or stop requiring) MFA enrollment at the next sign-in',
          requestBody: { required: false, ...json('RequireMfaRequest') },
          responses: { '200': { description: 'the user after the change', ...json('User') }, '400': error('invalid body'), '404': error('no such user'), ...common },
        },
      },
      '/keys': {
        get: { summary: 'List signing keys (public halves and schedule)', responses: { '200': { description: 'keys', ...jsonArray('SigningKey') }, ...common } },
      },
      '/keys/rotate': {
        post: {
          summary: 'Rotate the signing key of an algorithm, without a restart',
          requestBody: { required: false, ...json('RotateKeyRequest') },
          responses: { '201': { description: 'the new key (published now, signing after the publish delay)', ...json('SigningKey') }, '400': error('unknown algorithm'), ...common },
        },
      },
      '/users/{customerId}/revoke-tokens': {
        parameters: [customerIdParameter],
        post: { summary: "Revoke the user's stored tokens and grants, and end their sessions (sign-in and dashboard)", responses: { '200': { description: 'revoked', ...json('RevokedUserTokens') }, '404': error('no such user'), ...common } },
      },
      '/tokens/introspect': {
        post: {
          summary: 'Introspect any token we issued, opaque or JWT (RFC 7662 fields)',
          requestBody: { required: true, ...json('TokenRequest') },
          responses: { '200': { description: 'description; {active:false} when unknown', ...json('TokenDescription') }, '400': error('invalid body, or a JWT'), ...common },
        },
      },
      '/tokens/revoke': {
        post: {
          summary: 'Revoke any token we issued (a refresh token or JWT takes its grant with it)',
          requestBody: { required: true, ...json('TokenRequest') },
          responses: { '200': { description: 'revoked', ...json('RevokedToken') }, '400': error('invalid body'), '404': error('no such active token'), ...common },
        },
      },
      '/audit-events': {
        get: { summary: 'List audit events, newest first', parameters: queryParameters(auditQuery), responses: { '200': { description: 'events', ...jsonArray('AuditEvent') }, '400': error('invalid query'), ...common } },
      },
      '/metrics': { get: { summary: 'Prometheus metrics (no authentication)', security: [], responses: { '200': { description: 'text/plain exposition format' } } } },
      '/openapi.json': { get: { summary: 'This document (no authentication)', security: [], responses: { '200': { description: 'OpenAPI 3.1' } } } },
    },
  };
}
