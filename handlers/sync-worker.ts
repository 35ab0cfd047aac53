// Fan-out worker: sweeps the batch of scopes in each SQS message with the same engine as the inline sync.
// Scope holds keep any two sweeps of a scope apart (a redelivered message is another owner); like the inline
// sync, a worker stops starting scopes SYNC_RESERVE_MS before its deadline and always lets its holds go, so a
// batch cut short is reported, not retried, and the next run starts with the scopes it did not reach. A message
// whose sweep throws is reported as a batch item failure and retried by SQS (then parked in the dead-letter queue).
import { Metrics } from "@aws-lambda-powertools/metrics";
import { loadLambdaSettings } from "../lib/config.ts";
import { createLambdaLogger, type LambdaContextLike } from "../lib/lambda-log.ts";
import { secretsOf } from "../lib/log.ts";
import { createHttpClient } from "../lib/providers/http.ts";
import { createStore } from "../lib/store/store.ts";
import { type BatchMessage, configForBatch } from "../lib/sync/batch.ts";
import { runSync } from "../lib/sync/engine.ts";
import { METRICS_NAMESPACE, publishRunMetrics } from "../lib/sync/metrics.ts";
import { RETRY_DEADLINE_MARGIN_MS, realRetryDeps, withDeadline } from "../lib/sync/retry.ts";

// The SSM client is loaded only when the config refers to SSM: most of a cold start is module evaluation.
const settings = await loadLambdaSettings(process.env, async (names) =>
  (await import("../lib/ssm-client.ts")).ssmFetcher()(names),
);
const log = createLambdaLogger({ secrets: secretsOf(settings.config.accounts) });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "image-sync" });
const store = createStore({ tableName: settings.tableName, region: settings.region });
const http = createHttpClient();

export async function handler(
  event: { Records?: Array<{ messageId: string; body: string }> },
  context: LambdaContextLike,
) {
  log.addContext(context);
  const batchItemFailures: Array<{ itemIdentifier: string }> = [];
  for (const record of event.Records ?? []) {
    log.resetKeys();
    log.appendKeys({ messageId: record.messageId });
    try {
      const { runId, batch } = JSON.parse(record.body) as BatchMessage;
      // The scheduled run's id and the batch's: the correlation keys of every line of this sweep.
      log.appendKeys({ runId, batchId: batch.id });
      const report = await runSync({
        config: configForBatch(settings.config, batch),
        store,
        http,
        log,
        runId,
        canStartScope: () => context.getRemainingTimeInMillis() > settings.reserveMs,
        // Holds outlast this invocation by a minute at most: a worker killed at its timeout blocks nobody long.
        leaseMs: context.getRemainingTimeInMillis() + 60_000,
        // A provider's Retry-After longer than the time left fails the scope instead of sleeping past the deadline.
        retryDeps: withDeadline(realRetryDeps, () => context.getRemainingTimeInMillis() - RETRY_DEADLINE_MARGIN_MS),
      });
      // Staleness is the scheduled tick's to measure (every scope's status): a batch knows only its own.
      publishRunMetrics(metrics, report);
      log.info("batch synced", { runId, batch: batch.id, scopes: report.scopes.length, ok: report.ok });
    } catch (e) {
      log.error("batch failed", { error: e });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}
