// One error taxonomy: every failure the sync can meet is an ImageSyncError with a stable `code`
// and a `retryable` flag. Adapters map provider codes onto it; nothing else decides retryability.

export interface ErrorContext {
  account?: string;
  api?: string;
  scope?: string;
  /** The provider's request id, when the provider answered. */
  requestId?: string;
  httpStatus?: number;
  /** Milliseconds the provider asked us to wait (Retry-After). */
  retryAfterMs?: number;
}

export class ImageSyncError extends Error {
  override name = "ImageSyncError";
  readonly code: string;
  readonly retryable: boolean;
  readonly context: ErrorContext;

  constructor(
    code: string,
    message: string,
    opts: { retryable?: boolean; cause?: unknown; context?: ErrorContext } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.context = { ...opts.context };
  }

  /** The message with where it happened, for summaries and logs. */
  describe(): string {
    const where = [
      this.context.account && `account ${this.context.account}`,
      this.context.api && `api ${this.context.api}`,
      this.context.scope && `scope ${this.context.scope}`,
      this.context.requestId && `request ${this.context.requestId}`,
    ].filter(Boolean);
    return where.length ? `${this.code}: ${this.message} (${where.join(", ")})` : `${this.code}: ${this.message}`;
  }

  toJSON(): { code: string; message: string; retryable: boolean; context: ErrorContext } {
    return { code: this.code, message: this.message, retryable: this.retryable, context: this.context };
  }
}

/** Bad configuration or usage: exit code 2, never retried. */
export class ConfigError extends ImageSyncError {
  override name = "ConfigError";
  readonly problems: string[];
  constructor(problems: string[]) {
    super("CONFIG_INVALID", problems.join("; "));
    this.problems = problems;
  }
}

/** The provider answered with an error code of its own. */
export class ProviderError extends ImageSyncError {
  override name = "ProviderError";
}

/** The provider answered with something we cannot read (bad JSON, wrong shape, missing fields). */
export class MalformedResponseError extends ImageSyncError {
  override name = "MalformedResponseError";
  constructor(message: string, opts: { cause?: unknown; context?: ErrorContext } = {}) {
    super("MALFORMED_RESPONSE", message, { ...opts, retryable: false });
  }
}

/** Network-level failure: reset, timeout, refused. Always retryable. */
export class TransportError extends ImageSyncError {
  override name = "TransportError";
}

/** A sweep whose result is not a consistent listing, even after one more try. */
export class IncompleteSweepError extends ImageSyncError {
  override name = "IncompleteSweepError";
  constructor(message: string, context: ErrorContext) {
    super("SWEEP_INCOMPLETE", message, { retryable: false, context });
  }
}

/** DynamoDB refused or failed a write or read. */
export class StoreError extends ImageSyncError {
  override name = "StoreError";
}

export function isImageSyncError(e: unknown): e is ImageSyncError {
  return e instanceof ImageSyncError;
}

/** Any thrown value as an ImageSyncError, adding context that the thrower did not know. */
export function asImageSyncError(e: unknown, context: ErrorContext = {}): ImageSyncError {
  if (e instanceof ImageSyncError) {
    for (const [k, v] of Object.entries(context)) {
      const key = k as keyof ErrorContext;
      if (e.context[key] === undefined && v !== undefined) (e.context as Record<string, unknown>)[key] = v;
    }
    return e;
  }
  const message = e instanceof Error ? e.message : String(e);
  return new ImageSyncError("INTERNAL", message, { cause: e, context });
}
