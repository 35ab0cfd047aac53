// The sync engine: for every account and scope, sweep the provider, diff against the store and
// write only what changed. A failed or incomplete sweep changes nothing for its scope; the others
// still sync. Retries, pacing and request counting are done here, the same way for every dialect.
import { randomBytes } from "node:crypto";
import type { AccountConfig, SyncConfig } from "../config.ts";
import { asImageSyncError, ImageSyncError, IncompleteSweepError } from "../errors.ts";
import { createLogger, type Logger } from "../log.ts";
import { type ApiId, providerOf, type ScopeOutcome, type ScopeStatus } from "../model.ts";
import type { HttpClient } from "../providers/http.ts";
import { ADAPTERS } from "../providers/index.ts";
import type { AdapterFactory, ProviderAdapter } from "../providers/types.ts";
import type { Store } from "../store/store.ts";
import { type Change, diffScope } from "./diff.ts";
import { Pacer } from "./pacer.ts";
import { DEFAULT_RETRY, type RetryDeps, type RetryPolicy, realRetryDeps, withRetry } from "./retry.ts";
import { sweepScope } from "./sweep.ts";

export interface ScopeReport {
  account: string;
  api: ApiId;
  scope: string;
  status: ScopeOutcome;
  baseline: boolean;
  fetched: number;
  added: number;
  updated: number;
  deprecated: number;
  restored: number;
  unchanged: number;
  /** Provider HTTP requests made for this scope (retries included). */
  requests: number;
  /** DynamoDB image writes made for this scope. */
  writes: number;
  durationMs: number;
  error: { code: string; message: string; requestId?: string } | null;
}

export interface SyncReport {
  runId: string;
  startedAt: string;
  durationMs: number;
  dryRun: boolean;
  scopes: ScopeReport[];
  /** True when every scope completed. */
  ok: boolean;
}

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
  /** Requests per second per scope for providers that publish no limit (Zenlayer). */
  defaultRequestsPerSecond?: number;
  adapters?: Record<ApiId, AdapterFactory>;
  log?: Logger;
  /** False once the run should stop starting scopes (time budget); unstarted scopes are reported incomplete. */
  canStartScope?: () => boolean;
  /** Called with each complete scope's changes once they are written (or would be, in a dry run). */
  onChanges?: (changes: readonly Change[], report: ScopeReport) => void | Promise<void>;
}

export function newRunId(nowMs: number): string {
  return `${new Date(nowMs)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}-${randomBytes(3).toString("hex")}`;
}

/** An HttpClient that counts the requests sent through it. */
function counting(http: HttpClient, counter: { requests: number }): HttpClient {
  return {
    send: (req) => {
      counter.requests++;
      return http.send(req);
    },
    close: () => Promise.resolve(),
  };
}

function errorSummary(e: ImageSyncError): { code: string; message: string; requestId?: string } {
  return {
    code: e.code,
    message: e.describe(),
    ...(e.context.requestId ? { requestId: e.context.requestId } : {}),
  };
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

export async function runSync(opts: SyncOptions): Promise<SyncReport> {
  const now = opts.now ?? Date.now;
  const startMs = now();
  const runId = opts.runId ?? newRunId(startMs);
  const log = (opts.log ?? createLogger({ level: "warn" })).child({ runId });
  const adapters = opts.adapters ?? ADAPTERS;
  const retry = opts.retry ?? DEFAULT_RETRY;
  const retryDeps = opts.retryDeps ?? realRetryDeps;
  const dryRun = opts.dryRun ?? false;
  const reports: ScopeReport[] = [];

  const emptyReport = (account: AccountConfig, scope: string): ScopeReport => ({
    account: account.name,
    api: account.api,
    scope,
    status: "failed",
    baseline: false,
    fetched: 0,
    added: 0,
    updated: 0,
    deprecated: 0,
    restored: 0,
    unchanged: 0,
    requests: 0,
    writes: 0,
    durationMs: 0,
    error: null,
  });

  const makeAdapter = (account: AccountConfig, counter: { requests: number }): ProviderAdapter =>
    adapters[account.api]({ account, http: counting(opts.http, counter), now });

  // Discover every account's scopes first (in parallel), so scope sweeps share one concurrency pool.
  const tasks: Array<{ account: AccountConfig; scope: string }> = [];
  await Promise.all(
    opts.config.accounts.map(async (account) => {
      const counter = { requests: 0 };
      const t0 = now();
      try {
        const scopes = await withRetry(() => makeAdapter(account, counter).listScopes(), retry, retryDeps);
        for (const scope of scopes) tasks.push({ account, scope });
      } catch (e) {
        const err = asImageSyncError(e, { account: account.name, api: account.api });
        log.error("scope discovery failed", { account: account.name, api: account.api, error: err.describe() });
        reports.push({
          ...emptyReport(account, "*"),
          requests: counter.requests,
          durationMs: now() - t0,
          error: errorSummary(err),
        });
      }
    }),
  );

  // Scopes swept longest ago go first, so a run cut short by its time budget moves the oldest forward.
  const statuses = new Map((await opts.store.listScopeStatuses()).map((s) => [`${s.account}#${s.scope}`, s]));
  const lastAttempt = (t: { account: AccountConfig; scope: string }) =>
    statuses.get(`${t.account.name}#${t.scope}`)?.lastAttemptAt ?? "";
  tasks.sort((a, b) => (lastAttempt(a) < lastAttempt(b) ? -1 : lastAttempt(a) > lastAttempt(b) ? 1 : 0));

  await mapLimit(tasks, opts.scopeConcurrency ?? 4, async ({ account, scope }) => {
    const report = emptyReport(account, scope);
    const previous = statuses.get(`${account.name}#${scope}`);
    const scopeLog = log.child({ account: account.name, api: account.api, scope });
    const t0 = now();
    const counter = { requests: 0 };
    const finish = async (status: ScopeOutcome, error: ImageSyncError | null, counts?: ScopeStatus["counts"]) => {
      report.status = status;
      report.error = error ? errorSummary(error) : null;
      report.requests = counter.requests;
      report.durationMs = now() - t0;
      reports.push(report);
      if (dryRun) return;
      const at = new Date(now()).toISOString();
      const next: ScopeStatus = {
        account: account.name,
        api: account.api,
        scope,
        lastRunId: runId,
        lastAttemptAt: at,
        lastOutcome: status,
        lastCompleteAt: status === "complete" ? at : (previous?.lastCompleteAt ?? null),
        baselineAt: previous?.baselineAt ?? (status === "complete" ? at : null),
        lastError: report.error,
        counts: counts ?? previous?.counts ?? { active: 0, deprecated: 0 },
      };
      try {
        await opts.store.putScopeStatus(next);
      } catch (e) {
        scopeLog.error("could not record scope status", { error: asImageSyncError(e).describe() });
      }
    };

    if (opts.canStartScope && !opts.canStartScope()) {
      const err = new ImageSyncError("TIME_BUDGET", "not started: the run's time budget ran out", {
        context: { account: account.name, api: account.api, scope },
      });
      await finish("incomplete", err);
      return;
    }

    const adapter = makeAdapter(account, counter);
    const rps = account.requestsPerSecond ?? adapter.defaultRequestsPerSecond ?? opts.defaultRequestsPerSecond ?? 20;
    const pacer = new Pacer(rps, now);
    try {
      const sweep = await sweepScope(adapter, scope, (query) =>
        withRetry(
          async () => {
            await pacer.take();
            return adapter.fetchPage(query);
          },
          retry,
          retryDeps,
          (err, delayMs) => scopeLog.warn("retrying", { code: err.code, delayMs, page: query.pageNumber }),
        ),
      );
      report.fetched = sweep.images.length;
      if (!sweep.complete) {
        const err = new IncompleteSweepError(sweep.problem ?? "inconsistent listing", {
          account: account.name,
          api: account.api,
          scope,
        });
        scopeLog.warn("scope incomplete: nothing changed", { problem: sweep.problem });
        await finish("incomplete", err);
        return;
      }
      const baseline = !previous?.baselineAt;
      const stored = await opts.store.loadScope({ account: account.name, scope });
      const diff = diffScope({
        key: { account: account.name, api: account.api, provider: providerOf(account.api), scope },
        stored,
        fetched: sweep.images,
        baseline,
        now: new Date(now()).toISOString(),
        runId,
      });
      report.baseline = baseline;
      report.unchanged = diff.unchanged;
      for (const c of diff.changes) report[c.kind]++;
      if (!dryRun) report.writes = await opts.store.writeChanges(diff.changes);
      await finish("complete", null, diff.counts);
      await opts.onChanges?.(diff.changes, report);
    } catch (e) {
      const err = asImageSyncError(e, { account: account.name, api: account.api, scope });
      scopeLog.error("scope failed: nothing deprecated", { error: err.describe() });
      await finish("failed", err);
    }
  });

  reports.sort((a, b) => (a.account === b.account ? cmp(a.scope, b.scope) : cmp(a.account, b.account)));
  return {
    runId,
    startedAt: new Date(startMs).toISOString(),
    durationMs: now() - startMs,
    dryRun,
    scopes: reports,
    ok: reports.every((r) => r.status === "complete"),
  };
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
