// What a fan-out worker receives, and the config it sweeps. Kept apart from fanout.ts so the worker's
// bundle does not load the SQS client it never uses.
import type { AccountConfig, SyncConfig } from "../config.ts";
import { ImageSyncError } from "../errors.ts";
import type { Batch } from "./plan.ts";

export interface BatchMessage {
  runId: string;
  batch: Batch;
}

/** The config a worker sweeps: the batch's account, limited to the batch's scopes. */
export function configForBatch(config: SyncConfig, batch: Batch): SyncConfig {
  const account = config.accounts.find((a) => a.name === batch.account);
  if (!account)
    throw new ImageSyncError(
      "FANOUT_UNKNOWN_ACCOUNT",
      `batch ${batch.id} names account ${batch.account}, not in the config`,
    );
  const limited: AccountConfig = { ...account, scopes: batch.scopes };
  return { accounts: [limited] };
}
