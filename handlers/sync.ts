// Scheduled entry: build dependencies once per container, run the sync engine, log and measure the run.
import { Metrics } from "@aws-lambda-powertools/metrics";
import { loadLambdaSettings } from "../lib/config.ts";
import { createLogger, secretsOf } from "../lib/log.ts";
import { createHttpClient } from "../lib/providers/http.ts";
import { ssmFetcher } from "../lib/ssm-client.ts";
import { createStore } from "../lib/store/store.ts";
import { runSync } from "../lib/sync/engine.ts";
import { METRICS_NAMESPACE, publishRunMetrics } from "../lib/sync/metrics.ts";

const settings = await loadLambdaSettings(process.env, ssmFetcher());
const log = createLogger({ format: "json", level: "info", secrets: secretsOf(settings.config.accounts) });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "image-sync" });
const store = createStore({ tableName: settings.tableName, region: settings.region });
const http = createHttpClient();

export interface LambdaContext {
  getRemainingTimeInMillis(): number;
}

export async function handler(_event: unknown, context: LambdaContext) {
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
