// The holes an adversarial review found (issue 14): each test drives a real sync (the emulator over HTTP,
// dynalite behind a fault-injecting proxy) into the situation the review reproduced and checks the contract.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiId, StoredImage } from "../lib/model.ts";
import { createStore, type Store } from "../lib/store/store.ts";
import { type DynamoProxy, startDynamoProxy } from "./helpers/dynamo-proxy.ts";
import { type Stack, startStack } from "./helpers/stack.ts";

let stack: Stack;
let proxy: DynamoProxy;
let tables = 0;
beforeAll(async () => {
  stack = await startStack({ scale: 0.3 });
  proxy = await startDynamoProxy(stack.dynamo.endpoint);
});
afterAll(async () => {
  await proxy?.close();
  await stack?.close();
});

/** A fresh table reached through the proxy, so a test can fail any single DynamoDB request. */
async function proxiedStore(): Promise<Store> {
  const store = createStore({ tableName: `adversity-${++tables}`, endpoint: proxy.endpoint, localCredentials: true });
  await store.ensureTable();
  return store;
}

const records = (api: ApiId, scope: string) => {
  const list = stack.emulator.catalogue.get(api)?.get(scope);
  if (!list) throw new Error(`no ${api} ${scope}`);
  return list;
};
const vm = (scope: string) => stack.config(["zenlayer-vm"], () => ({ scopes: [scope] }));
const emptyListing = {
  type: "transform" as const,
  apply: (j: { response: object }) => ({ ...j, response: { ...j.response, totalCount: 0, dataSet: [] } }),
};
const stored = (store: Store, scope: string): Promise<StoredImage[]> =>
  store.listImages({ account: "zenlayer-vm", scope, all: true });

describe("a scope that has stored images is never a baseline (defect 1)", () => {
  it("after a first sync whose status write failed, an empty listing is held, not 440 silent deprecations", async () => {
    const store = await proxiedStore();
    const scope = "FRA-A";
    // The first sync writes its images, then its status (with the manifest) fails to land.
    proxy.fault = (target, body) =>
      target === "BatchWriteItem" && body.includes('"SCOPES"') ? { type: "ValidationException" } : undefined;
    try {
      await stack.sync(vm(scope), { store });
    } finally {
      proxy.fault = undefined;
    }
    expect(await store.getScopeStatus("zenlayer-vm", scope)).toBeUndefined();
    const images = await stored(store, scope);
    expect(images).toHaveLength(records("zenlayer-vm", scope).length);
    const active = images.filter((i) => i.state === "active").length;

    stack.emulator.inject({ match: { api: "zenlayer-vm", scope }, times: 1, action: emptyListing });
    const anomalies: unknown[] = [];
    const r = await stack.sync(vm(scope), { store, onAnomaly: (a) => void anomalies.push(a) });
    expect(r.scopes[0]).toMatchObject({ status: "complete", baseline: false, deprecated: 0, held: active });
    expect(anomalies).toHaveLength(1);
    expect(await stored(store, scope)).toEqual(images);
  });

  it("after a failed first sync, later changes are not baseline writes: they reach the consumers", async () => {
    const store = await proxiedStore();
    const scope = "HKG-A";
    proxy.fault = (target, body) =>
      target === "BatchWriteItem" && body.includes('"SCOPES"') ? { type: "ValidationException" } : undefined;
    try {
      await stack.sync(vm(scope), { store });
    } finally {
      proxy.fault = undefined;
    }
    const list = records("zenlayer-vm", scope);
    const [gone] = list.splice(0, 1) as [Record<string, unknown>];
    try {
      const r = await stack.sync(vm(scope), { store });
      expect(r.scopes[0]).toMatchObject({ status: "complete", baseline: false, deprecated: 1 });
      const image = (await stored(store, scope)).find((i) => i.imageId === gone.imageId);
      expect(image?.lastChange).toMatchObject({ kind: "deprecated", baseline: false, reason: "missing" });
    } finally {
      list.unshift(gone);
    }
  });
});

describe("the mass-deprecation guard counts active images (defect 3)", () => {
  it("100 stored, 80 of them deprecated: a sweep dropping 15 of the 20 active images is held", async () => {
    const store = await proxiedStore();
    const scope = "LAX-A";
    const list = records("zenlayer-vm", scope);
    const all = list.splice(0, list.length);
    list.push(...all.filter((r) => r.imageStatus === "AVAILABLE").slice(0, 100));
    try {
      expect((await stack.sync(vm(scope), { store })).ok).toBe(true);
      // 80 go, in steps the guard lets through (at most 10 at a time).
      for (let i = 0; i < 8; i++) {
        list.splice(0, 10);
        const r = await stack.sync(vm(scope), { store });
        expect(r.scopes[0]).toMatchObject({ deprecated: 10, held: 0 });
      }
      expect(list).toHaveLength(20);
      // Not an empty listing (that is held whatever its size): 15 of the 20 active images go.
      list.splice(0, 15);
      const r = await stack.sync(vm(scope), { store });
      expect(r.scopes[0]).toMatchObject({ status: "complete", deprecated: 0, held: 15 });
      expect((await stored(store, scope)).filter((i) => i.state === "active")).toHaveLength(20);
    } finally {
      list.splice(0, list.length, ...all);
    }
  });
});

describe("an image is deprecated as missing only once the provider confirms it is gone (defect 2)", () => {
  const idOf = (api: ApiId, r: Record<string, unknown>) =>
    String(api === "tencent-cvm-v2" ? r.unImgId : api.startsWith("tencent") ? r.ImageId : r.imageId);
  const cfg = (api: ApiId, scope: string) => stack.config([api], () => ({ scopes: [scope] }));
  const usable = (api: ApiId, r: Record<string, unknown>) =>
    api === "tencent-cvm-v2"
      ? r.status === 2 || r.status === 3
      : api.startsWith("tencent")
        ? (r.ImageState === "NORMAL" || r.ImageState === "USING" || r.ImageState === undefined) &&
          r.ImageDeprecated !== true
        : r.imageStatus === undefined || r.imageStatus === "AVAILABLE";

  it("offset paging race: one image removed before the offset and one appended after it deprecates nothing listed", async () => {
    const api: ApiId = "tencent-cvm";
    const [scope, list] = [...(stack.emulator.catalogue.get(api) ?? [])].find(([, l]) => l.length > 100) ?? [];
    if (!scope || !list) throw new Error("no tencent-cvm region with two pages");
    const saved = [...list];
    // The first image of page 2, which the race makes the sweep miss, is a usable one.
    const usableAt = list.findIndex((r, i) => i >= 100 && usable(api, r));
    [list[100], list[usableAt]] = [list[usableAt] as Record<string, unknown>, list[100] as Record<string, unknown>];
    const store = await proxiedStore();
    expect((await stack.sync(cfg(api, scope), { store })).ok).toBe(true);
    // Once page 1 is answered, the provider removes its first image and appends one.
    stack.emulator.inject({
      match: { api, scope, pageNumber: 1 },
      times: 1,
      action: {
        type: "transform",
        apply: (json: unknown) => {
          list.shift();
          list.push({ ...(list[0] as object), ImageId: "img-appended" });
          return json;
        },
      },
    });
    try {
      // One page at a time, so page 2 is asked for after page 1 was answered.
      const r = await stack.sync(cfg(api, scope), { store, pageConcurrency: 1 });
      expect(r.scopes[0]?.status).toBe("complete");
      const listed = new Set(list.map((x) => idOf(api, x)));
      const deprecated = (await store.listImages({ account: api, scope, all: true })).filter(
        (i) => i.lastChange.runId === r.runId && i.state === "deprecated",
      );
      // Only the image really removed may be deprecated (when page 1 was answered after the removal).
      expect(deprecated.filter((i) => listed.has(i.imageId))).toEqual([]);
      expect(deprecated.map((i) => i.imageId)).toEqual(
        deprecated.length ? [idOf(api, saved[0] as Record<string, unknown>)] : [],
      );
    } finally {
      stack.emulator.clearFaults();
      list.splice(0, list.length, ...saved);
    }
  });

  const apis: ApiId[] = [
    "zenlayer-bmc",
    "zenlayer-zec",
    "zenlayer-vm",
    "tencent-cvm",
    "tencent-image-v2",
    "tencent-cvm-v2",
  ];
  it.each(apis)("%s: an image a listing leaves out but the provider still has by id stays active", async (api) => {
    const part = api === "tencent-cvm-v2" ? "1" : "";
    const inPart = (r: Record<string, unknown>) => part === "" || String(r.imageType) === part;
    // The smallest scope, so that its listing is one page and the lookup is the listing's next request.
    const [scope, list] = [...(stack.emulator.catalogue.get(api) ?? [])].sort(
      ([, a], [, b]) => a.filter(inPart).length - b.filter(inPart).length,
    )[0] ?? [undefined, undefined];
    if (!scope || !list) throw new Error(`no ${api} scope`);
    const at = list.findIndex((r) => inPart(r) && usable(api, r));
    expect(at).toBeGreaterThanOrEqual(0);
    expect(list.filter(inPart).length).toBeLessThanOrEqual(api.startsWith("tencent") ? 100 : 1000);
    const hidden = list[at] as Record<string, unknown>;
    const store = await proxiedStore();
    expect((await stack.sync(cfg(api, scope), { store })).ok).toBe(true);
    const match = { api, scope, action: "DescribeImages", ...(part ? { part } : {}) };
    // The listing leaves the image out; by the next request (the lookup) the provider has it again.
    stack.emulator.inject({ match, times: 1, action: { type: "mutate", apply: () => void list.splice(at, 1) } });
    stack.emulator.inject({
      match,
      times: 1,
      action: { type: "mutate", apply: () => void list.splice(at, 0, hidden) },
    });
    try {
      const r = await stack.sync(cfg(api, scope), { store });
      expect(r.scopes[0]).toMatchObject({ status: "complete", deprecated: 0 });
      const image = (await store.listImages({ account: api, scope, all: true })).find(
        (i) => i.imageId === idOf(api, hidden),
      );
      expect(image?.state).toBe("active");
    } finally {
      stack.emulator.clearFaults();
    }
    // Really gone: the lookup finds nothing, and the image is deprecated, at one request per listing beyond the sweep.
    list.splice(at, 1);
    try {
      const before = stack.emulator.stats.count({ api, scope });
      const r = await stack.sync(cfg(api, scope), { store });
      expect(r.scopes[0]).toMatchObject({ status: "complete", deprecated: 1 });
      const parts = api === "tencent-cvm-v2" ? 4 : 1;
      expect(stack.emulator.stats.count({ api, scope }) - before).toBe(r.scopes[0]?.requests);
      expect(r.scopes[0]?.requests).toBe(parts * 2);
    } finally {
      list.splice(at, 0, hidden);
    }
  });
});
