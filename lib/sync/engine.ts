// The sync engine: for every account and scope, sweep the provider, diff against the store and
// write only what changed. A failed or incomplete sweep changes nothing for its scope; the others
// still sync. Retries, pacing and request counting are done here, the same way for every dialect.
import { randomBytes } from "node:crypto";
import type { AccountConfig, SyncConfig } from "../config.ts";
import { asImageSyncError, ImageSyncError } from "../errors.ts";
import { createLogger, type Logger } from "../log.ts";
import type { Anomaly, ApiId, ScopeStatus } from "../model.ts";
import type { HttpClient } from "../providers/http.ts";
import { ADAPTERS } from "../providers/index.ts";
import type { AdapterFactory, ProviderAdapter } from "../providers/types.ts";
import type { SweepRecord } from "../store/items.ts";
import type { Store } from "../store/store.ts";
import type { Change } from "./diff.ts";
import { DEFAULT_GUARD, type GuardPolicy } from "./guard.ts";
import type { PointerWrite } from "./pointers.ts";
import { emptyReport, errorSummary, runReport, type ScopeReport, type SyncReport } from "./report.ts";
import { DEFAULT_RETRY, type RetryDeps, type RetryPolicy, realRetryDeps, withRetry } from "./retry.ts";
import { sweepOrder } from "./run/decide-order.ts";
import type { ScopeContext } from "./scope/context.ts";
import { counting } from "./scope/requests.ts";
import { syncScope } from "./scope/sync-scope.ts";
import { WeightedSemaphore } from "./semaphore.ts";
import { settleAll } from "./settle.ts";

export type { ScopeReport, SyncReport } from "./report.ts";
export { sweepOrder };

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

export function newRunId(nowMs: number): string {
  return `${new Date(nowMs)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}-${randomBytes(3).toString("hex")}`;
}

/**
 * Runs `fn` over the items, `limit` at a time: an item's place goes to the next once its promise settles or it
 * calls `done` (work left that does not count against the limit). Resolves when every call has settled.
 */
export async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, done: () => void) => Promise<void>,
): Promise<void> {
  let next = 0;
  const calls: Promise<void>[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      let done = () => {};
      const freed = new Promise<void>((resolve) => {
        done = resolve;
      });
      const call = fn(item, done);
      calls.push(call);
      await Promise.race([call.catch(() => undefined), freed]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  // Every call settles before a failure is told: nothing is left running behind the caller's back.
  await settleAll(calls);
}

export async function runSync(opts: SyncOptions): Promise<SyncReport> {
  const now = opts.now ?? Date.now;
  const startMs = now();
  const runId = opts.runId ?? newRunId(startMs);
  const log = (opts.log ?? createLogger({ level: "warn" })).child({ runId });
  const adapters = opts.adapters ?? ADAPTERS;
  const retry = opts.retry ?? DEFAULT_RETRY;
  const retryDeps = opts.retryDeps ?? realRetryDeps;
  const guard = opts.guard ?? DEFAULT_GUARD;
  const leaseMs = opts.leaseMs ?? 16 * 60_000;
  const memory = new WeightedSemaphore(opts.memoryBudgetImages ?? DEFAULT_MEMORY_BUDGET_IMAGES);
  const dryRun = opts.dryRun ?? false;
  const reports: ScopeReport[] = [];
  // Scopes swept completely and found unchanged, per account: recorded on its lease as it is let go instead of
  // rewriting their status items (see SweepRecord). Beyond MAX_RECORDED_SCOPES their statuses are written.
  const unchangedSweeps = new Map<string, ScopeStatus[]>();

  const makeAdapter = (account: AccountConfig, http: HttpClient): ProviderAdapter =>
    adapters[account.api]({ account, http, now });

  // Discover every account's scopes first (in parallel), so scope sweeps share one concurrency pool.
  const discovered = await Promise.all(opts.config.accounts.map((account) => discover(account)));
  // At most one sweep of a scope at any time, across runs, workers and redeliveries: a hold per scope on the
  // account's lease item, owned by this invocation alone, with an expiry so a crashed run's holds lapse.
  const owner = `${runId}/${randomBytes(4).toString("hex")}`;
  const leasedAt = now();
  const holds = new Map<AccountConfig, string[]>();
  const scopeContext: ScopeContext = {
    store: opts.store,
    log,
    http: opts.http,
    now,
    runId,
    dryRun,
    retry,
    retryDeps,
    guard,
    adapterFor: makeAdapter,
    defaultRequestsPerSecond: opts.defaultRequestsPerSecond,
    pageConcurrency: opts.pageConcurrency ?? 4,
    memory,
    leasedAt,
    leaseMs,
    canStartScope: opts.canStartScope && (() => opts.canStartScope?.() ?? true),
    onAnomaly: opts.onAnomaly && ((anomaly) => opts.onAnomaly?.(anomaly)),
    onChanges: opts.onChanges && ((changes, report, pointers) => opts.onChanges?.(changes, report, pointers)),
    report: (report) => reports.push(report),
    recordUnchanged: (status) => {
      const swept = unchangedSweeps.get(status.account);
      if (swept) swept.push(status);
      else unchangedSweeps.set(status.account, [status]);
    },
  };
  const tasks: Array<{ account: AccountConfig; scope: string }> = [];
  await Promise.all(
    opts.config.accounts.map(async (account, i) => {
      const scopes = discovered[i] ?? [];
      if (scopes.length === 0) return;
      const taken = dryRun ? scopes : await takeHolds(account, scopes);
      for (const scope of taken) tasks.push({ account, scope });
    }),
  );
  try {
    // The statuses are read once the holds are taken (a status read before could predate another run's commit),
    // alongside the check for an older version's leases.
    const [older, stored] = await Promise.all([
      !dryRun && tasks.length > 0 && olderVersionLive(),
      opts.store.listScopeStatuses(),
    ]);
    // While a run of an older version (account- or batch-wide leases) is live, its scopes are unknown: sweep none.
    if (older) skipAll("a run of an older version holds a lease; skipped until it lapses");
    const statuses = new Map(stored.map((s) => [`${s.account}#${s.scope}`, s]));
    sweepOrder(tasks, statuses);
    // `scopeConcurrency` scopes send requests at once: a scope whose requests have all gone out gives its place
    // to the next while it waits for the replies and writes.
    await mapLimit(tasks, opts.scopeConcurrency ?? 4, (task, sending) =>
      syncScope(scopeContext, task.account, task.scope, statuses.get(`${task.account.name}#${task.scope}`), sending),
    );
  } finally {
    await Promise.all([...holds.keys()].map((account) => letGo(account)));
  }

  function skipAll(message: string): void {
    for (const { account, scope } of tasks.splice(0)) {
      const err = new ImageSyncError("LEASE_HELD", message, {
        context: { account: account.name, api: account.api, scope },
      });
      reports.push({ ...emptyReport(account, scope), status: "skipped", error: errorSummary(err) });
    }
  }

  /** True while an older version's lease is live (a store that cannot tell says no: its holds still apply). */
  async function olderVersionLive(): Promise<boolean> {
    try {
      return await opts.store.olderVersionLeaseLive(now());
    } catch (e) {
      log.warn("could not read the leases of older versions", { error: asImageSyncError(e).describe() });
      return false;
    }
  }

  /** The account's scopes, or null (reported as the account's failure) when discovery fails. */
  async function discover(account: AccountConfig): Promise<string[] | null> {
    const counter = { requests: 0 };
    const t0 = now();
    try {
      const adapter = makeAdapter(account, counting(opts.http, counter));
      return await withRetry(() => adapter.listScopes(), retry, retryDeps);
    } catch (e) {
      const err = asImageSyncError(e, { account: account.name, api: account.api });
      log.error("scope discovery failed", { account: account.name, api: account.api, error: err.describe() });
      reports.push({
        ...emptyReport(account, "*"),
        requests: counter.requests,
        durationMs: now() - t0,
        error: errorSummary(err),
      });
      return null;
    }
  }

  /** Takes the holds of the account's scopes that no other run holds; the others are reported skipped. */
  async function takeHolds(account: AccountConfig, scopes: string[]): Promise<string[]> {
    let taken: string[];
    try {
      taken = await opts.store.acquireScopes(account.name, scopes, owner, leasedAt, leaseMs);
    } catch (e) {
      const err = asImageSyncError(e, { account: account.name, api: account.api });
      log.error("account failed: its lease could not be taken", { account: account.name, error: err.describe() });
      reports.push({ ...emptyReport(account, "*"), error: errorSummary(err) });
      return [];
    }
    holds.set(account, taken);
    for (const scope of scopes.filter((s) => !taken.includes(s))) {
      const err = new ImageSyncError("LEASE_HELD", "another run is sweeping this scope; skipped", {
        context: { account: account.name, api: account.api, scope },
      });
      log.warn("scope skipped: another run holds it", { account: account.name, scope });
      reports.push({ ...emptyReport(account, scope), status: "skipped", error: errorSummary(err) });
    }
    return taken;
  }

  /** Lets the account's holds go with the record of its unchanged scopes (or writes their statuses instead). */
  async function letGo(account: AccountConfig): Promise<void> {
    const swept = unchangedSweeps.get(account.name) ?? [];
    const recorded = swept.slice(0, MAX_RECORDED_SCOPES);
    const record: SweepRecord = {
      runId,
      scopes: Object.fromEntries(recorded.map((s) => [`${s.account}#${s.scope}`, s.lastAttemptAt])),
    };
    let lost: ReadonlySet<string> | null = null;
    try {
      lost = new Set(await opts.store.releaseScopes(account.name, holds.get(account) ?? [], owner, record, now()));
    } catch (e) {
      log.warn("could not release lease", { account: account.name, error: asImageSyncError(e).describe() });
    }
    // What the lease could not carry goes to the status items themselves; a scope whose hold lapsed and was taken
    // is left to its new owner, and when the release failed outright every status is written.
    const unrecorded = swept.filter((s, i) => lost === null || (i >= MAX_RECORDED_SCOPES && !lost.has(s.scope)));
    for (const status of unrecorded) {
      await opts.store
        .putScopeStatus(status)
        .catch((e) =>
          log.error("could not record scope status", { scope: status.scope, error: asImageSyncError(e).describe() }),
        );
    }
  }

  return runReport({ runId, startMs, endMs: now(), dryRun }, reports);
}

/**
 * Images the scopes in progress may hold at once. 16k keeps a first sync of 309k images under 256 MiB RSS with
 * V8's heap capped at 160 MiB (npm run bench), at 188 s against 172 s with 40k; steady runs are not slower.
 */
export const DEFAULT_MEMORY_BUDGET_IMAGES = 16_000;

/** Unchanged scopes one lease item records (about 70 bytes each: far inside DynamoDB's 400 KB item limit). */
export const MAX_RECORDED_SCOPES = 2_000;
