import autocannon from 'autocannon';

export interface LoadResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
}

export interface LoadRequest {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Bounded: the run stops after this many seconds. */
  durationSeconds: number;
  /** When set, the run stops after this many requests instead (durationSeconds is ignored). */
  amount?: number;
  connections: number;
}

/** One bounded autocannon run against a loopback URL. */
export async function runLoad(request: LoadRequest): Promise<LoadResult> {
  if (!/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(request.url)) throw new Error('benchmarks only target loopback');
  const result = await autocannon({
    url: request.url,
    method: request.method ?? 'GET',
    headers: request.headers,
    body: request.body,
    ...(request.amount !== undefined ? { amount: request.amount } : { duration: request.durationSeconds }),
    connections: request.connections,
  });
  return {
    rps: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
