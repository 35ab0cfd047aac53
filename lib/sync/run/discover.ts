// Scope discovery: each account's scopes, as its provider lists them. Acts: HTTP.
import type { AccountConfig } from "../../config.ts";
import { asImageSyncError } from "../../errors.ts";
import { emptyReport, errorSummary, type ScopeReport } from "../report.ts";
import { withRetry } from "../retry.ts";
import { counting } from "../scope/requests.ts";
import type { Run } from "./context.ts";

/** The account's scopes, or null (reported as the account's failure) when discovery fails. */
export async function discoverScopes(
  run: Run,
  account: AccountConfig,
  report: (report: ScopeReport) => void,
): Promise<string[] | null> {
  const counter = { requests: 0 };
  const t0 = run.now();
  try {
    const adapter = run.adapterFor(account, counting(run.opts.http, counter));
    return await withRetry(() => adapter.listScopes(), run.retry, run.retryDeps);
  } catch (e) {
    const err = asImageSyncError(e, { account: account.name, api: account.api });
    run.log.error("scope discovery failed", { account: account.name, api: account.api, error: err.describe() });
    report({
      ...emptyReport(account, "*"),
      requests: counter.requests,
      durationMs: run.now() - t0,
      error: errorSummary(err),
    });
    return null;
  }
}
