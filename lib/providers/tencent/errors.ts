// Tencent error codes -> the project's error taxonomy. One place decides what is worth another attempt,
// for the API 3.0 codes ("RequestLimitExceeded", "AuthFailure.SignatureFailure") and the legacy numeric
// ones ("4400", "6000") alike. The rule is the one every dialect follows (lib/sync/retry.ts): throttling and
// the provider's transient codes are retried whatever the HTTP status; an unknown code is retried on HTTP 5xx
// (the service failed, as with Zenlayer) and fatal otherwise (usually HTTP 200: retrying a request the provider
// rejected for a reason we cannot read only burns the rate limit); a code that says the request itself is
// wrong (auth, parameters) is never retried.
import { type ErrorContext, ProviderError } from "../../errors.ts";
import type { HttpResponse } from "../http.ts";
import { retryAfterMs } from "../http.ts";

// Legacy v2 codes: 4400 over quota, 6000 internal error. 4100 auth, 4500 replay, 4000 bad parameter are fatal.
const RETRYABLE_LEGACY = new Set(["4400", "6000"]);

/** Whether a Tencent error code (API 3.0 dotted or legacy numeric, as a string) is worth another attempt. */
export function isRetryableTencentCode(code: string): boolean {
  if (RETRYABLE_LEGACY.has(code)) return true;
  return (
    code === "RequestLimitExceeded" ||
    code.startsWith("RequestLimitExceeded.") ||
    code === "InternalError" ||
    code.startsWith("InternalError.") ||
    code === "ServiceUnavailable" ||
    code.startsWith("ServiceUnavailable.")
  );
}

// Codes that say the request itself is wrong: the same request fails the same way, whatever the HTTP status.
const FATAL_LEGACY = new Set(["4000", "4100", "4500"]);
const FATAL_CODE =
  /^(AuthFailure|InvalidParameter|InvalidFilter|UnauthorizedOperation|UnsupportedRegion|InvalidAction)/;

/** Whether a Tencent error code says the request itself is wrong (never worth another attempt). */
export function isFatalTencentCode(code: string): boolean {
  return FATAL_LEGACY.has(code) || FATAL_CODE.test(code);
}

/** Whether a Tencent error with this code at this HTTP status is worth another attempt (the one rule). */
export function isRetryableTencent(code: string, status: number): boolean {
  if (isRetryableTencentCode(code) || status === 429) return true;
  if (isFatalTencentCode(code)) return false;
  return status >= 500;
}

export interface ReplyOptions {
  nowMs: number;
  /** Values that must never reach an error message (SecretKey, SecretId, signature), even when echoed. */
  secrets: string[];
}

/** The provider's own error code, its retryability and any Retry-After it sent with it. */
export function tencentProviderError(
  res: HttpResponse,
  code: string,
  message: string,
  context: ErrorContext,
  opts: ReplyOptions,
): ProviderError {
  // A 429 is the gateway throttling, whatever code it wraps; a 5xx the service failing, unless the code says
  // the request is wrong.
  return withRetry(res, code, message, isRetryableTencent(code, res.status), context, opts);
}

/** An HTTP failure without a readable Tencent envelope: HTTP_<status>, retryable on 429 and 5xx. */
export function httpError(
  res: HttpResponse,
  message: string,
  context: ErrorContext,
  opts: ReplyOptions,
): ProviderError {
  return withRetry(res, `HTTP_${res.status}`, message, res.status === 429 || res.status >= 500, context, opts);
}

function withRetry(
  res: HttpResponse,
  code: string,
  message: string,
  retryable: boolean,
  context: ErrorContext,
  opts: ReplyOptions,
): ProviderError {
  const wait = retryable ? retryAfterMs(header(res, "retry-after"), opts.nowMs) : undefined;
  return new ProviderError(code, redact(message, opts.secrets), {
    retryable,
    context: wait === undefined ? context : { ...context, retryAfterMs: wait },
  });
}

/** Replaces every secret in a message; very short values are skipped so ordinary words survive. */
export function redact(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join("[redacted]");
  return out;
}

/** A response header by case-insensitive name. */
export function header(res: HttpResponse, name: string): string | undefined {
  const want = name.toLowerCase();
  for (const [k, v] of Object.entries(res.headers)) if (k.toLowerCase() === want && v !== undefined) return v;
  return undefined;
}
