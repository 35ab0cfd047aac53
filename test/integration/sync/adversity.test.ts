// The holes an adversarial review found (issue 14): each test drives a real sync (the emulator over HTTP,
// dynalite behind a fault-injecting proxy) into the situation the review reproduced and checks the contract.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_IDS, type ApiId, type StoredImage } from "../../../lib/model.ts";
import { createStore, type Store } from "../../../lib/store/store.ts";
import { configForBatch } from "../../../lib/sync/batch.ts";
import { defaultPlanOptions, planRun } from "../../../lib/sync/fanout.ts";
import { type DynamoProxy, type ProxiedStack, startProxiedStack } from "../../helpers/dynamo-proxy.ts";
import type { Stack } from "../../helpers/stack.ts";

let local: ProxiedStack;
let stack: Stack;
let proxy: DynamoProxy;
beforeAll(async () => {
  local = await startProxiedStack({ scale: 0.3 });
  ({ stack, proxy } = local);
});
afterAll(() => local?.close());
const proxiedStore = () => local.freshStore();

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

/** A first sync that writes its images, and whose status (with the manifest) then fails to land. */
async function firstSyncLosesItsStatus(store: Store, scope: string): Promise<void> {
  proxy.fault = (target, body) =>
    target === "BatchWriteItem" && body.includes('"SCOPES"') ? { type: "ValidationException" } : undefined;
  try {
    await stack.sync(vm(scope), { store });
  } finally {
    proxy.fault = undefined;
  }
}

describe("a scope that has stored images is never a baseline (defect 1)", () => {
  it("after a first sync whose status write failed, an empty listing is held, not 440 silent deprecations", async () => {
    const store = await proxiedStore();
    const scope = "FRA-A";
    // The first sync writes its images, then its status (with the manifest) fails to land.
    await firstSyncLosesItsStatus(store, scope);
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
    await firstSyncLosesItsStatus(store, scope);
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

  it.each(API_IDS)("%s: an image a listing leaves out but the provider still has by id stays active", async (api) => {
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

describe("at most one sweep of a scope at any time (defect 4)", () => {
  it("an inline run, a worker and the worker's redelivered message at once: each scope is swept by one of them", async () => {
    const store = await proxiedStore();
    const inline = stack.config(["zenlayer-vm"], () => ({ scopes: ["FRA-A", "HKG-A", "SIN-A"] }));
    const batch = { id: "b1", account: "zenlayer-vm", scopes: ["HKG-A", "SIN-A"], estimatedSeconds: 1 };
    const worker = configForBatch(inline, batch);
    stack.emulator.latencyMs = 150;
    try {
      // A worker's message delivered twice carries the same run id.
      const runs = await Promise.all([
        stack.sync(worker, { store, runId: "20261201T000000Z-aaaaaa" }),
        stack.sync(worker, { store, runId: "20261201T000000Z-aaaaaa" }),
        new Promise((r) => setTimeout(r, 50)).then(() => stack.sync(inline, { store })),
      ]);
      for (const scope of ["FRA-A", "HKG-A", "SIN-A"]) {
        const swept = runs.flatMap((r) => r.scopes).filter((s) => s.scope === scope && s.status !== "skipped");
        expect(swept, scope).toHaveLength(1);
        expect(swept[0]?.status).toBe("complete");
      }
      const skipped = runs.flatMap((r) => r.scopes).filter((s) => s.status === "skipped");
      expect(skipped.length).toBeGreaterThanOrEqual(2);
      for (const s of skipped) expect(s.error?.code).toBe("LEASE_HELD");
    } finally {
      stack.emulator.latencyMs = 0;
    }
    // No hold outlives its run: the next run takes every scope.
    const next = await stack.sync(inline, { store });
    expect(next.scopes.map((s) => s.status)).toEqual(["complete", "complete", "complete"]);
  });

  it("a steady run still writes the lease item twice per account, and its record survives another worker's", async () => {
    const store = await proxiedStore();
    const all = stack.config(["zenlayer-vm"], () => ({ scopes: ["FRA-A", "HKG-A", "LAX-A", "SIN-A"] }));
    expect((await stack.sync(all, { store })).ok).toBe(true);
    const a = configForBatch(all, { id: "a", account: "zenlayer-vm", scopes: ["FRA-A", "HKG-A"], estimatedSeconds: 1 });
    const b = configForBatch(all, { id: "b", account: "zenlayer-vm", scopes: ["LAX-A", "SIN-A"], estimatedSeconds: 1 });
    const writesBefore = store.stats.writeRequests;
    const [ra, rb] = await Promise.all([stack.sync(a, { store }), stack.sync(b, { store })]);
    expect([...ra.scopes, ...rb.scopes].map((s) => [s.status, s.writes])).toEqual(Array(4).fill(["complete", 0]));
    expect(store.stats.writeRequests - writesBefore).toBe(4);
    // Both workers' unchanged sweeps are recorded: every status says this run's sweep.
    const statuses = await store.listScopeStatuses("zenlayer-vm");
    for (const s of statuses) expect(s.lastRunId).toBe(s.scope < "I" ? ra.runId : rb.runId);
  });
});

describe("in fan-out mode one account's failed discovery fails that account alone (defect 5)", () => {
  it("bad credentials for a Tencent account leave the Zenlayer scopes planned", async () => {
    const store = await proxiedStore();
    const config = stack.config(["zenlayer-vm", "tencent-cvm"], (a) =>
      a.api === "tencent-cvm"
        ? { credentials: { secretId: stack.emulator.credentials.tencent.secretId, secretKey: "wrong-key-0123" } }
        : { scopes: ["FRA-A", "HKG-A"] },
    );
    const plan = await planRun(config, store, stack.http, defaultPlanOptions(600, 4));
    expect(plan.failed.map((f) => [f.account, f.error.code])).toEqual([
      ["tencent-cvm", "AuthFailure.SignatureFailure"],
    ]);
    expect(plan.batches.flatMap((b) => b.scopes).sort()).toEqual(["FRA-A", "HKG-A"]);
    expect(JSON.stringify(plan.failed.map((f) => f.error.describe()))).not.toContain("wrong-key-0123");
  });
});

describe("every image write is reported and handed to the consumer once, whatever fails after it (defect 8)", () => {
  it("an image write that fails: the report counts what landed and onChanges gets exactly that", async () => {
    const store = await proxiedStore();
    const scope = "SIN-A";
    expect((await stack.sync(vm(scope), { store })).ok).toBe(true);
    const list = records("zenlayer-vm", scope);
    const [a, b] = list.slice(0, 2) as [Record<string, unknown>, Record<string, unknown>];
    const saved = [a.imageDescription, b.imageDescription];
    a.imageDescription = "changed a";
    b.imageDescription = "changed b";
    proxy.fault = (target, body) =>
      target === "PutItem" && body.includes(`"IMAGE#${String(b.imageId)}"`)
        ? { type: "ValidationException" }
        : undefined;
    const handed: string[][] = [];
    try {
      const r = await stack.sync(vm(scope), {
        store,
        onChanges: (changes) => void handed.push(changes.map((c) => `${c.kind} ${c.after.imageId}`)),
      });
      expect(r.scopes[0]).toMatchObject({ status: "failed", updated: 1, deprecated: 0 });
      expect(handed).toEqual([[`updated ${String(a.imageId)}`]]);
      expect((await store.getImage("zenlayer-vm", scope, String(a.imageId)))?.description).toBe("changed a");
    } finally {
      proxy.fault = undefined;
      [a.imageDescription, b.imageDescription] = saved;
    }
  });

  it("a pointer write that fails after the image writes: the image changes are still reported and handed over", async () => {
    const store = await proxiedStore();
    const api: ApiId = "tencent-cvm";
    const cfg = stack.config([api], () => ({ scopes: ["ap-singapore"] }));
    expect((await stack.sync(cfg, { store })).ok).toBe(true);
    const list = records(api, "ap-singapore");
    const newest = list.find((r) => r.ImageState === "NORMAL" && r.ImageType === "PUBLIC_IMAGE" && !r.ImageDeprecated);
    if (!newest) throw new Error("no public image");
    // A newer image of a line: its pointer moves to it.
    list.push({ ...newest, ImageId: "img-newer001", CreatedTime: "2030-01-01T00:00:00+00:00" });
    proxy.fault = (target, body) =>
      target === "PutItem" && body.includes('"PTR#') ? { type: "ValidationException" } : undefined;
    const handed: string[][] = [];
    try {
      const r = await stack.sync(cfg, {
        store,
        onChanges: (changes) => void handed.push(changes.map((c) => `${c.kind} ${c.after.imageId}`)),
      });
      expect(r.scopes[0]).toMatchObject({ status: "failed", added: 1 });
      expect(handed).toEqual([["added img-newer001"]]);
    } finally {
      proxy.fault = undefined;
      list.pop();
    }
  });
});

describe("fan-out workers keep a time budget and always let their holds go (defect 6)", () => {
  it("a worker near its deadline stops starting scopes, reports them, and a redelivery makes progress", async () => {
    const tableName = "adversity-worker";
    const store = createStore({ tableName, endpoint: stack.dynamo.endpoint, localCredentials: true });
    await store.ensureTable();
    const config = stack.config(["zenlayer-vm"], () => ({ scopes: ["FRA-A", "HKG-A", "LAX-A", "SIN-A"] }));
    Object.assign(process.env, {
      TABLE_NAME: tableName,
      IMAGE_SYNC_CONFIG: JSON.stringify(config),
      SYNC_RESERVE_MS: "120000",
      AWS_ENDPOINT_URL_DYNAMODB: stack.dynamo.endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
    });
    const { handler } = await import("../../../handlers/sync-worker.ts");
    const batch = {
      id: "b",
      account: "zenlayer-vm",
      scopes: ["FRA-A", "HKG-A", "LAX-A", "SIN-A"],
      estimatedSeconds: 1,
    };
    const message = { messageId: "m1", body: JSON.stringify({ runId: "20261201T000000Z-bbbbbb", batch }) };
    // Time enough for two scopes to start: the clock the worker reads runs out as they do.
    let left = 3;
    const tight = { getRemainingTimeInMillis: () => (left-- > 0 ? 600_000 : 100_000) };
    expect(await handler({ Records: [message] }, tight)).toEqual({ batchItemFailures: [] });
    const first = await store.listScopeStatuses("zenlayer-vm");
    expect(first.filter((s) => s.lastOutcome === "complete")).toHaveLength(2);
    expect(first.filter((s) => s.lastError?.code === "TIME_BUDGET")).toHaveLength(2);
    // The redelivered message (same run id) starts with the scopes the first delivery did not reach.
    left = 3;
    expect(await handler({ Records: [message] }, tight)).toEqual({ batchItemFailures: [] });
    const second = await store.listScopeStatuses("zenlayer-vm");
    expect(second.map((s) => [s.scope, s.lastCompleteAt !== null])).toEqual(
      ["FRA-A", "HKG-A", "LAX-A", "SIN-A"].map((scope) => [scope, true]),
    );
    // No hold outlives the invocations: an inline run takes every scope at once.
    const inline = await stack.sync(config, { store });
    expect(inline.scopes.map((s) => s.status)).toEqual(["complete", "complete", "complete", "complete"]);
    store.close();
  });
});
