// `npm run bench`: loads our server and the plain-oidc-provider baseline alternately on 127.0.0.1 and
// prints req/s, latency and ours/baseline; writes bench/results/latest.json. Every run is bounded.
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { FerretDbProcess } from '../test/support/ferretdb.js';
import { median, runLoad, type LoadRequest, type LoadResult } from './load.js';
import { measureMemoryGrowth, type MemoryGrowthResult } from './memory-growth.js';
import { distRoot, startServerProcess, type RunningServer } from './processes.js';

// Five interleaved rounds: with three, a single noisy round on this shared 2-core VM moved a median by 5-10%.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
/** Issue 3 item 8: tokens issued on the MongoDB store while the server's resident memory is watched. */
const MEMORY_TOKENS = Number(process.env.BENCH_MEMORY_TOKENS ?? 100_000);

export interface ScenarioResult {
  name: string;
  ours_rps: number;
  baseline_rps: number;
  ratio: number;
  p50_ms: number;
  p99_ms: number;
  target_ratio: number;
  /** ours/baseline of each round (the two runs of a round are back to back): the spread behind the median. */
  round_ratios: number[];
}

interface Scenario {
  name: string;
  targetRatio: number;
  startOurs(port: number): Promise<RunningServer>;
  startBaseline(port: number): Promise<RunningServer>;
  oursRequest(server: RunningServer): Omit<LoadRequest, 'durationSeconds' | 'connections'>;
  baselineRequest(server: RunningServer): Omit<LoadRequest, 'durationSeconds' | 'connections'>;
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const form = 'application/x-www-form-urlencoded';
let nextPort = 4100 + Math.floor(Math.random() * 500);

const ourEnv = (extra: Record<string, string> = {}) => ({
  NODE_ENV: 'development',
  LOG_LEVEL: 'warn',
  AUTHTOKEN_MASTER_KEY: randomBytes(32).toString('base64'),
  COOKIE_KEYS: randomBytes(32).toString('base64url'),
  DEMO_CLIENT_ID: 'bench-client',
  DEMO_CLIENT_SECRET: 'bench-secret',
  ...extra,
});

function clientCredentialsScenario(name: string, targetRatio: number, env: () => Promise<Record<string, string>>): Scenario {
  const request = (server: RunningServer) => ({
    url: `${server.url}/token`,
    method: 'POST' as const,
    headers: { 'content-type': form, authorization: basic('bench-client', 'bench-secret') },
    body: 'grant_type=client_credentials&scope=api%3Aread',
  });
  return {
    name,
    targetRatio,
    startOurs: async (port) => startServerProcess('src/main.js', port, ourEnv(await env())),
    startBaseline: (port) => startServerProcess('bench/baseline-server.js', port, {}),
    oursRequest: request,
    baselineRequest: request,
  };
}

/** Client credentials issuing JWTs: ours EdDSA with stored keys, the baseline RS256 with its development keys. */
function jwtClientCredentialsScenario(name: string, targetRatio: number): Scenario {
  const base = clientCredentialsScenario(name, targetRatio, async () => ({ ACCESS_TOKEN_FORMAT: 'jwt', ACCESS_TOKEN_SIGNING_ALG: 'EdDSA' }));
  return { ...base, startBaseline: (port) => startServerProcess('bench/baseline-server.js', port, { BASELINE_ACCESS_TOKEN_FORMAT: 'jwt' }) };
}

async function issueToken(server: RunningServer): Promise<string> {
  const response = await fetch(`${server.url}/token`, {
    method: 'POST',
    headers: { 'content-type': form, authorization: basic('bench-client', 'bench-secret') },
    body: 'grant_type=client_credentials&scope=api%3Aread',
  });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no token from ${server.url}: ${JSON.stringify(body)}`);
  return body.access_token;
}

/**
 * Introspection of one live token by its own client. The baseline always introspects an opaque token
 * (oidc-provider refuses JWTs there); ours introspects the format named, so `jwt` measures our JWT path.
 */
function introspectionScenario(name: string, targetRatio: number, ourFormat: 'opaque' | 'jwt'): Scenario {
  const tokens = new WeakMap<RunningServer, string>();
  const withToken = async (server: RunningServer) => {
    tokens.set(server, await issueToken(server));
    return server;
  };
  const request = (server: RunningServer) => ({
    url: `${server.url}/token/introspection`,
    method: 'POST' as const,
    headers: { 'content-type': form, authorization: basic('bench-client', 'bench-secret') },
    body: `token=${encodeURIComponent(tokens.get(server) ?? '')}`,
  });
  return {
    name,
    targetRatio,
    startOurs: async (port) => withToken(await startServerProcess('src/main.js', port, ourEnv({ ACCESS_TOKEN_FORMAT: ourFormat }))),
    startBaseline: async (port) => withToken(await startServerProcess('bench/baseline-server.js', port, {})),
    oursRequest: request,
    baselineRequest: request,
  };
}

async function runScenario(scenario: Scenario): Promise<ScenarioResult> {
  const ours = await scenario.startOurs(nextPort++);
  const baseline = await scenario.startBaseline(nextPort++);
  try {
    const settings = { durationSeconds: SECONDS, connections: CONNECTIONS };
    const warmup = { durationSeconds: 1, connections: CONNECTIONS };
    await runLoad({ ...scenario.oursRequest(ours), ...warmup });
    await runLoad({ ...scenario.baselineRequest(baseline), ...warmup });
    const oursRuns: LoadResult[] = [];
    const baselineRuns: LoadResult[] = [];
    // Interleaved, alternating which goes first, so machine noise hits both sides alike.
    for (let round = 0; round < ROUNDS; round += 1) {
      const runOurs = async () => oursRuns.push(await runLoad({ ...scenario.oursRequest(ours), ...settings }));
      const runBaseline = async () => baselineRuns.push(await runLoad({ ...scenario.baselineRequest(baseline), ...settings }));
      if (round % 2 === 0) {
        await runOurs();
        await runBaseline();
      } else {
        await runBaseline();
        await runOurs();
      }
    }
    const failed = [...oursRuns, ...baselineRuns].reduce((sum, run) => sum + run.non2xx, 0);
    if (failed > 0) throw new Error(`${scenario.name}: ${failed} non-2xx answers during the load`);
    const oursRps = median(oursRuns.map((run) => run.rps));
    const baselineRps = median(baselineRuns.map((run) => run.rps));
    return {
      name: scenario.name,
      ours_rps: Math.round(oursRps),
      baseline_rps: Math.round(baselineRps),
      ratio: Math.round((oursRps / baselineRps) * 100) / 100,
      p50_ms: median(oursRuns.map((run) => run.p50Ms)),
      p99_ms: median(oursRuns.map((run) => run.p99Ms)),
      target_ratio: scenario.targetRatio,
      round_ratios: oursRuns.map((run, round) => Math.round((run.rps / (baselineRuns[round]?.rps ?? Number.NaN)) * 100) / 100),
    };
  } finally {
    await ours.stop();
    await baseline.stop();
  }
}

export interface PasswordGrantResult {
  name: string;
  password_grants_per_second: number;
  password_grants_per_second_per_core: number;
  password_grant_p99_ms: number;
  discovery_p99_ms_under_load: number;
  discovery_rps_under_load: number;
  targets: { password_grants_per_second_per_core: number; discovery_p99_ms: number };
}

/**
 * Password grants (argon2id on the libuv threadpool) at full load, with discovery requests alongside:
 * if argon2 blocked the event loop, discovery's p99 would climb to the hash time.
 */
async function runPasswordGrantScenario(): Promise<PasswordGrantResult> {
  const server = await startServerProcess(
    'src/main.js',
    nextPort++,
    ourEnv({
      DEMO_USER_TOTP: 'false',
      RATE_LIMIT_PASSWORD_GRANT: '0',
      DEMO_USER_EMAIL: 'bench@example.com',
      DEMO_USER_PASSWORD: 'bench-password-123',
      ...(process.env.ARGON2_MAX_CONCURRENT ? { ARGON2_MAX_CONCURRENT: process.env.ARGON2_MAX_CONCURRENT } : {}),
    }),
  );
  try {
    const grant = {
      url: `${server.url}/token`,
      method: 'POST' as const,
      headers: { 'content-type': form, authorization: basic('bench-client', 'bench-secret') },
      body: 'grant_type=password&username=bench%40example.com&password=bench-password-123&scope=api%3Aread',
    };
    const discovery = { url: `${server.url}/.well-known/openid-configuration` };
    await runLoad({ ...grant, durationSeconds: 1, connections: 4 });
    const grantRuns: LoadResult[] = [];
    const discoveryRuns: LoadResult[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const [grantRun, discoveryRun] = await Promise.all([
        runLoad({ ...grant, durationSeconds: SECONDS, connections: 8 }),
        runLoad({ ...discovery, durationSeconds: SECONDS, connections: 2 }),
      ]);
      grantRuns.push(grantRun);
      discoveryRuns.push(discoveryRun);
    }
    const failed = [...grantRuns, ...discoveryRuns].reduce((sum, run) => sum + run.non2xx, 0);
    if (failed > 0) throw new Error(`password grant: ${failed} non-2xx answers during the load`);
    const grantsPerSecond = median(grantRuns.map((run) => run.rps));
    const cores = availableParallelism();
    return {
      name: 'password_grant+discovery/memory',
      password_grants_per_second: Math.round(grantsPerSecond * 10) / 10,
      password_grants_per_second_per_core: Math.round((grantsPerSecond / cores) * 10) / 10,
      password_grant_p99_ms: median(grantRuns.map((run) => run.p99Ms)),
      discovery_p99_ms_under_load: median(discoveryRuns.map((run) => run.p99Ms)),
      discovery_rps_under_load: Math.round(median(discoveryRuns.map((run) => run.rps))),
      targets: { password_grants_per_second_per_core: 25, discovery_p99_ms: 50 },
    };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  let ferret: FerretDbProcess | undefined;
  const mongoUri = async (): Promise<string> => {
    if (process.env.MONGODB_URI) return process.env.MONGODB_URI;
    ferret ??= await FerretDbProcess.start();
    return ferret.uri;
  };
  const scenarios: Scenario[] = [
    clientCredentialsScenario('client_credentials/memory', 0.9, async () => ({})),
    jwtClientCredentialsScenario('client_credentials_jwt/memory', 1.5),
    introspectionScenario('introspection/memory', 0.9, 'opaque'),
    introspectionScenario('introspection_jwt/memory', 0.9, 'jwt'),
  ];
  let mongoAvailable = true;
  try {
    await mongoUri();
  } catch (error) {
    mongoAvailable = false;
    process.stderr.write(`skipping MongoDB scenarios: ${(error as Error).message}\n`);
  }
  if (mongoAvailable) {
    scenarios.push(
      clientCredentialsScenario('client_credentials/mongodb', 0.3, async () => ({
        MONGODB_URI: await mongoUri(),
        MONGODB_DB: `bench_${randomBytes(4).toString('hex')}`,
        DEMO_SEED: 'true',
      })),
    );
  }

  // BENCH_ONLY=substring runs the matching scenarios only (results still go to latest.json).
  const only = process.env.BENCH_ONLY;
  const selected = only ? scenarios.filter((scenario) => scenario.name.includes(only)) : scenarios;
  const results: ScenarioResult[] = [];
  const memoryResults: MemoryGrowthResult[] = [];
  let passwordGrant: PasswordGrantResult | undefined;
  try {
    for (const scenario of selected) {
      process.stdout.write(`running ${scenario.name} (${ROUNDS} rounds x ${SECONDS}s, ${CONNECTIONS} connections)...\n`);
      results.push(await runScenario(scenario));
    }
    process.stdout.write(`running password grant + discovery (${ROUNDS} rounds x ${SECONDS}s)...\n`);
    passwordGrant = await runPasswordGrantScenario();
    if (mongoAvailable && MEMORY_TOKENS > 0) {
      process.stdout.write(`running memory growth: ${MEMORY_TOKENS} tokens on the MongoDB store...\n`);
      const server = await startServerProcess(
        'src/main.js',
        nextPort++,
        ourEnv({ MONGODB_URI: await mongoUri(), MONGODB_DB: `bench_${randomBytes(4).toString('hex')}`, DEMO_SEED: 'true' }),
      );
      try {
        const request = clientCredentialsScenario('memory', 0, async () => ({})).oursRequest(server);
        memoryResults.push(
          await measureMemoryGrowth(`rss_growth/mongodb_${MEMORY_TOKENS}_tokens`, server, request, {
            tokens: MEMORY_TOKENS,
            warmupChunkTokens: Math.min(10_000, MEMORY_TOKENS),
            maxWarmupChunks: 6,
            settledMb: 5,
            connections: CONNECTIONS,
            targetGrowthMb: 50,
          }),
        );
      } finally {
        await server.stop();
      }
    }
  } finally {
    await ferret?.stop();
  }

  process.stdout.write('\nscenario                         ours req/s  baseline req/s  ratio  target  p50 ms  p99 ms  rounds (min-max)\n');
  for (const result of results) {
    const verdict = result.ratio >= result.target_ratio ? 'ok' : 'BELOW TARGET';
    const spread = `${Math.min(...result.round_ratios).toFixed(2)}-${Math.max(...result.round_ratios).toFixed(2)}`;
    process.stdout.write(
      `${result.name.padEnd(32)} ${String(result.ours_rps).padStart(10)} ${String(result.baseline_rps).padStart(15)} ${result.ratio.toFixed(2).padStart(6)} ${('>=' + result.target_ratio).padStart(7)} ${String(result.p50_ms).padStart(7)} ${String(result.p99_ms).padStart(7)}  ${spread.padStart(16)}  ${verdict}\n`,
    );
  }
  for (const result of memoryResults) {
    const verdict = result.growth_mb <= result.target_growth_mb ? 'ok' : 'ABOVE TARGET';
    process.stdout.write(
      `\n${result.name}: after a ${result.warmup_tokens}-token warm-up, resident ${result.rss_before_mb} MB -> ${result.rss_after_mb} MB, growth ${result.growth_mb} MB (target <= ${result.target_growth_mb} MB)  ${verdict}\n`,
    );
  }
  const grantVerdict =
    passwordGrant.password_grants_per_second_per_core >= passwordGrant.targets.password_grants_per_second_per_core &&
    passwordGrant.discovery_p99_ms_under_load < passwordGrant.targets.discovery_p99_ms
      ? 'ok'
      : 'BELOW TARGET';
  process.stdout.write(
    `\npassword grant: ${passwordGrant.password_grants_per_second} grants/s (${passwordGrant.password_grants_per_second_per_core}/core, target >= 25), ` +
      `grant p99 ${passwordGrant.password_grant_p99_ms} ms; discovery p99 under that load ${passwordGrant.discovery_p99_ms_under_load} ms (target < 50)  ${grantVerdict}\n`,
  );
  const resultsDirectory = join(distRoot, '..', 'bench', 'results');
  mkdirSync(resultsDirectory, { recursive: true });
  writeFileSync(join(resultsDirectory, 'latest.json'), `${JSON.stringify({ scenarios: results, passwordGrant, memoryGrowth: memoryResults }, null, 2)}\n`);
  process.stdout.write(`\nwrote ${join(resultsDirectory, 'latest.json')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
