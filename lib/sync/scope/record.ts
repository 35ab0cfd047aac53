// The last stage of one scope, run once whatever happened: its report, and its status item. An unchanged scope's
// status is recorded on the lease as its holds go; a scope whose images changed writes its status naming a new
// manifest, written with it (lib/store/manifest.ts); any other writes its status alone. A run whose hold lapsed
// writes nothing for the scope: its status is the new owner's to write. Acts: writes.
import { asImageSyncError, type ImageSyncError } from "../../errors.ts";
import type { ScopeOutcome } from "../../model.ts";
import { type ErrorSummary, emptyReport, errorSummary, type ScopeReport } from "../report.ts";
import { namedManifest, type Progress, type Scope, type ScopeContext } from "./context.ts";
import type { StatusUpdate } from "./decide-changes.ts";
import type { ManifestRecord } from "./decide-manifest.ts";
import { nextStatus } from "./decide-status.ts";

export interface Outcome {
  status: ScopeOutcome;
  error: ImageSyncError | null;
  /** What a complete sweep that wrote its changes found for the status. */
  update?: StatusUpdate;
  /** "unchanged": recorded on the lease; a manifest: written with the status, which names it. */
  record?: "unchanged" | ManifestRecord | null;
}

/** Reports the scope and records its status; store failures are logged, never thrown. */
export async function recordScope(
  ctx: ScopeContext,
  scope: Scope,
  progress: Progress,
  outcome: Outcome,
): Promise<ScopeReport> {
  const error = outcome.error ? errorSummary(outcome.error) : null;
  const requests = scope.counter.requests;
  const durationMs = ctx.now() - scope.startMs;
  const statusWrites = await recordStatus(ctx, scope, progress, outcome, error);
  const { landed } = progress;
  const report: ScopeReport = {
    ...emptyReport(scope.account, scope.name),
    status: outcome.status,
    baseline: progress.baseline,
    fetched: progress.fetched,
    ...landed.counts,
    unchanged: progress.unchanged,
    held: progress.held,
    requests,
    writes: landed.writes + statusWrites,
    pointersMoved: landed.pointersMoved,
    pointerWrites: landed.pointerWrites,
    durationMs,
    error,
  };
  ctx.report(report);
  return report;
}

/** Writes the scope's status (and manifest); returns the write requests that took beyond the status itself. */
async function recordStatus(
  ctx: ScopeContext,
  scope: Scope,
  progress: Progress,
  { status, error, update = {}, record = null }: Outcome,
  summary: ErrorSummary | null,
): Promise<number> {
  if (ctx.dryRun || error?.code === "LEASE_LAPSED") return 0;
  const { previous } = scope;
  const at = new Date(ctx.now()).toISOString();
  const manifest = namedManifest(progress);
  const next = nextStatus({
    key: scope.key,
    previous,
    runId: ctx.runId,
    at,
    outcome: status,
    error: summary,
    update,
    manifest,
  });
  if (record === "unchanged") {
    ctx.recordUnchanged(next);
    return 0;
  }
  try {
    if (!record) await ctx.store.putScopeStatus(next);
    else {
      const previousChunks = previous?.manifest?.chunks ?? 0;
      return (await ctx.store.commitScope(next, { runId: ctx.runId, ...record, previousChunks })).requests;
    }
  } catch (e) {
    scope.log.error("could not record scope status", { error: asImageSyncError(e).describe() });
  }
  return 0;
}
