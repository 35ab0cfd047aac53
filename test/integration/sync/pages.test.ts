// Page digests: a steady sweep recognises the pages of the last one without parsing them, and a sweep where
// anything changed parses every page and finds exactly what changed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiId } from "../../../lib/model.ts";
import { ADAPTERS } from "../../../lib/providers/index.ts";
import type { AdapterFactory } from "../../../lib/providers/types.ts";
import { type PageIndex, pageIndexFromItem, pageIndexItem } from "../../../lib/store/manifest.ts";
import type { Store } from "../../../lib/store/store.ts";
import { PAGE_FORMAT, pageDigest } from "../../../lib/sync/pages.ts";
import { countCalls } from "../../helpers/counting.ts";
import { type Stack, startStack } from "../../helpers/stack.ts";

const query = { scope: "ap-guangzhou", part: "", pageNumber: 2, pageSize: 100 };
const images = (n: number) =>
  Array.from({ length: n }, (_, i) => `{"ImageId":"img-${i}","ImageName":"image ${i}","OsName":"Ubuntu 22.04"}`);

describe("pageDigest", () => {
  const body = (id: string, list = images(20)) =>
    `{"Response":{"TotalCount":450,"ImageSet":[${list.join(",")}],"RequestId":"${id}"}}`;

  it("is the same for the same page whatever its request id, and differs for any other byte or request", () => {
    const d = pageDigest("tencent-cvm", query, body("a0f3"));
    expect(pageDigest("tencent-cvm", query, body("77c1-9e"))).toBe(d);
    const changed = images(20);
    changed[10] = changed[10]?.replace("image 10", "image 1O") ?? "";
    expect(pageDigest("tencent-cvm", query, body("a0f3", changed))).not.toBe(d);
    expect(pageDigest("tencent-cvm", { ...query, pageNumber: 3 }, body("a0f3"))).not.toBe(d);
    expect(pageDigest("tencent-cvm", { ...query, scope: "ap-shanghai" }, body("a0f3"))).not.toBe(d);
    expect(pageDigest("tencent-image-v2", query, body("a0f3"))).not.toBe(d);
  });

  it("masks request ids at the envelope's edges only: one among the images is part of the page", () => {
    const zenlayer = (id: string, inner: string) =>
      `{"requestId":"${id}","response":{"requestId":"${id}","totalCount":20,"dataSet":[${images(10).join(",")},{"imageId":"x","requestId":"${inner}"},${images(10).join(",")}]}}`;
    const d = pageDigest("zenlayer-vm", query, zenlayer("T1", "kept"));
    expect(pageDigest("zenlayer-vm", query, zenlayer("T2-LONGER", "kept"))).toBe(d);
    expect(pageDigest("zenlayer-vm", query, zenlayer("T1", "other"))).not.toBe(d);
  });

  it("small pages are digested whole, request ids masked", () => {
    const small = (id: string) => `{"Response":{"TotalCount":0,"ImageSet":[],"RequestId":"${id}"}}`;
    expect(pageDigest("tencent-cvm", query, small("a"))).toBe(pageDigest("tencent-cvm", query, small("bb")));
  });
});

describe("page index item", () => {
  const key = { account: "acct", scope: "ap-guangzhou" };
  const ref = { runId: "run-1", chunks: 1, count: 3 };
  const index: PageIndex = {
    pageFormat: PAGE_FORMAT,
    pages: new Map([
      ["d1", { totalCount: 3, count: 2 }],
      ["d2", { totalCount: 3, count: 1 }],
    ]),
    covers: true,
  };

  it("round-trips, and is ignored when another run wrote it or it is unreadable", () => {
    const item = pageIndexItem(key, "run-1", index);
    expect(pageIndexFromItem(item ?? undefined, ref)).toEqual(index);
    expect(pageIndexFromItem(item ?? undefined, { ...ref, runId: "run-0" })).toBeNull();
    expect(pageIndexFromItem({ ...item, pages: "[[" }, ref)).toBeNull();
    expect(pageIndexFromItem(undefined, ref)).toBeNull();
  });
});

describe("page digests over real syncs", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ scale: 1 });
  });
  afterAll(async () => {
    await stack?.close();
  });
  // ap-guangzhou lists 450 images: 5 pages of 100.
  const scope = "ap-guangzhou";
  const list = () => {
    const records = stack.emulator.catalogue.get("tencent-cvm")?.get(scope);
    if (!records) throw new Error(`no tencent-cvm ${scope}`);
    return records;
  };
  const config = () => stack.config(["tencent-cvm"], () => ({ scopes: [scope] }));

  /** The real adapters, counting the pages they parse (a recognised page is not parsed). */
  function counting() {
    const counts = { parsed: 0 };
    const adapters = Object.fromEntries(
      Object.entries(ADAPTERS).map(([api, factory]) => [
        api,
        ((ctx) => {
          const adapter = factory(ctx);
          return {
            ...adapter,
            fetchPage: async (q) => {
              const page = await adapter.fetchPage(q);
              counts.parsed++;
              return page;
            },
          };
        }) satisfies AdapterFactory,
      ]),
    ) as Record<ApiId, AdapterFactory>;
    return { adapters, counts };
  }

  /** The store, counting the reads the engine makes, its page index replaced when `index` says so. */
  function instrument(raw: Store) {
    const { store, calls } = countCalls(raw, ["loadScope", "loadManifest", "loadPageIndex"]);
    const faults: { index?: (i: PageIndex | null) => PageIndex | null } = {};
    const wrapped: Store = {
      ...store,
      loadPageIndex: async (k, ref) => {
        const index = await store.loadPageIndex(k, ref);
        return faults.index ? faults.index(index) : index;
      },
    };
    return { store: wrapped, calls, faults };
  }

  it("a steady sync parses no page and reads only the page index; a change anywhere is found exactly", async () => {
    const raw = await stack.freshStore();
    const { store, calls } = instrument(raw);
    const { adapters, counts } = counting();
    const first = await stack.sync(config(), { store, adapters });
    // A first sync of more than one page is confirmed by a second sweep (lib/sync/confirm.ts).
    expect(first.scopes[0]).toMatchObject({ status: "complete", added: 450, requests: 10 });
    expect(counts.parsed).toBe(10);
    const counted = (await raw.getScopeStatus("tencent-cvm", scope))?.counts;
    expect((counted?.active ?? 0) + (counted?.deprecated ?? 0)).toBe(450);

    const steady = await stack.sync(config(), { store, adapters });
    expect(steady.scopes[0]).toMatchObject({ status: "complete", unchanged: 450, fetched: 450, writes: 0 });
    expect(counts.parsed).toBe(10);
    expect(calls).toEqual({ loadScope: 1, loadManifest: 0, loadPageIndex: 1 });

    // One image on page 3 is renamed: every page is parsed, and only that image is updated.
    const record = list()[250] as Record<string, unknown>;
    record.ImageName = `${String(record.ImageName)} (renamed)`;
    const changed = await stack.sync(config(), { store, adapters });
    expect(changed.scopes[0]).toMatchObject({
      status: "complete",
      updated: 1,
      added: 0,
      deprecated: 0,
      unchanged: 449,
      requests: 5,
    });
    // Page 3 parsed as it came, the 4 recognised pages from the replies kept: no request more.
    expect(counts.parsed).toBe(10 + 5);
    expect((await raw.getImage("tencent-cvm", scope, String(record.ImageId)))?.name).toMatch(/\(renamed\)$/);
    expect((await raw.getScopeStatus("tencent-cvm", scope))?.counts).toEqual(counted);

    // Steady again, from the new manifest's pages.
    const again = await stack.sync(config(), { store, adapters });
    expect(again.scopes[0]).toMatchObject({ status: "complete", unchanged: 450, writes: 0 });
    expect(counts.parsed).toBe(15);
  });

  it("a tight memory budget with every scope changed finishes: a reservation traded up is never lost", async () => {
    const raw = await stack.freshStore();
    const all = stack.config(["tencent-cvm"]);
    const memoryBudgetImages = 500;
    expect((await stack.sync(all, { store: raw, memoryBudgetImages })).ok).toBe(true);
    // A change on page 1 of every region: each scope reads its images back while it still sweeps.
    const renamed: Array<[Record<string, unknown>, unknown]> = [];
    const expected: Record<string, number> = {};
    for (const [region, records] of stack.emulator.catalogue.get("tencent-cvm") ?? []) {
      const record = records[0];
      expected[region] = record ? 1 : 0;
      if (!record) continue;
      renamed.push([record, record.ImageName]);
      record.ImageName = `${String(record.ImageName)} (v2)`;
    }
    expect(renamed.length).toBeGreaterThanOrEqual(4);
    try {
      const report = await stack.sync(all, { store: raw, memoryBudgetImages });
      expect(report.ok).toBe(true);
      expect(Object.fromEntries(report.scopes.map((r) => [r.scope, r.updated]))).toMatchObject(expected);
      const again = await stack.sync(all, { store: raw, memoryBudgetImages });
      expect(again.ok).toBe(true);
      expect(again.scopes.every((r) => r.writes === 0)).toBe(true);
    } finally {
      for (const [record, name] of renamed) record.ImageName = name;
    }
  }, 30_000);

  it("an image gone from the last page is deprecated, and only it", async () => {
    const raw = await stack.freshStore();
    const { adapters, counts } = counting();
    expect((await stack.sync(config(), { store: raw, adapters })).ok).toBe(true);
    const [gone] = list().splice(list().length - 1, 1);
    try {
      const report = await stack.sync(config(), { store: raw, adapters });
      expect(report.scopes[0]).toMatchObject({ status: "complete", deprecated: 1, updated: 0, unchanged: 449 });
      // The first sync sweeps twice (it adds images). Every page's TotalCount moved: none is recognised, and
      // the provider is asked for the missing image by id.
      expect(counts.parsed).toBe(10 + 5 + 1);
      expect((await raw.getImage("tencent-cvm", scope, String(gone?.ImageId)))?.state).toBe("deprecated");
    } finally {
      if (gone) list().push(gone);
    }
  });

  it("a manifest without a page index this code can use gets one, once; then steady syncs parse nothing", async () => {
    const raw = await stack.freshStore();
    const { store, calls, faults } = instrument(raw);
    const { adapters, counts } = counting();
    expect((await stack.sync(config(), { store, adapters })).ok).toBe(true);
    // As written by another version of the code.
    faults.index = (i) => i && { ...i, pageFormat: "0.other" };
    const upgraded = await stack.sync(config(), { store, adapters });
    expect(upgraded.scopes[0]).toMatchObject({ status: "complete", unchanged: 450, added: 0, updated: 0 });
    expect(upgraded.scopes[0]?.writes).toBeGreaterThan(0);
    // The first sync swept twice (it added images); the upgraded one parses its five pages once.
    expect(counts.parsed).toBe(15);
    expect(calls).toMatchObject({ loadScope: 1, loadManifest: 1 });

    faults.index = undefined;
    const steady = await stack.sync(config(), { store, adapters });
    expect(steady.scopes[0]).toMatchObject({ status: "complete", unchanged: 450, writes: 0 });
    expect(counts.parsed).toBe(15);
    expect(calls).toMatchObject({ loadScope: 1, loadManifest: 1 });
  });
});
