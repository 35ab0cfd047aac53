// Scheduled entry: build dependencies once per container; sweep inline when every scope fits this
// invocation's time, else plan batches and fan them out to the sync workers through SQS.
import { Metrics } from "@aws-lambda-powertools/metrics";
import { loadLambdaSettings } from "../lib/config.ts";
import { createLogger, secretsOf } from "../lib/log.ts";
import { createHttpClient } from "../lib/providers/http.ts";
import { createStore } from "../lib/store/store.ts";
import { newRunId, runSync } from "../lib/sync/engine.ts";
import { METRICS_NAMESPACE, publishRunMetrics, publishTickMetrics } from "../lib/sync/metrics.ts";

// The SSM client is loaded only when the config refers to SSM: most of a cold start is module evaluation.
const settings = await loadLambdaSettings(process.env, async (names) =>
  (await import("../lib/ssm-client.ts")).ssmFetcher()(names),
);
const log = createLogger({ format: "json", level: "info", secrets: secretsOf(settings.config.accounts) });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "image-sync" });
const store = createStore({ tableName: settings.tableName, region: settings.region });
const http = createHttpClient();
// Fan-out code (and the SQS client) is evaluated only in stacks that enable it.
const fanout = settings.fanout ? await import("../lib/sync/fanout.ts") : undefined;
const sqs = fanout ? new (await import("@aws-sdk/client-sqs")).SQSClient({}) : undefined;

export interface LambdaContext {
  getRemainingTimeInMillis(): number;
}

export async function handler(_event: unknown, context: LambdaContext) {
  // Staleness is measured at the tick, before the run, so the fan-out mode measures it as the inline one does.
  publishTickMetrics(metrics, {
    statuses: await store.listScopeStatuses(),
    nowMs: Date.now(),
    staleAfterHours: settings.staleAfterHours,
  });
  if (settings.fanout && fanout && sqs) {
    const budgetSeconds = (context.getRemainingTimeInMillis() - settings.reserveMs) / 1000;
    const options = fanout.defaultPlanOptions(budgetSeconds, settings.fanout.workers);
    const plan = await fanout.planRun(settings.config, store, http, options);
    if (!plan.inline) {
      const runId = newRunId(Date.now());
      const sent = await fanout.enqueueBatches(sqs, settings.fanout.queueUrl, runId, plan);
      log.info("sync fanned out", {
        runId,
        batches: sent,
        scopes: plan.totalScopes,
        expectedDurationSeconds: Math.round(plan.expectedDurationSeconds),
      });
      return { runId, fannedOut: sent };
    }
  }
  const report = await runSync({
    config: settings.config,
    store,
    http,
    log,
    canStartScope: () => context.getRemainingTimeInMillis() > settings.reserveMs,
  });
  for (const s of report.scopes) {
    const fields = { ...s, runId: report.runId };
    if (s.status === "complete") log.info("scope synced", fields);
    else log.error(`scope ${s.status}`, fields);
  }
  publishRunMetrics(metrics, report);
  const summary = {
    runId: report.runId,
    ok: report.ok,
    scopes: report.scopes.length,
    notComplete: report.scopes.filter((s) => s.status !== "complete").length,
    durationMs: report.durationMs,
  };
  log.info("sync finished", summary);
  return summary;
}
