import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { runLoad, type LoadRequest } from './load.js';
import type { RunningServer } from './processes.js';

export interface MemoryGrowthResult {
  name: string;
  tokens: number;
  rss_before_mb: number;
  rss_after_mb: number;
  growth_mb: number;
  target_growth_mb: number;
}

/** Resident set size of a process in MiB (Linux /proc, `ps` elsewhere). */
export function residentMegabytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    if (match) return Number(match[1]) / 1024;
  } catch {
    // not Linux: ask ps
  }
  return Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim()) / 1024;
}

const round = (value: number) => Math.round(value * 10) / 10;

/**
 * Issue 3 item 8: the server's resident memory growth while it issues `tokens` tokens against warm state
 * (a warm-up load first, so start-up allocation, JIT and pools are not counted). Bounded by the request count.
 */
export async function measureMemoryGrowth(
  name: string,
  server: RunningServer,
  request: Omit<LoadRequest, 'durationSeconds' | 'connections' | 'amount'>,
  options: { tokens: number; warmupTokens: number; connections: number; targetGrowthMb: number },
): Promise<MemoryGrowthResult> {
  const warmup = await runLoad({ ...request, amount: options.warmupTokens, durationSeconds: 0, connections: options.connections });
  if (warmup.non2xx > 0) throw new Error(`${name}: ${warmup.non2xx} non-2xx answers during the warm-up`);
  const before = residentMegabytes(server.pid);
  const load = await runLoad({ ...request, amount: options.tokens, durationSeconds: 0, connections: options.connections });
  if (load.non2xx > 0) throw new Error(`${name}: ${load.non2xx} non-2xx answers while issuing tokens`);
  const after = residentMegabytes(server.pid);
  return {
    name,
    tokens: options.tokens,
    rss_before_mb: round(before),
    rss_after_mb: round(after),
    growth_mb: round(after - before),
    target_growth_mb: options.targetGrowthMb,
  };
}
