// CloudWatch metrics in Embedded Metric Format (through Powertools Metrics, which knows EMF's limits).
// Per scope, one EMF line per scope with dimensions service, Account and Scope: fetched, changes, requests,
// writes, duration and outcome (after each sweep, inline or in a fan-out worker), and the hours since its last
// complete sweep (at each tick). Per run, dimension service only: the failed and incomplete scope counts (after
// each sweep) and the stale scope count and a run count (at each tick, before any sweep, in both modes), which
// the stack's alarms watch. Nothing here uses singleMetric(): it publishes after its first addMetric, and the
// metrics added after that lose their dimensions.
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { ScopeStatus } from "../model.ts";
import type { SyncReport } from "./engine.ts";

export const METRICS_NAMESPACE = "ImageSync";

export interface TickMetricsInput {
  /** Every scope's status at the tick, for staleness. */
  statuses: readonly ScopeStatus[];
  nowMs: number;
  /** A scope with no complete sweep for this long is stale. */
  staleAfterHours: number;
}

export function staleScopes(statuses: readonly ScopeStatus[], nowMs: number, staleAfterHours: number): ScopeStatus[] {
  const limit = staleAfterHours * 3_600_000;
  return statuses.filter((s) => !s.lastCompleteAt || nowMs - Date.parse(s.lastCompleteAt) > limit);
}

/** What a sweep measured (the inline run, or one fan-out batch): per scope, then its failed and incomplete counts. */
export function publishRunMetrics(metrics: Metrics, report: SyncReport): void {
  for (const s of report.scopes) {
    metrics.addDimensions({ Account: s.account, Scope: s.scope });
    metrics.addMetadata("runId", report.runId);
    metrics.addMetric("ImagesFetched", MetricUnit.Count, s.fetched);
    metrics.addMetric("ImageChanges", MetricUnit.Count, s.added + s.updated + s.deprecated + s.restored);
    metrics.addMetric("ProviderRequests", MetricUnit.Count, s.requests);
    metrics.addMetric("ImageWrites", MetricUnit.Count, s.writes);
    metrics.addMetric("ScopeDuration", MetricUnit.Milliseconds, s.durationMs);
    metrics.addMetric("ScopeComplete", MetricUnit.Count, s.status === "complete" ? 1 : 0);
    metrics.publishStoredMetrics();
  }
  metrics.addMetadata("runId", report.runId);
  metrics.addMetric("FailedScopes", MetricUnit.Count, report.scopes.filter((s) => s.status === "failed").length);
  metrics.addMetric(
    "IncompleteScopes",
    MetricUnit.Count,
    report.scopes.filter((s) => s.status === "incomplete").length,
  );
  metrics.publishStoredMetrics();
}

/**
 * What the scheduled tick measures before it sweeps or fans out, the same in both modes: the hours since each
 * scope's last complete sweep, the stale scope count (what the StaleScopes alarm reads) and one run. Stamped at
 * the tick, so the datapoints keep the schedule's spacing whatever a run's length.
 */
export function publishTickMetrics(metrics: Metrics, input: TickMetricsInput): void {
  const { statuses, nowMs, staleAfterHours } = input;
  for (const st of statuses) {
    if (!st.lastCompleteAt) continue;
    metrics.addDimensions({ Account: st.account, Scope: st.scope });
    metrics.addMetric("HoursSinceCompleteSweep", MetricUnit.Count, (nowMs - Date.parse(st.lastCompleteAt)) / 3_600_000);
    metrics.publishStoredMetrics();
  }
  metrics.addMetric("StaleScopes", MetricUnit.Count, staleScopes(statuses, nowMs, staleAfterHours).length);
  metrics.addMetric("SyncRuns", MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
}
