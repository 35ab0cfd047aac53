import { describe, expect, it } from "vitest";
import { ProviderError } from "../../../lib/errors.ts";
import type { FetchedImage } from "../../../lib/model.ts";
import type { Page, PageQuery, ProviderAdapter } from "../../../lib/providers/types.ts";
import { mapLimit } from "../../../lib/sync/engine.ts";
import { backoffDelay, withRetry } from "../../../lib/sync/retry.ts";
import { sweepScope } from "../../../lib/sync/sweep.ts";

const img = (id: string): FetchedImage => ({
  imageId: id,
  name: id,
  description: null,
  osType: null,
  osFamily: null,
  osVersion: null,
  architecture: null,
  imageType: null,
  family: null,
  status: null,
  available: true,
  unusable: null,
  sizeGiB: null,
  createdAt: null,
  raw: {},
});

/** A paged in-memory listing; `hook` may change it between pages, as a provider's catalogue can. */
function pagedAdapter(
  listing: string[],
  pageSize: number,
  hook?: (q: PageQuery, listing: string[]) => void,
  parts = [""],
) {
  const calls: PageQuery[] = [];
  const adapter: ProviderAdapter = {
    api: "zenlayer-zec",
    provider: "zenlayer",
    maxPageSize: pageSize,
    defaultRequestsPerSecond: null,
    listScopes: async () => ["z"],
    parts: () => parts,
    fetchPage: async (q): Promise<Page> => {
      calls.push(q);
      hook?.(q, listing);
      const start = (q.pageNumber - 1) * q.pageSize;
      return {
        images: listing.slice(start, start + q.pageSize).map(img),
        totalCount: listing.length,
        requestId: `r${calls.length}`,
      };
    },
  };
  return { adapter, calls, fetch: (q: PageQuery) => adapter.fetchPage(q) };
}

const ids = (n: number, prefix = "i") => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(5, "0")}`);

describe("sweepScope", () => {
  it("pages at the maximum page size: requests = ceil(n / pageSize)", async () => {
    for (const n of [1, 999, 1000, 1001, 2500]) {
      const { adapter, calls, fetch } = pagedAdapter(ids(n), 1000);
      const r = await sweepScope(adapter, "z", fetch);
      expect(r.complete).toBe(true);
      expect(r.images).toHaveLength(n);
      expect(calls).toHaveLength(Math.ceil(n / 1000));
      expect(calls.every((c) => c.pageSize === 1000)).toBe(true);
    }
  });

  it("fetches the remaining pages concurrently with the same request count and the same checks", async () => {
    const { adapter, calls, fetch } = pagedAdapter(ids(2500), 100);
    const r = await sweepScope(adapter, "z", fetch, { concurrency: 4 });
    expect(r.complete).toBe(true);
    expect(r.images).toHaveLength(2500);
    expect(calls.map((c) => c.pageNumber).sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    let removed = false;
    const shifting = pagedAdapter(ids(250), 100, (q, listing) => {
      if (q.pageNumber === 3 && !removed) {
        removed = true;
        listing.splice(0, 1);
      }
    });
    const s = await sweepScope(shifting.adapter, "z", shifting.fetch, { concurrency: 4 });
    expect([s.complete, s.images.length, shifting.calls.length]).toEqual([true, 249, 6]);
  });

  it("an empty listing is one request and complete", async () => {
    const { adapter, calls, fetch } = pagedAdapter([], 1000);
    const r = await sweepScope(adapter, "z", fetch);
    expect([r.complete, r.images.length, calls.length]).toEqual([true, 0, 1]);
  });

  it("an image removed between page 1 and 2 shifts the offset: the sweep is retried and ends consistent", async () => {
    let removed = false;
    const { adapter, calls, fetch } = pagedAdapter(ids(25), 10, (q, listing) => {
      if (q.pageNumber === 2 && !removed) {
        removed = true;
        listing.splice(3, 1);
      }
    });
    const r = await sweepScope(adapter, "z", fetch);
    expect(r.complete).toBe(true);
    expect(r.images).toHaveLength(24);
    expect(r.images.map((i) => i.imageId)).not.toContain("i00003");
    expect(calls.length).toBe(3 + 3);
  });

  it("a listing that keeps shifting is given up as incomplete after one more sweep", async () => {
    let n = 0;
    const { adapter, fetch } = pagedAdapter(ids(25), 10, (q, listing) => {
      if (q.pageNumber === 2) listing.unshift(`new${n++}`);
    });
    const r = await sweepScope(adapter, "z", fetch);
    expect(r.complete).toBe(false);
    expect(r.images).toEqual([]);
    expect(r.problem).toMatch(/totalCount moved/);
  });

  it("a totalCount that lies is incomplete", async () => {
    const { adapter } = pagedAdapter(ids(5), 10);
    const lying = {
      ...adapter,
      fetchPage: async (q: PageQuery) => ({ ...(await adapter.fetchPage(q)), totalCount: 7 }),
    };
    const r = await sweepScope(lying, "z", (q) => lying.fetchPage(q));
    expect(r.complete).toBe(false);
    expect(r.problem).toMatch(/5 unique images but totalCount 7/);
  });

  it("duplicates across pages are de-duplicated by id", async () => {
    const { adapter } = pagedAdapter(["a", "b", "b", "c"], 2);
    const r = await sweepScope(adapter, "z", (q) => adapter.fetchPage(q));
    // 3 unique ids but totalCount 4: a provider that repeats records is not a consistent listing.
    expect(r.complete).toBe(false);
  });

  it("each sub-listing is swept and checked on its own", async () => {
    const { adapter, calls, fetch } = pagedAdapter(ids(15), 10, undefined, ["1", "2"]);
    const r = await sweepScope(adapter, "z", fetch);
    expect(r.complete).toBe(true);
    // At once: sub-listings are independent (the caller paces them together).
    expect(calls.map((c) => `${c.part}:${c.pageNumber}`).sort()).toEqual(["1:1", "1:2", "2:1", "2:2"]);
    expect(r.partCounts).toEqual({ 1: 15, 2: 15 });
  });

  it("with the last sweep's size, the pages go out with page 1, not after it", async () => {
    const { adapter } = pagedAdapter(ids(35), 10);
    let firstDone = false;
    const sentBeforeFirst: number[] = [];
    const fetch = async (q: PageQuery) => {
      if (!firstDone && q.pageNumber > 1) sentBeforeFirst.push(q.pageNumber);
      const page = await adapter.fetchPage(q);
      await new Promise((r) => setTimeout(r, 5));
      if (q.pageNumber === 1) firstDone = true;
      return page;
    };
    const r = await sweepScope(adapter, "z", fetch, { concurrency: 4, lastCounts: { "*": 35 } });
    expect(r).toMatchObject({ complete: true, partCounts: { "*": 35 } });
    expect(sentBeforeFirst.sort()).toEqual([2, 3, 4]);
    // Without it, page 1 first.
    sentBeforeFirst.length = 0;
    firstDone = false;
    expect((await sweepScope(adapter, "z", fetch, { concurrency: 4 })).complete).toBe(true);
    expect(sentBeforeFirst).toEqual([]);
  });

  it("says when every request has gone out, before the last reply is in", async () => {
    const cases: Array<Record<string, number>> = [{}, { "*": 35 }, { "*": 12 }];
    for (const lastCounts of cases) {
      const { adapter } = pagedAdapter(ids(35), 10);
      const sent = new Set<number>();
      let replies = 0;
      let atSignal = null as { sent: number[]; replies: number } | null;
      const fetch = async (q: PageQuery, onSent?: () => void) => {
        sent.add(q.pageNumber);
        onSent?.();
        await new Promise((r) => setTimeout(r, 10));
        replies++;
        return adapter.fetchPage(q);
      };
      const onAllSent = () => {
        expect(atSignal).toBeNull();
        atSignal = { sent: [...sent].sort(), replies };
      };
      const r = await sweepScope(adapter, "z", fetch, { concurrency: 4, lastCounts, onAllSent });
      expect(r.complete).toBe(true);
      expect(atSignal).toMatchObject({ sent: [1, 2, 3, 4] });
      expect(atSignal?.replies).toBeLessThan(4);
    }
  });

  it("an empty page sent past the end of a listing that shrank is not one of its pages", async () => {
    const { adapter } = pagedAdapter(ids(25), 10);
    const fetch = async (q: PageQuery) => ({ ...(await adapter.fetchPage(q)), digest: `d${q.pageNumber}` });
    const r = await sweepScope(adapter, "z", fetch, { concurrency: 4, lastCounts: { "*": 35 } });
    expect(r).toMatchObject({ complete: true, pageCount: 3, partCounts: { "*": 25 } });
    expect(r.pageRecords().map((p) => p.digest)).toEqual(["d1", "d2", "d3"]);
  });

  it("a listing that grew or shrank since the last sweep is still swept whole", async () => {
    for (const [last, now] of [
      [12, 35],
      [35, 12],
      [40, 0],
    ] as const) {
      const { adapter, calls, fetch } = pagedAdapter(ids(now), 10);
      const r = await sweepScope(adapter, "z", fetch, { concurrency: 4, lastCounts: { "*": last } });
      expect(r).toMatchObject({ complete: true, partCounts: { "*": now } });
      expect(r.images.map((i) => i.imageId)).toEqual(ids(now));
      // At most the pages the last sweep had, or the pages there are now.
      expect(calls.length).toBeLessThanOrEqual(Math.max(Math.ceil(last / 10), Math.ceil(now / 10), 1));
    }
  });

  it("an error on a page propagates: the caller fails the scope", async () => {
    const { adapter } = pagedAdapter(ids(25), 10);
    const failing = {
      ...adapter,
      fetchPage: async (q: PageQuery) => {
        if (q.pageNumber === 2) throw new ProviderError("INTERNAL_SERVER_ERROR", "boom", { retryable: true });
        return adapter.fetchPage(q);
      },
    };
    await expect(sweepScope(failing, "z", (q) => failing.fetchPage(q))).rejects.toThrow(/boom/);
  });

  // Found by the model-based test (seed 9002): a page that failed rejected the sweep while the other workers went
  // on fetching, so the engine let the scope's hold go with requests of the failed sweep still going out, and the
  // next run's sweep of that scope overlapped them.
  it("a page that fails stops the sweep: no request goes out, and none is in flight, once it has failed", async () => {
    for (const parts of [[""], ["a", "b"]]) {
      const { adapter } = pagedAdapter(ids(200), 10, undefined, parts);
      let inFlight = 0;
      let settled = false;
      const late: string[] = [];
      const fetch = async (q: PageQuery): Promise<Page> => {
        if (settled) late.push(`${q.part}:${q.pageNumber}`);
        inFlight++;
        try {
          await new Promise((r) => setTimeout(r, q.pageNumber === 3 && q.part !== "b" ? 1 : 5));
          if (q.pageNumber === 3 && q.part !== "b") throw new ProviderError("INTERNAL_SERVER_ERROR", "boom", {});
          return await adapter.fetchPage(q);
        } finally {
          inFlight--;
        }
      };
      const outcome = sweepScope(adapter, "z", fetch, { concurrency: 4, lastCounts: { "*": 200, a: 200, b: 200 } });
      await expect(outcome).rejects.toThrow(/boom/);
      settled = true;
      expect(inFlight).toBe(0);
      await new Promise((r) => setTimeout(r, 50));
      expect(late).toEqual([]);
    }
  });
});

describe("withRetry", () => {
  const noSleep = { sleep: async () => {}, random: () => 0.5 };
  it("retries retryable errors and stops at the bound with the last error", async () => {
    let n = 0;
    const p = withRetry(
      async () => {
        n++;
        throw new ProviderError("REQUEST_LIMIT_EXCEEDED", `try ${n}`, { retryable: true });
      },
      { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
      noSleep,
    );
    await expect(p).rejects.toThrow("try 3");
    expect(n).toBe(3);
  });

  it("never retries a fatal error", async () => {
    let n = 0;
    await expect(
      withRetry(
        async () => {
          n++;
          throw new ProviderError("AUTH_FAILURE", "no", { retryable: false });
        },
        { attempts: 5, baseDelayMs: 1, maxDelayMs: 1 },
        noSleep,
      ),
    ).rejects.toThrow("no");
    expect(n).toBe(1);
  });

  it("honours Retry-After and caps the exponential backoff", () => {
    const policy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(policy, 1, 0.999)).toBe(99);
    expect(backoffDelay(policy, 10, 0.999)).toBe(999);
    expect(backoffDelay(policy, 1, 0, 2000)).toBe(2000);
  });
});

describe("mapLimit", () => {
  it("gives an item's place to the next once it says so, and settles when every call has", async () => {
    const log: string[] = [];
    const pause = () => new Promise((r) => setTimeout(r, 5));
    await mapLimit(["a", "b", "c"], 1, async (item, done) => {
      log.push(`start ${item}`);
      await pause();
      if (item !== "c") done();
      await pause();
      await pause();
      log.push(`end ${item}`);
    });
    expect(log.slice(0, 3)).toEqual(["start a", "start b", "start c"]);
    expect(log.filter((l) => l.startsWith("end")).sort()).toEqual(["end a", "end b", "end c"]);
  });

  it("settles every call before it rejects with the first error", async () => {
    const ended: string[] = [];
    const run = mapLimit(["a", "b", "c"], 3, async (item) => {
      await new Promise((r) => setTimeout(r, item === "a" ? 1 : 10));
      if (item === "a") throw new Error("a failed");
      ended.push(item);
    });
    await expect(run).rejects.toThrow(/a failed/);
    expect(ended.sort()).toEqual(["b", "c"]);
  });
});
