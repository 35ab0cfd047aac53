// Fan-out of scope sweeps through SQS when one invocation cannot sweep every scope in time: the scheduled
// run plans batches (lib/sync/plan.ts) and queues them; workers (handlers/sync-worker.ts) sweep one batch
// each with the same engine, completeness checks, lease (per batch) and stream-driven events.
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { SyncConfig } from "../config.ts";
import { asImageSyncError, ImageSyncError } from "../errors.ts";
import type { ApiId } from "../model.ts";
import type { HttpClient } from "../providers/http.ts";
import { ADAPTERS, API_LIMITS } from "../providers/index.ts";
import type { Store } from "../store/store.ts";
import type { BatchMessage } from "./batch.ts";
import { type Plan, type PlanOptions, planSweeps } from "./plan.ts";
import { DEFAULT_RETRY, realRetryDeps, withRetry } from "./retry.ts";

export type { BatchMessage } from "./batch.ts";

/**
 * Planning defaults. Store time per image is planned for a scope that changed (its images are read back): between
 * what the benchmark measured on dynalite (about 1 ms per image and lane) and what DynamoDB's 1 MB query pages
 * give (well under 0.1 ms). An unchanged scope reads only its manifest, so most runs finish well inside the plan.
 */
export function defaultPlanOptions(budgetSeconds: number, workerConcurrency: number): PlanOptions {
  return {
    budgetSeconds,
    latencyMs: 50,
    pageConcurrency: 4,
    scopeConcurrency: 4,
    workerConcurrency,
    requestsPerSecond: (api) => API_LIMITS[api].requestsPerSecond,
    maxPageSize: (api) => API_LIMITS[api].maxPageSize,
    parts: (api) => API_LIMITS[api].parts,
    storeSecondsPerImage: 0.0005,
    scopeOverheadSeconds: 0.05,
  };
}

/** An account whose scopes could not be discovered: it fails alone, the others are planned. */
export interface PlanFailure {
  account: string;
  api: ApiId;
  error: ImageSyncError;
}

/**
 * Every account's scopes (configured, else discovered) with what their last sweep saw. An account whose
 * discovery fails (bad credentials, say) is left out of the plan and named in `failed`, as it fails alone inline.
 */
export async function planRun(
  config: SyncConfig,
  store: Store,
  http: HttpClient,
  options: PlanOptions,
): Promise<Plan & { failed: PlanFailure[] }> {
  const statuses = new Map((await store.listScopeStatuses()).map((s) => [`${s.account}#${s.scope}`, s]));
  const failed: PlanFailure[] = [];
  const discovered = await Promise.all(
    config.accounts.map(async (account) => {
      try {
        const adapter = ADAPTERS[account.api]({ account, http, now: Date.now });
        return await withRetry(() => adapter.listScopes(), DEFAULT_RETRY, realRetryDeps);
      } catch (e) {
        failed.push({
          account: account.name,
          api: account.api,
          error: asImageSyncError(e, { account: account.name, api: account.api }),
        });
        return [];
      }
    }),
  );
  const inputs = config.accounts.flatMap((account, i) =>
    (discovered[i] ?? []).map((scope) => {
      const st = statuses.get(`${account.name}#${scope}`);
      return {
        account: account.name,
        api: account.api,
        scope,
        knownImages: st ? st.counts.active + st.counts.deprecated : 0,
      };
    }),
  );
  return { ...planSweeps(inputs, options), failed };
}

export async function enqueueBatches(sqs: SQSClient, queueUrl: string, runId: string, plan: Plan): Promise<number> {
  let sent = 0;
  for (let i = 0; i < plan.batches.length; i += 10) {
    const chunk = plan.batches.slice(i, i + 10);
    const out = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((batch, j) => ({
          Id: String(j),
          MessageBody: JSON.stringify({ runId, batch } satisfies BatchMessage),
        })),
      }),
    );
    if (out.Failed?.length) {
      throw new ImageSyncError(
        "FANOUT_ENQUEUE_FAILED",
        `${out.Failed.length} batch messages were not queued: ${out.Failed[0]?.Code}`,
        {
          retryable: true,
        },
      );
    }
    sent += chunk.length;
  }
  return sent;
}
