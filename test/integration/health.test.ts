import { serverOnOwnDatabase } from '../support/server.js';

describe('/healthz and /readyz on the public port', () => {
  const own = serverOnOwnDatabase();

  const get = async (path: string) => {
    const response = await fetch(`${own.server.baseUrl}${path}`);
    return { status: response.status, body: (await response.json()) as unknown, cacheControl: response.headers.get('cache-control') };
  };

  test('both answer 200 while the database is up', async () => {
    expect(await get('/healthz')).toEqual({ status: 200, body: { status: 'ok' }, cacheControl: 'no-store' });
    expect(await get('/readyz')).toEqual({ status: 200, body: { status: 'ready', checks: { store: 'ok', keys: 'ok' } }, cacheControl: 'no-store' });
  });

  test('with the database down, /readyz is 503 and /healthz stays 200; both recover when it returns', async () => {
    await own.ferret.halt();
    expect(await get('/readyz')).toEqual({ status: 503, body: { status: 'not_ready', checks: { store: 'unavailable', keys: 'ok' } }, cacheControl: 'no-store' });
    expect((await get('/healthz')).status).toBe(200);
    await own.ferret.resume();
    let ready = await get('/readyz');
    // The driver reconnects on its own; a bounded number of probes, as a load balancer would make.
    for (let attempt = 0; attempt < 20 && ready.status !== 200; attempt += 1) ready = await get('/readyz');
    expect(ready.status).toBe(200);
  }, 60_000);
});
