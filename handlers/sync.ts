// Scheduled entry: build dependencies once per container; sweep inline when every scope fits this
// invocation's time, else plan batches and fan them out to the sync workers through SQS.
import { Metrics } from "@aws-lambda-powertools/metrics";
import { loadLambdaSettings } from "../lib/config.ts";
import { createLambdaLogger, type LambdaContextLike } from "../lib/lambda-log.ts";
import { secretsOf } from "../lib/log.ts";
import { createHttpClient } from "../lib/providers/http.ts";
import { createStore } from "../lib/store/store.ts";
import { newRunId, runSync } from "../lib/sync/engine.ts";
import { METRICS_NAMESPACE, publishRunMetrics, publishTickMetrics } from "../lib/sync/metrics.ts";
import { RETRY_DEADLINE_MARGIN_MS, realRetryDeps, withDeadline } from "../lib/sync/retry.ts";

// The SSM client is loaded only when the config refers to SSM: most of a cold start is module evaluation.
const settings = await loadLambdaSettings(process.env, async (names) =>
  (await import("../lib/ssm-client.ts")).ssmFetcher()(names),
);
const log = createLambdaLogger({ secrets: secretsOf(settings.config.accounts) });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "image-sync" });
const store = createStore({ tableName: settings.tableName, region: settings.region });
const http = createHttpClient();
// Fan-out code (and the SQS client) is evaluated only in stacks that enable it.
const fanout = settings.fanout ? await import("../lib/sync/fanout.ts") : undefined;
const sqs = fanout ? new (await import("@aws-sdk/client-sqs")).SQSClient({}) : undefined;

export type LambdaContext = LambdaContextLike;

export async function handler(_event: unknown, context: LambdaContext) {
  log.addContext(context);
  // The run id is the correlation key of every line of this run (and of its fan-out workers' lines).
  const runId = newRunId(Date.now());
  log.resetKeys();
  log.appendKeys({ runId });
  try {
    // Staleness is measured at the tick, before the run, so the fan-out mode measures it as the inline one does.
    publishTickMetrics(metrics, {
      statuses: await store.listScopeStatuses(),
      nowMs: Date.now(),
      staleAfterHours: settings.staleAfterHours,
    });
    return (await fanOut(runId, context)) ?? (await sweepInline(runId, context));
  } catch (e) {
    log.error("sync failed", { error: e });
    throw e;
  }
}

/** Plans the run; queues its batches when they do not fit this invocation, else returns undefined. */
async function fanOut(runId: string, context: LambdaContext) {
  if (!settings.fanout || !fanout || !sqs) return undefined;
  const budgetSeconds = (context.getRemainingTimeInMillis() - settings.reserveMs) / 1000;
  const options = fanout.defaultPlanOptions(budgetSeconds, settings.fanout.workers);
  const plan = await fanout.planRun(settings.config, store, http, options);
  if (plan.inline) return undefined;
  // An account whose discovery failed fails alone: the others are still fanned out.
  for (const f of plan.failed)
    log.error("account failed: scope discovery", { account: f.account, api: f.api, error: f.error.describe() });
  const sent = await fanout.enqueueBatches(sqs, settings.fanout.queueUrl, runId, plan);
  log.info("sync fanned out", {
    batches: sent,
    scopes: plan.totalScopes,
    failedAccounts: plan.failed.map((f) => f.account),
    expectedDurationSeconds: Math.round(plan.expectedDurationSeconds),
  });
  return { runId, fannedOut: sent, failedAccounts: plan.failed.length };
}

async function sweepInline(runId: string, context: LambdaContext) {
  const report = await runSync({
    config: settings.config,
    store,
    http,
    log,
    runId,
    canStartScope: () => context.getRemainingTimeInMillis() > settings.reserveMs,
    // Holds outlast this invocation by a minute at most: a run killed at its timeout blocks nobody long.
    leaseMs: context.getRemainingTimeInMillis() + 60_000,
    retryDeps: withDeadline(realRetryDeps, () => context.getRemainingTimeInMillis() - RETRY_DEADLINE_MARGIN_MS),
  });
  for (const s of report.scopes) {
    if (s.status === "complete") log.info("scope synced", { ...s });
    else log.error(`scope ${s.status}`, { ...s });
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
