// Scheduled entry: build dependencies once per container; sweep inline when every scope fits this
// invocation's time, else plan batches and fan them out to the sync workers through SQS.
import { Metrics } from "@aws-lambda-powertools/metrics";
import { SQSClient } from "@aws-sdk/client-sqs";
import { loadLambdaSettings } from "../lib/config.ts";
import { createLogger, secretsOf } from "../lib/log.ts";
import { createHttpClient } from "../lib/providers/http.ts";
import { ssmFetcher } from "../lib/ssm-client.ts";
import { createStore } from "../lib/store/store.ts";
import { newRunId, runSync } from "../lib/sync/engine.ts";
import { defaultPlanOptions, enqueueBatches, planRun } from "../lib/sync/fanout.ts";
import { METRICS_NAMESPACE, publishRunMetrics } from "../lib/sync/metrics.ts";

const settings = await loadLambdaSettings(process.env, ssmFetcher());
const log = createLogger({ format: "json", level: "info", secrets: secretsOf(settings.config.accounts) });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "image-sync" });
const store = createStore({ tableName: settings.tableName, region: settings.region });
const http = createHttpClient();
const sqs = settings.fanout ? new SQSClient({}) : undefined;

export interface LambdaContext {
  getRemainingTimeInMillis(): number;
}

export async function handler(_event: unknown, context: LambdaContext) {
  if (settings.fanout && sqs) {
    const budgetSeconds = (context.getRemainingTimeInMillis() - settings.reserveMs) / 1000;
    const plan = await planRun(
      settings.config,
      store,
      http,
      defaultPlanOptions(budgetSeconds, settings.fanout.workers),
    );
    if (!plan.inline) {
      const runId = newRunId(Date.now());
      const sent = await enqueueBatches(sqs, settings.fanout.queueUrl, runId, plan);
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
  publishRunMetrics(metrics, {
    report,
    statuses: await store.listScopeStatuses(),
    nowMs: Date.now(),
    staleAfterHours: settings.staleAfterHours,
  });
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
