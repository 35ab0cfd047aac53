// Retries for provider calls: only retryable outcomes, exponential backoff with full jitter,
// at least as long as the provider's Retry-After, a bounded number of attempts, then the last error.
import { asImageSyncError } from "../errors.ts";

export interface RetryPolicy {
  /** Total attempts, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 500, maxDelayMs: 8_000 };

export interface RetryDeps {
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

export const realRetryDeps: RetryDeps = {
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/** The delay before retry number `retry` (1-based): full jitter over an exponential cap, floored by Retry-After. */
export function backoffDelay(policy: RetryPolicy, retry: number, random: number, retryAfterMs?: number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  const jittered = Math.floor(random * cap);
  return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.min(retryAfterMs, policy.maxDelayMs * 4));
}

export async function withRetry<T>(
  attempt: (n: number) => Promise<T>,
  policy: RetryPolicy,
  deps: RetryDeps,
  onRetry?: (error: ReturnType<typeof asImageSyncError>, delayMs: number) => void,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (e) {
      const err = asImageSyncError(e);
      if (!err.retryable || n >= policy.attempts) throw err;
      const delay = backoffDelay(policy, n, deps.random(), err.context.retryAfterMs);
      onRetry?.(err, delay);
      await deps.sleep(delay);
    }
  }
}
