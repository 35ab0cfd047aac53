// Scheduled entry: build dependencies once per container, run the sync engine, log the run summary.
import { loadLambdaSettings } from "../lib/config.ts";
import { createLogger, secretsOf } from "../lib/log.ts";
import { createHttpClient } from "../lib/providers/http.ts";
import { createStore } from "../lib/store/store.ts";
import { runSync } from "../lib/sync/engine.ts";

const settings = loadLambdaSettings(process.env);
const log = createLogger({ format: "json", level: "info", secrets: secretsOf(settings.config.accounts) });
const store = createStore({ tableName: settings.tableName, region: settings.region });
const http = createHttpClient();

export interface LambdaContext {
  getRemainingTimeInMillis(): number;
  awsRequestId?: string;
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
    const line = { ...s, runId: report.runId };
    if (s.status === "complete") log.info("scope synced", line);
    else log.error(`scope ${s.status}`, line);
  }
  const summary = {
    runId: report.runId,
    ok: report.ok,
    scopes: report.scopes.length,
    failed: report.scopes.filter((s) => s.status !== "complete").length,
    durationMs: report.durationMs,
  };
  log.info("sync finished", summary);
  return summary;
}
