// The id lookup that confirms a missing image (lib/sync/confirm.ts): every id asked for must fit the page that
// answers it, or the ids left unreturned would look gone. Found by the model-based test (seed 9002), where
// pages hold 4 images: six images missing from an empty listing, looked up in one request of pageSize 4, left
// two of them unconfirmed, and one was deprecated though the provider listed it throughout.
import { describe, expect, it } from "vitest";
import type { FetchedImage } from "../../../lib/model.ts";
import type { Page, PageQuery, ProviderAdapter } from "../../../lib/providers/types.ts";
import { LOOKUP_BATCH, lookUp, lookupQueries } from "../../../lib/sync/confirm.ts";

const adapter = (maxPageSize: number | null, parts = [""]): ProviderAdapter =>
  ({ maxPageSize, parts: () => parts }) as unknown as ProviderAdapter;
const ids = (n: number) => Array.from({ length: n }, (_, i) => `img-${i}`);
/** A provider that holds every image and answers a lookup with at most one page of them. */
const provider = (query: PageQuery): Promise<Page> => {
  const asked = query.imageIds ?? [];
  return Promise.resolve({
    images: asked.slice(0, query.pageSize).map((imageId) => ({ imageId }) as FetchedImage),
    totalCount: asked.length,
    requestId: null,
  });
};

describe("lookups by id", () => {
  it("ask for no more ids than a page holds", () => {
    const queries = lookupQueries(adapter(4), "Z1", ids(6));
    expect(queries.map((q) => [q.pageSize, q.imageIds?.length])).toEqual([
      [4, 4],
      [4, 2],
    ]);
    expect(lookupQueries(adapter(1000), "Z1", ids(250)).map((q) => q.imageIds?.length)).toEqual([
      LOOKUP_BATCH,
      LOOKUP_BATCH,
      50,
    ]);
    // Unpaged listings and sub-listings: every part is asked.
    expect(lookupQueries(adapter(null, ["1", "2"]), "gz", ids(3)).map((q) => q.part)).toEqual(["1", "2"]);
  });

  it("find every image the provider still has, at a small page size too", async () => {
    const found = await lookUp(adapter(4), "Z1", ids(6), provider);
    expect(found.map((i) => i.imageId).sort()).toEqual(ids(6).sort());
  });

  it("confirm nothing when a reply counts more than it lists", async () => {
    const short = (query: PageQuery): Promise<Page> =>
      provider({ ...query, pageSize: 1 }).then((p) => ({ ...p, images: p.images.slice(0, 1) }));
    await expect(lookUp(adapter(4), "Z1", ids(3), short)).rejects.toMatchObject({ code: "SWEEP_INCOMPLETE" });
  });

  it("that fails sends nothing more, and has nothing in flight, once it has failed", async () => {
    let inFlight = 0;
    const sent: number[] = [];
    const failing = async (query: PageQuery): Promise<Page> => {
      const first = sent.push(query.imageIds?.length ?? 0) === 1;
      inFlight++;
      try {
        await new Promise((r) => setTimeout(r, first ? 1 : 10));
        if (first) throw new Error("boom");
        return await provider(query);
      } finally {
        inFlight--;
      }
    };
    await expect(lookUp(adapter(4), "Z1", ids(40), failing)).rejects.toThrow(/boom/);
    expect(inFlight).toBe(0);
    // Ten lookups of four ids, at most LOOKUP_CONCURRENCY at once: the failure stopped the rest.
    expect(sent.length).toBeLessThan(10);
  });
});
