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
