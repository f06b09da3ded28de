import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

import { BucketCountingHistogram } from './bucket-counting-histogram.js';

/**
 * The server's Prometheus metrics, one registry per application instance (tests run several). Every
 * series is prefixed `authtoken_`. Served on the admin port.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly tokensIssued = new Counter({
    name: 'authtoken_tokens_issued_total',
    help: 'Token requests by grant type and outcome',
    labelNames: ['grant', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly mfaChallenges = new Counter({
    name: 'authtoken_mfa_challenges_total',
    help: 'Second-factor verifications by method and outcome',
    labelNames: ['method', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly lockouts = new Counter({
    name: 'authtoken_lockouts_total',
    help: 'Attempts refused because of throttling, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  // Observed on every request, the token endpoint's included: the bucket-counting form (see its module).
  readonly httpDuration = new BucketCountingHistogram({
    name: 'authtoken_http_request_duration_seconds',
    help: 'HTTP request duration by route and status class',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly storeOperationDuration = new Histogram({
    name: 'authtoken_store_operation_duration_seconds',
    help: 'Store operation latency by operation',
    labelNames: ['operation'] as const,
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'authtoken_' });
  }
}
