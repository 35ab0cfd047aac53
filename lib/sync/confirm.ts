// Confirmation of missing images. A complete sweep of an offset-paged listing can still miss an image: when the
// provider removes one image before the offset and appends another between two pages, totalCount does not move,
// the unique ids add up, and the first image of the old next page is never listed. So an image is deprecated as
// missing only once the provider, asked for it by id, does not return it. The lookup costs nothing when nothing
// is missing, and one request per sub-listing and LOOKUP_BATCH ids when something is.
import { IncompleteSweepError } from "../errors.ts";
import type { FetchedImage } from "../model.ts";
import type { Page, PageQuery, ProviderAdapter } from "../providers/types.ts";
import type { Change } from "./diff.ts";
import { Halt, settleAll } from "./settle.ts";

/** Ids one lookup request asks for (Tencent takes at most 100 ImageIds; the same keeps Zenlayer's bodies small). */
export const LOOKUP_BATCH = 100;

/** Lookup requests in flight at once (the caller paces them): a failed one stops those not yet sent. */
export const LOOKUP_CONCURRENCY = 4;

/** The images a diff would deprecate as missing: the ones to ask the provider about. */
export function missingIds(changes: readonly Change[]): string[] {
  return changes
    .filter((c) => c.kind === "deprecated" && c.after.deprecationReason === "missing")
    .map((c) => c.after.imageId);
}

/** The lookup requests for these ids: every sub-listing (an image's listing is not stored), LOOKUP_BATCH at a time. */
export function lookupQueries(adapter: ProviderAdapter, scope: string, ids: readonly string[]): PageQuery[] {
  const queries: PageQuery[] = [];
  // As many ids as one page can answer: a request asking for more would leave the rest unreturned, and those
  // would look gone.
  const batch = Math.min(LOOKUP_BATCH, adapter.maxPageSize ?? LOOKUP_BATCH);
  for (const part of adapter.parts(scope))
    for (let i = 0; i < ids.length; i += batch)
      queries.push({ scope, part, pageNumber: 1, pageSize: batch, imageIds: ids.slice(i, i + batch) });
  return queries;
}

/**
 * The provider's current records of those ids it still has. Only the ids asked for count: a provider that ignored
 * the filter cannot make an image look present. Any failed request fails the lookup (and so the scope).
 */
export async function lookUp(
  adapter: ProviderAdapter,
  scope: string,
  ids: readonly string[],
  fetch: (query: PageQuery) => Promise<Page>,
): Promise<FetchedImage[]> {
  if (ids.length === 0) return [];
  const asked = new Set(ids);
  const found = new Map<string, FetchedImage>();
  const queries = lookupQueries(adapter, scope, ids);
  const halt = new Halt();
  const guarded = halt.guard(fetch);
  const pages: Page[] = [];
  let next = 0;
  const worker = async () => {
    while (next < queries.length) pages.push(await guarded(queries[next++] as PageQuery));
  };
  await settleAll(Array.from({ length: Math.min(LOOKUP_CONCURRENCY, queries.length) }, worker)).catch((e) => {
    halt.rethrow();
    throw e;
  });
  // A reply that says it holds more than it lists answered only part of the question: nothing is confirmed.
  const short = pages.find((p) => p.totalCount !== null && p.totalCount > p.images.length);
  if (short)
    throw new IncompleteSweepError(
      `a lookup by id listed ${short.images.length} of the ${short.totalCount} images it counted`,
      {},
    );
  for (const page of pages)
    for (const image of page.images)
      if (asked.has(image.imageId) && !found.has(image.imageId)) found.set(image.imageId, image);
  return [...found.values()];
}
