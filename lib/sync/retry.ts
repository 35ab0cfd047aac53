// Retries for provider calls. The one rule, for every dialect (README, "Reliability"):
// - retried: throttling (HTTP 429 whatever the code, REQUEST_LIMIT_EXCEEDED, RequestLimitExceeded*, legacy
//   4400), the providers' transient codes (INTERNAL_SERVER_ERROR, SERVICE_TEMPORARY_UNAVAILABLE,
//   REQUEST_TIMED_OUT, InternalError*, ServiceUnavailable*, legacy 6000), any HTTP 5xx whose code does not say
//   the request itself is wrong, and network failures (resets, refused connections, timeouts);
// - never retried: auth failures, invalid parameters, other 4xx, unknown codes on a 2xx, malformed replies;
// - the wait before retry n is full jitter over min(maxDelayMs, baseDelayMs * 2^(n-1)), and never shorter than
//   the provider's Retry-After, which is honoured in full (no cap);
// - at most `attempts` attempts, then the last error;
// - a wait that would end past the caller's deadline (RetryDeps.timeLeftMs) is not slept: the call fails at once
//   with RETRY_DEADLINE, naming the wait, the time left and the last error.
// Which provider outcome is retryable is decided where the reply is read (the adapters' error mapping).
import { asImageSyncError, ImageSyncError } from "../errors.ts";

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
  /** Milliseconds left before the caller's deadline; a wait longer than this fails with RETRY_DEADLINE. */
  timeLeftMs?: () => number;
}

export const realRetryDeps: RetryDeps = {
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/** How long before a Lambda's timeout a retry wait must end: time to write the scope's result and let the lease go. */
export const RETRY_DEADLINE_MARGIN_MS = 30_000;

/** The deps with a deadline: `timeLeftMs` is the time left before it (a Lambda's remaining time less a margin). */
export function withDeadline(deps: RetryDeps, timeLeftMs: () => number): RetryDeps {
  return { ...deps, timeLeftMs };
}

/** The delay before retry number `retry` (1-based): full jitter over an exponential cap, floored by Retry-After. */
export function backoffDelay(policy: RetryPolicy, retry: number, random: number, retryAfterMs?: number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  const jittered = Math.floor(random * cap);
  return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.ceil(retryAfterMs));
}

/** A retry whose wait would pass the deadline: not retryable, the last error as its cause. */
export class RetryDeadlineError extends ImageSyncError {
  override name = "RetryDeadlineError";
  constructor(last: ImageSyncError, delayMs: number, leftMs: number) {
    super(
      "RETRY_DEADLINE",
      `not retried: the wait of ${delayMs} ms would pass the deadline (${Math.max(0, Math.floor(leftMs))} ms left); last error ${last.code}: ${last.message}`,
      { retryable: false, cause: last, context: last.context },
    );
  }
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
      const left = deps.timeLeftMs?.();
      if (left !== undefined && delay > left) throw new RetryDeadlineError(err, delay, left);
      onRetry?.(err, delay);
      await deps.sleep(delay);
    }
  }
}
