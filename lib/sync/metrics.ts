// CloudWatch metrics of a sync run in Embedded Metric Format (through Powertools Metrics, which knows
// EMF's limits): per scope fetched, changes, requests, duration and outcome; per run the failed,
// incomplete and stale scope counts that the stack's alarms watch.
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { ScopeStatus } from "../model.ts";
import type { SyncReport } from "./engine.ts";

export const METRICS_NAMESPACE = "ImageSync";

export interface RunMetricsInput {
  report: SyncReport;
  /** Every scope's status after the run, for staleness. */
  statuses: readonly ScopeStatus[];
  nowMs: number;
  /** A scope with no complete sweep for this long is stale. */
  staleAfterHours: number;
}

export function staleScopes(statuses: readonly ScopeStatus[], nowMs: number, staleAfterHours: number): ScopeStatus[] {
  const limit = staleAfterHours * 3_600_000;
  return statuses.filter((s) => !s.lastCompleteAt || nowMs - Date.parse(s.lastCompleteAt) > limit);
}

export function publishRunMetrics(metrics: Metrics, input: RunMetricsInput): void {
  const { report, statuses, nowMs, staleAfterHours } = input;
  for (const s of report.scopes) {
    const m = metrics.singleMetric();
    m.addDimensions({ Account: s.account, Scope: s.scope });
    m.addMetadata("runId", report.runId);
    m.addMetric("ImagesFetched", MetricUnit.Count, s.fetched);
    m.addMetric("ImageChanges", MetricUnit.Count, s.added + s.updated + s.deprecated + s.restored);
    m.addMetric("ProviderRequests", MetricUnit.Count, s.requests);
    m.addMetric("ImageWrites", MetricUnit.Count, s.writes);
    m.addMetric("ScopeDuration", MetricUnit.Milliseconds, s.durationMs);
    m.addMetric("ScopeComplete", MetricUnit.Count, s.status === "complete" ? 1 : 0);
  }
  for (const st of statuses) {
    if (!st.lastCompleteAt) continue;
    const m = metrics.singleMetric();
    m.addDimensions({ Account: st.account, Scope: st.scope });
    m.addMetric("HoursSinceCompleteSweep", MetricUnit.Count, (nowMs - Date.parse(st.lastCompleteAt)) / 3_600_000);
  }
  metrics.addMetric("FailedScopes", MetricUnit.Count, report.scopes.filter((s) => s.status === "failed").length);
  metrics.addMetric(
    "IncompleteScopes",
    MetricUnit.Count,
    report.scopes.filter((s) => s.status === "incomplete").length,
  );
  metrics.addMetric("StaleScopes", MetricUnit.Count, staleScopes(statuses, nowMs, staleAfterHours).length);
  metrics.addMetric("SyncRuns", MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
}
