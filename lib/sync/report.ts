// What a run reports, scope by scope, and the pure builders of those reports. Decides: no clock, no I/O.
import type { AccountConfig } from "../config.ts";
import { ImageSyncError } from "../errors.ts";
import type { ApiId, ScopeOutcome } from "../model.ts";
import type { Change } from "./diff.ts";

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
  /** Deprecations held by the mass-deprecation guard (not written). */
  held: number;
  /** Provider HTTP requests made for this scope (retries included). */
  requests: number;
  /**
   * DynamoDB write requests for this scope's images (new images go 25 to a BatchWriteItem) and for keeping its
   * manifest (lib/store/manifest.ts) in step with them. Zero when nothing changed.
   */
  writes: number;
  /** Latest-image pointers that moved to another image (or were created); see lib/sync/pointers.ts. */
  pointersMoved: number;
  /** DynamoDB pointer writes made for this scope: moves, plus pointers marked stale or fresh again. */
  pointerWrites: number;
  durationMs: number;
  error: ErrorSummary | null;
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

export type ErrorSummary = { code: string; message: string; requestId?: string };

export function errorSummary(e: ImageSyncError): ErrorSummary {
  return {
    code: e.code,
    message: e.describe(),
    ...(e.context.requestId ? { requestId: e.context.requestId } : {}),
  };
}

/** The report of a scope that did nothing (yet): failed unless told otherwise. */
export function emptyReport(account: AccountConfig, scope: string): ScopeReport {
  return {
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
    held: 0,
    requests: 0,
    writes: 0,
    pointersMoved: 0,
    pointerWrites: 0,
    durationMs: 0,
    error: null,
  };
}

/** Adds changes to the report's counts of added, updated, deprecated and restored images. */
export function tally(report: ScopeReport, changes: readonly Change[]): void {
  for (const c of changes) report[c.kind]++;
}

export const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The run's report: its scopes by account and scope, whatever order they finished in. */
export function runReport(
  run: { runId: string; startMs: number; endMs: number; dryRun: boolean },
  reports: ScopeReport[],
): SyncReport {
  reports.sort((a, b) => (a.account === b.account ? cmp(a.scope, b.scope) : cmp(a.account, b.account)));
  return {
    runId: run.runId,
    startedAt: new Date(run.startMs).toISOString(),
    durationMs: run.endMs - run.startMs,
    dryRun: run.dryRun,
    scopes: reports,
    ok: reports.every((r) => r.status === "complete"),
  };
}

/** The report of a scope skipped because another run holds it (or may). */
export function skippedReport(account: AccountConfig, scope: string, message: string): ScopeReport {
  const err = new ImageSyncError("LEASE_HELD", message, {
    context: { account: account.name, api: account.api, scope },
  });
  return { ...emptyReport(account, scope), status: "skipped", error: errorSummary(err) };
}
