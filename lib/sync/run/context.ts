// What a run is given (SyncOptions), the same with its defaults filled in (Run), and what it hands each scope's
// sync (ScopeContext).
import { randomBytes } from "node:crypto";
import type { AccountConfig, SyncConfig } from "../../config.ts";
import { createLogger, type Logger } from "../../log.ts";
import type { Anomaly, ApiId, ScopeStatus } from "../../model.ts";
import type { HttpClient } from "../../providers/http.ts";
import { ADAPTERS } from "../../providers/index.ts";
import type { AdapterFactory, ProviderAdapter } from "../../providers/types.ts";
import type { Store } from "../../store/store.ts";
import type { Change } from "../diff.ts";
import { DEFAULT_GUARD, type GuardPolicy } from "../guard.ts";
import type { PointerWrite } from "../pointers.ts";
import type { ScopeReport } from "../report.ts";
import { DEFAULT_RETRY, type RetryDeps, type RetryPolicy, realRetryDeps } from "../retry.ts";
import type { ScopeContext } from "../scope/context.ts";
import { WeightedSemaphore } from "../semaphore.ts";

export interface SyncOptions {
  config: SyncConfig;
  store: Store;
  http: HttpClient;
  /** Unix milliseconds. */
  now?: () => number;
  runId?: string;
  dryRun?: boolean;
  retry?: RetryPolicy;
  retryDeps?: RetryDeps;
  /** Scopes swept at once across all accounts. */
  scopeConcurrency?: number;
  /** Images the scopes in progress may hold at once (a scope larger than this runs alone). */
  memoryBudgetImages?: number;
  /** Pages of one listing in flight at once (paced by the scope's rate limit). */
  pageConcurrency?: number;
  /** Requests per second per scope for providers that publish no limit (Zenlayer). */
  defaultRequestsPerSecond?: number;
  adapters?: Record<ApiId, AdapterFactory>;
  log?: Logger;
  /** False once the run should stop starting scopes (time budget); unstarted scopes are reported incomplete. */
  canStartScope?: () => boolean;
  /** Mass-deprecation guard thresholds. */
  guard?: GuardPolicy;
  /** How long a run's scope holds last before they lapse (longer than one invocation). */
  leaseMs?: number;
  /** Called when the guard holds a mass deprecation (after the anomaly item is written). */
  onAnomaly?: (anomaly: Anomaly) => void | Promise<void>;
  /** Called with each complete scope's changes once they are written (or would be, in a dry run). */
  onChanges?: (
    changes: readonly Change[],
    report: ScopeReport,
    pointers: readonly PointerWrite[],
  ) => void | Promise<void>;
}

/**
 * Images the scopes in progress may hold at once. 16k keeps a first sync of 309k images under 256 MiB RSS with
 * V8's heap capped at 160 MiB (npm run bench), at 188 s against 172 s with 40k; steady runs are not slower.
 */
export const DEFAULT_MEMORY_BUDGET_IMAGES = 16_000;

/** A run's options with their defaults filled in. */
export interface Run {
  opts: SyncOptions;
  store: Store;
  now: () => number;
  startMs: number;
  runId: string;
  log: Logger;
  dryRun: boolean;
  retry: RetryPolicy;
  retryDeps: RetryDeps;
  guard: GuardPolicy;
  leaseMs: number;
  /** The images the scopes in progress may hold at once. */
  memory: WeightedSemaphore;
  adapterFor: (account: AccountConfig, http: HttpClient) => ProviderAdapter;
}

export function newRunId(nowMs: number): string {
  return `${new Date(nowMs)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}-${randomBytes(3).toString("hex")}`;
}

export function openRun(opts: SyncOptions): Run {
  const now = opts.now ?? Date.now;
  const startMs = now();
  const runId = opts.runId ?? newRunId(startMs);
  const log = (opts.log ?? createLogger({ level: "warn" })).child({ runId });
  const adapters = opts.adapters ?? ADAPTERS;
  return {
    opts,
    store: opts.store,
    now,
    startMs,
    runId,
    log,
    retry: opts.retry ?? DEFAULT_RETRY,
    retryDeps: opts.retryDeps ?? realRetryDeps,
    guard: opts.guard ?? DEFAULT_GUARD,
    leaseMs: opts.leaseMs ?? 16 * 60_000,
    memory: new WeightedSemaphore(opts.memoryBudgetImages ?? DEFAULT_MEMORY_BUDGET_IMAGES),
    dryRun: opts.dryRun ?? false,
    adapterFor: (account, http) => adapters[account.api]({ account, http, now }),
  };
}

/** What every scope's sync is given: the run, its holds' timing, and where its report and record go. */
export function scopeContext(
  run: Run,
  holds: { leasedAt: number; recordUnchanged: (status: ScopeStatus) => void },
  report: (report: ScopeReport) => void,
): ScopeContext {
  const { opts } = run;
  return {
    store: run.store,
    log: run.log,
    http: opts.http,
    now: run.now,
    runId: run.runId,
    dryRun: run.dryRun,
    retry: run.retry,
    retryDeps: run.retryDeps,
    guard: run.guard,
    adapterFor: run.adapterFor,
    defaultRequestsPerSecond: opts.defaultRequestsPerSecond,
    pageConcurrency: opts.pageConcurrency ?? 4,
    memory: run.memory,
    leasedAt: holds.leasedAt,
    leaseMs: run.leaseMs,
    hooks: opts,
    report,
    recordUnchanged: (status) => holds.recordUnchanged(status),
  };
}
