import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import Koa, { type Context } from 'koa';

import { runTokenRequest } from '../../src/provider/in-process-token-request.js';

/** What the handed-over request looked like from inside, read the way oidc-provider reads a request. */
interface Seen {
  method: string;
  path: string;
  readableBefore: boolean;
  readableAfter: boolean;
  body: string;
  authorization: string | undefined;
  origin: string | undefined;
  contentType: string | undefined;
  contentLength: string | undefined;
  rawHeaders: string[];
  ip: string;
}

/** Stands where oidc-provider's token endpoint is: reads the unread body from the request stream, answers JSON. */
async function tokenEndpoint(ctx: Context): Promise<void> {
  const readableBefore = ctx.req.readable;
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.req.iterator({ destroyOnReturn: false })) chunks.push(chunk as Buffer);
  const seen: Seen = {
    method: ctx.method,
    path: ctx.path,
    readableBefore,
    readableAfter: ctx.req.readable,
    body: Buffer.concat(chunks).toString(),
    authorization: ctx.get('authorization') || undefined,
    origin: ctx.get('origin') || undefined,
    contentType: ctx.get('content-type') || undefined,
    contentLength: ctx.get('content-length') || undefined,
    rawHeaders: ctx.req.rawHeaders,
    ip: ctx.ip,
  };
  ctx.status = 200;
  ctx.body = seen;
}

describe('runTokenRequest', () => {
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    const app = new Koa();
    app.use(async (ctx) => {
      const before = { path: ctx.path, method: ctx.method, headers: { ...ctx.req.headers }, req: ctx.req };
      const basic = ctx.query.basic === '1' ? { clientId: 'client:1', clientSecret: 's3cret/+' } : undefined;
      const result = await runTokenRequest(ctx, { grant_type: 'client_credentials', scope: 'api:read api:write' }, (inner) => tokenEndpoint(inner), basic);
      const after = { path: ctx.path, method: ctx.method, headers: { ...ctx.req.headers }, sameRequest: ctx.req === before.req };
      ctx.status = 200;
      ctx.body = { result, before: { path: before.path, method: before.method, headers: before.headers }, after };
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  interface Answer {
    result: { status: number; body: Seen };
    before: { path: string; method: string; headers: Record<string, string> };
    after: { path: string; method: string; headers: Record<string, string>; sameRequest: boolean };
  }

  test('the endpoint sees POST /token with the form as an unread body, and the caller\'s request is left as it was', async () => {
    const response = await fetch(`${baseUrl}/api/v1/get-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer caller-secret', origin: 'https://app.example', dpop: 'callers-dpop-proof' },
      body: JSON.stringify({ anything: 'the caller sent' }),
    });
    const answer = (await response.json()) as Answer;
    const seen = answer.result.body;
    expect(answer.result.status).toBe(200);
    expect(seen.method).toBe('POST');
    expect(seen.path).toBe('/token');
    expect(seen.readableBefore).toBe(true);
    expect(seen.readableAfter).toBe(false);
    expect(new URLSearchParams(seen.body).get('scope')).toBe('api:read api:write');
    expect(seen.contentType).toBe('application/x-www-form-urlencoded');
    expect(seen.contentLength).toBe(String(Buffer.byteLength(seen.body)));
    // Never the caller's credentials or Origin, in any view of the headers.
    expect(seen.authorization).toBeUndefined();
    expect(seen.origin).toBeUndefined();
    expect(seen.rawHeaders.map((field) => field.toLowerCase())).not.toEqual(expect.arrayContaining(['authorization']));
    expect(seen.rawHeaders.join('\n')).not.toContain('caller-secret');
    // Nor the caller's DPoP proof: in-process callers issue bearer tokens, never one bound to the caller's key.
    expect(seen.rawHeaders.map((field) => field.toLowerCase())).not.toEqual(expect.arrayContaining(['dpop']));
    expect(seen.rawHeaders.join('\n')).not.toContain('callers-dpop-proof');
    // Read through to the caller's connection.
    expect(seen.ip).toMatch(/127\.0\.0\.1/);
    // The caller's request: same object, same path, method and headers.
    expect(answer.after.sameRequest).toBe(true);
    expect(answer.after.path).toBe('/api/v1/get-token');
    expect(answer.after.method).toBe('POST');
    expect(answer.after.headers).toEqual(answer.before.headers);
  });

  test('client_secret_basic credentials are form-encoded into the Authorization header (RFC 6749 2.3.1)', async () => {
    const response = await fetch(`${baseUrl}/x?basic=1`);
    const seen = ((await response.json()) as Answer).result.body;
    expect(seen.method).toBe('POST');
    const decoded = Buffer.from(String(seen.authorization).replace(/^Basic /, ''), 'base64').toString();
    expect(decoded).toBe(`${encodeURIComponent('client:1')}:${encodeURIComponent('s3cret/+')}`);
  });
});
