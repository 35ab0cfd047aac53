// The sync engine, as the outline of a run: discover every account's scopes, take the holds on them, read their
// statuses, order them, sync each scope (lib/sync/scope/sync-scope.ts), let the holds go, report. A failed or
// incomplete sweep changes nothing for its scope; the others still sync. docs/architecture.md tells the rest.
import { randomBytes } from "node:crypto";
import { runReport, type ScopeReport, type SyncReport, skippedReport } from "./report.ts";
import { openRun, type SyncOptions, scopeContext } from "./run/context.ts";
import { sweepOrder } from "./run/decide-order.ts";
import { discoverScopes } from "./run/discover.ts";
import { Holds } from "./run/holds.ts";
import { mapLimit } from "./run/map-limit.ts";
import { syncScope } from "./scope/sync-scope.ts";

export type { ScopeReport, SyncReport } from "./report.ts";
export { DEFAULT_MEMORY_BUDGET_IMAGES, newRunId, type SyncOptions } from "./run/context.ts";
export { sweepOrder } from "./run/decide-order.ts";
export { MAX_RECORDED_SCOPES } from "./run/holds.ts";
export { mapLimit } from "./run/map-limit.ts";

export async function runSync(opts: SyncOptions): Promise<SyncReport> {
  const run = openRun(opts);
  const reports: ScopeReport[] = [];
  const report = (scope: ScopeReport) => {
    reports.push(scope);
  };
  // Discover every account's scopes first (in parallel), so scope sweeps share one concurrency pool.
  const { accounts } = opts.config;
  const discovered = await Promise.all(accounts.map((account) => discoverScopes(run, account, report)));
  const holds = new Holds(run, `${run.runId}/${randomBytes(4).toString("hex")}`, run.now(), report);
  const tasks = await holds.takeAll(accounts, discovered);
  try {
    // The statuses are read once the holds are taken (a status read before could predate another run's commit),
    // alongside the check for an older version's leases.
    const [older, stored] = await Promise.all([
      !run.dryRun && tasks.length > 0 && holds.olderVersionLive(),
      run.store.listScopeStatuses(),
    ]);
    // While a run of an older version (account- or batch-wide leases) is live, its scopes are unknown: sweep none.
    const skipped = "a run of an older version holds a lease; skipped until it lapses";
    if (older) for (const { account, scope } of tasks.splice(0)) report(skippedReport(account, scope, skipped));
    const statuses = new Map(stored.map((s) => [`${s.account}#${s.scope}`, s]));
    sweepOrder(tasks, statuses);
    const context = scopeContext(run, holds, report);
    // `scopeConcurrency` scopes send requests at once: a scope whose requests have all gone out gives its place
    // to the next while it waits for the replies and writes.
    await mapLimit(tasks, opts.scopeConcurrency ?? 4, ({ account, scope }, sending) =>
      syncScope(context, account, scope, statuses.get(`${account.name}#${scope}`), sending),
    );
  } finally {
    await holds.letGo();
  }
  return runReport({ runId: run.runId, startMs: run.startMs, endMs: run.now(), dryRun: run.dryRun }, reports);
}
