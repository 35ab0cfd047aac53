// The sweep stage of one scope: every page of its listings, paced and retried, each reply recognised from the
// last sweep's page index when it can be (lib/sync/pages.ts), each page shown to the read plan as it comes in
// (early read-back). Also the confirming sweeps: a second sweep of a listing that found new images, and the
// lookup by id of images it misses (lib/sync/confirm.ts). Acts: HTTP.
import { IncompleteSweepError } from "../../errors.ts";
import type { FetchedImage } from "../../model.ts";
import type { HttpClient } from "../../providers/http.ts";
import { lookUp } from "../confirm.ts";
import { fitRaw } from "../fit.ts";
import { fetchRecognising } from "../pages.ts";
import { withRetry } from "../retry.ts";
import { type SweepResult, sweepScope } from "../sweep.ts";
import type { Scope, ScopeContext } from "./context.ts";
import type { ScopeMemory } from "./memory.ts";
import type { ScopeReads } from "./plan-reads.ts";
import type { ScopeRequests } from "./requests.ts";

export function sweepPages(
  ctx: ScopeContext,
  scope: Scope,
  requests: ScopeRequests,
  reads: ScopeReads,
  memory: ScopeMemory,
  /** Called once every request of the sweep has gone out. */
  sending: () => void,
): Promise<SweepResult> {
  const { adapter, pacer } = requests;
  const pageAdapter = (http: HttpClient) => ctx.adapterFor(scope.account, http);
  return sweepScope(
    adapter,
    scope.name,
    (query, sent) =>
      withRetry(
        async () => {
          await pacer.take();
          sent?.();
          return reads.watch(
            await fetchRecognising(pageAdapter, requests.http, reads.knownPages, scope.key.api, query),
          );
        },
        ctx.retry,
        ctx.retryDeps,
        (err, delayMs) => scope.log.warn("retrying", { code: err.code, delayMs, page: query.pageNumber }),
      ),
    {
      concurrency: ctx.pageConcurrency,
      onSize: (total) => memory.sized(total * adapter.parts(scope.name).length),
      lastCounts: scope.previous?.partCounts ?? {},
      // A scope without a manifest will parse and write all it fetched: it keeps its place until done, so
      // no more first sweeps run at once than the concurrency says (their write bursts set the peak RSS).
      ...(scope.previous?.manifest ? { onAllSent: sending } : {}),
    },
  );
}

/** The images of a confirming second sweep (not recognised from digests); one that is incomplete fails the scope. */
export async function sweepAgain(ctx: ScopeContext, scope: Scope, requests: ScopeRequests): Promise<FetchedImage[]> {
  const again = await sweepScope(requests.adapter, scope.name, (query) => requests.lookupPage(query), {
    concurrency: ctx.pageConcurrency,
  });
  if (!again.complete)
    throw new IncompleteSweepError(`the confirming sweep: ${again.problem ?? "inconsistent listing"}`, {
      account: scope.key.account,
      api: scope.key.api,
      scope: scope.name,
    });
  return again.images.map(fitRaw);
}

/**
 * Of the images a diff would deprecate as missing, those the provider, asked by id, still returns: they were
 * lost by the paging, and are diffed as listed.
 */
export async function stillListed(scope: Scope, requests: ScopeRequests, ids: string[]): Promise<FetchedImage[]> {
  const found = (await lookUp(requests.adapter, scope.name, ids, requests.lookupPage)).map(fitRaw);
  if (found.length > 0)
    scope.log.warn("images the sweep missed are still listed by id: not deprecated", {
      images: found.slice(0, 20).map((i) => i.imageId),
      count: found.length,
    });
  return found;
}
