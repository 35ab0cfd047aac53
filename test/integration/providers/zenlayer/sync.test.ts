// The engine end to end: Zenlayer dialects over real HTTP against the emulator, into dynalite.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiId } from "../../../../lib/model.ts";
import type { Store } from "../../../../lib/store/store.ts";
import { type Stack, startStack } from "../../../helpers/stack.ts";

const ZENLAYER: ApiId[] = ["zenlayer-bmc", "zenlayer-zec", "zenlayer-vm"];
let stack: Stack;
/** The store the first test synced twice; the drift test (next, before any test edits the catalogue) continues from it. */
let synced: Store | undefined;

beforeAll(async () => {
  stack = await startStack({ scale: 0.5 });
});
afterAll(async () => {
  await stack?.close();
});

const listing = (api: ApiId, scope: string) => {
  const records = stack.emulator.catalogue.get(api)?.get(scope);
  if (!records) throw new Error(`no ${api} ${scope} in the emulator catalogue`);
  return records;
};

describe("sync of every Zenlayer dialect", () => {
  it("first run stores everything as baseline with the minimum requests; second run changes and writes nothing", async () => {
    const store = await stack.freshStore();
    const config = stack.config(ZENLAYER);
    stack.emulator.stats.reset();
    const first = await stack.sync(config, { store });
    expect(first.ok).toBe(true);

    // Minimum requests: one DescribeZones per zone-scoped dialect, ceil(n/1000) per zone, one bmc call.
    let minimum = 0;
    let images = 0;
    for (const api of ZENLAYER) {
      const scopes = stack.emulator.catalogue.get(api) as Map<string, unknown[]>;
      if (api !== "zenlayer-bmc") minimum += 1;
      for (const records of scopes.values()) {
        // A listing of more than one page is swept twice on its first sync (lib/sync/confirm.ts).
        const pages = api === "zenlayer-bmc" ? 1 : Math.max(1, Math.ceil(records.length / 1000));
        minimum += pages > 1 ? 2 * pages : pages;
        images += records.length;
      }
    }
    const requests = first.scopes.reduce((n, s) => n + s.requests, 0);
    expect(stack.emulator.stats.total).toBe(minimum);
    // Scope rows count their own pages; the two DescribeZones calls belong to no scope.
    expect(requests).toBe(minimum - 2);
    expect(first.scopes.every((s) => s.status === "complete" && s.baseline)).toBe(true);
    expect(first.scopes.reduce((n, s) => n + s.added, 0)).toBe(images);
    // New images are written in BatchWriteItem requests of 25 (the account lease keeps other runs out), plus
    // one BatchWriteItem per scope for its manifest and the status that names it (one 300 KB chunk here).
    expect(first.scopes.reduce((n, s) => n + s.writes, 0)).toBe(
      first.scopes.reduce((n, s) => n + Math.ceil(s.added / 25) + 1, 0),
    );
    expect(store.stats.itemsWritten).toBe(images);

    const writesBefore = store.stats.writeRequests;
    const second = await stack.sync(config, { store });
    expect(second.ok).toBe(true);
    const changes = second.scopes.reduce((n, s) => n + s.added + s.updated + s.deprecated + s.restored, 0);
    expect(changes).toBe(0);
    expect(second.scopes.reduce((n, s) => n + s.writes, 0)).toBe(0);
    // Nothing but each account's lease, taken and let go with the run's record of its unchanged scopes.
    expect(store.stats.writeRequests - writesBefore).toBe(2 * config.accounts.length);
    // The statuses still say when each scope was last swept completely: now.
    const statuses = await store.listScopeStatuses();
    expect(statuses).toHaveLength(second.scopes.length);
    for (const s of statuses) expect(s).toMatchObject({ lastRunId: second.runId, lastOutcome: "complete" });
    expect(second.scopes.every((s) => !s.baseline)).toBe(true);
    synced = store;
  });

  it("drift between runs: exactly the added, removed and unusable images change", async () => {
    const store = synced ?? (await stack.freshStore());
    const config = stack.config(ZENLAYER);
    if (!synced) await stack.sync(config, { store });
    const drift = stack.emulator.drift({
      add: 7,
      remove: 5,
      unusable: 4,
      touch: 3,
      apis: ["zenlayer-zec", "zenlayer-vm"],
      seed: 99,
    });
    // A removed image that was already unusable (so already deprecated) is not deprecated again.
    const stateOf = async (i: { api: string; scope: string; imageId: string }) =>
      (await store.getImage(i.api, i.scope, i.imageId))?.state;
    const removedActive = (await Promise.all(drift.removed.map(stateOf))).filter((s) => s === "active").length;
    const r = await stack.sync(config, { store });
    expect(r.ok).toBe(true);
    const total = (k: "added" | "updated" | "deprecated" | "restored") => r.scopes.reduce((n, s) => n + s[k], 0);
    expect(total("added")).toBe(drift.added.length);
    expect(total("deprecated")).toBe(removedActive + drift.unusable.length);
    expect(total("updated")).toBe(drift.touched.length);
    expect(total("restored")).toBe(0);
    for (const gone of drift.removed) {
      // Account names equal API ids in the demo config.
      expect((await store.getImage(gone.api, gone.scope, gone.imageId))?.state).toBe("deprecated");
    }
  });

  it("sweeps a multi-page zone at pageSize 1000 with requests = ceil(n / 1000)", async () => {
    const store = await stack.freshStore();
    const n = listing("zenlayer-zec", "asia-east-1a").length;
    expect(n).toBeGreaterThan(1000);
    stack.emulator.stats.reset();
    const r = await stack.sync(
      stack.config(["zenlayer-zec"], () => ({ scopes: ["asia-east-1a"] })),
      { store },
    );
    expect(r.scopes).toHaveLength(1);
    // A first sync of more than one page is confirmed by a second sweep (lib/sync/confirm.ts).
    const numbers = Array.from({ length: Math.ceil(n / 1000) }, (_, i) => i + 1);
    expect(r.scopes[0]).toMatchObject({ status: "complete", fetched: n, requests: 2 * numbers.length });
    const pages = stack.emulator.stats.log.filter((l) => l.action === "DescribeImages");
    expect(pages.map((p) => p.pageNumber)).toEqual([...numbers, ...numbers]);
    expect((await store.listImages({ account: "zenlayer-zec", scope: "asia-east-1a" })).length).toBe(
      listing("zenlayer-zec", "asia-east-1a").filter(
        (r) => !["UNAVAILABLE", "FAILED", "DELETING"].includes(String(r.imageStatus)),
      ).length,
    );
  });

  it("a page that fails mid-sweep fails the scope and deprecates nothing; other scopes still sync", async () => {
    const store = await stack.freshStore();
    const config = stack.config(["zenlayer-zec"], () => ({ scopes: ["asia-east-1a", "na-west-1a"] }));
    await stack.sync(config, { store });
    const before = await store.listImages({ account: "zenlayer-zec", scope: "asia-east-1a", all: true });

    stack.emulator.inject({
      match: { api: "zenlayer-zec", scope: "asia-east-1a", pageNumber: 2 },
      times: Number.POSITIVE_INFINITY,
      action: { type: "failure", failure: "internal" },
    });
    // Meanwhile the provider drops images from page 1: a partial sweep must not read that as deprecation.
    listing("zenlayer-zec", "asia-east-1a").splice(0, 5);
    try {
      const r = await stack.sync(config, { store });
      expect(r.ok).toBe(false);
      const failed = r.scopes.find((s) => s.scope === "asia-east-1a");
      expect(failed).toMatchObject({ status: "failed", deprecated: 0, writes: 0 });
      expect(failed?.error?.code).toBe("INTERNAL_SERVER_ERROR");
      expect(failed?.error?.message).toMatch(/request T[0-9A-F-]+/);
      expect(r.scopes.find((s) => s.scope === "na-west-1a")?.status).toBe("complete");
      const after = await store.listImages({ account: "zenlayer-zec", scope: "asia-east-1a", all: true });
      expect(after).toEqual(before);
      const status = await store.getScopeStatus("zenlayer-zec", "asia-east-1a");
      expect(status).toMatchObject({ lastOutcome: "failed", lastError: { code: "INTERNAL_SERVER_ERROR" } });
      expect(status?.lastCompleteAt).not.toBeNull();
    } finally {
      stack.emulator.clearFaults();
    }
  });

  it("an image removed between page 1 and page 2 shifts the offset without a false deprecation", async () => {
    const store = await stack.freshStore();
    const config = stack.config(["zenlayer-zec"], () => ({ scopes: ["asia-east-1a"] }));
    await stack.sync(config, { store });
    const records = listing("zenlayer-zec", "asia-east-1a");
    const removedId = String(records[10]?.imageId);
    const shiftedId = String(records[1000]?.imageId); // moves from page 2 to page 1 once one image goes
    stack.emulator.inject({
      match: { api: "zenlayer-zec", scope: "asia-east-1a", pageNumber: 2 },
      action: {
        type: "mutate",
        apply: (catalogue) => catalogue.get("zenlayer-zec")?.get("asia-east-1a")?.splice(10, 1),
      },
    });
    const r = await stack.sync(config, { store });
    expect(r.scopes[0]).toMatchObject({ status: "complete", deprecated: 1, added: 0 });
    const removed = await store.getImage("zenlayer-zec", "asia-east-1a", removedId);
    expect(removed).toMatchObject({ deprecationReason: "missing", state: "deprecated", available: false, rev: 2 });
    // Deprecated in place (the sync reads images back without their raw record): the raw record is kept.
    expect(removed?.raw.imageId).toBe(removedId);
    expect(removed?.name).toBeTruthy();
    expect((await store.getImage("zenlayer-zec", "asia-east-1a", shiftedId))?.state).toBe("active");
  });

  it("a status going to UNAVAILABLE deprecates the image with reason status", async () => {
    const store = await stack.freshStore();
    const config = stack.config(["zenlayer-vm"], () => ({ scopes: ["FRA-A"] }));
    await stack.sync(config, { store });
    const record = listing("zenlayer-vm", "FRA-A").find((r) => r.imageStatus === "AVAILABLE");
    if (!record) throw new Error("no AVAILABLE vm image");
    record.imageStatus = "UNAVAILABLE";
    const r = await stack.sync(config, { store });
    expect(r.scopes[0]).toMatchObject({ status: "complete", deprecated: 1, updated: 0, added: 0 });
    const stored = await store.getImage("zenlayer-vm", "FRA-A", String(record.imageId));
    expect(stored).toMatchObject({
      state: "deprecated",
      deprecationReason: "status",
      status: "UNAVAILABLE",
      available: false,
    });
    expect(stored?.deprecatedAt).toBeTruthy();
  });

  it("a malformed response fails the scope with a clear error naming the request id; nothing is lost", async () => {
    const store = await stack.freshStore();
    const config = stack.config(["zenlayer-vm"], () => ({ scopes: ["HKG-A"] }));
    await stack.sync(config, { store });
    const before = await store.listImages({ account: "zenlayer-vm", scope: "HKG-A", all: true });
    stack.emulator.inject({
      match: { api: "zenlayer-vm", scope: "HKG-A" },
      action: {
        type: "transform",
        apply: (json: { response: { dataSet: Array<Record<string, unknown>> } }) => {
          delete json.response.dataSet[3]?.imageId;
          return json;
        },
      },
    });
    const r = await stack.sync(config, { store });
    expect(r.scopes[0]?.status).toBe("failed");
    expect(r.scopes[0]?.error?.code).toBe("MALFORMED_RESPONSE");
    expect(r.scopes[0]?.error?.message).toMatch(/dataSet\[3\]\.imageId/);
    expect(r.scopes[0]?.error?.requestId).toMatch(/^T/);
    expect(await store.listImages({ account: "zenlayer-vm", scope: "HKG-A", all: true })).toEqual(before);

    stack.emulator.inject({ match: { api: "zenlayer-vm", scope: "HKG-A" }, action: { type: "truncate" } });
    const truncated = await stack.sync(config, { store });
    expect(truncated.scopes[0]?.error?.code).toBe("MALFORMED_RESPONSE");
    expect(await store.listImages({ account: "zenlayer-vm", scope: "HKG-A", all: true })).toEqual(before);
  });

  it("a bad signature is rejected by the emulator, not retried, and the secret appears nowhere", async () => {
    const store = await stack.freshStore();
    const wrong = "wrong-secret-value-123456";
    const config = stack.config(["zenlayer-zec"], () => ({
      scopes: ["na-west-1a"],
      credentials: { accessKeyId: stack.emulator.credentials.zenlayer.accessKeyId, accessKeySecret: wrong },
    }));
    const r = await stack.sync(config, { store });
    expect(r.scopes[0]).toMatchObject({ status: "failed", requests: 1 });
    expect(r.scopes[0]?.error?.code).toBe("AUTH_FAILURE_SIGNATURE_INVALID");
    expect(JSON.stringify(r)).not.toContain(wrong);
    expect(await store.listImages({ account: "zenlayer-zec", scope: "na-west-1a", all: true })).toEqual([]);
  });

  it("throttling with Retry-After is retried and the sweep completes", async () => {
    const store = await stack.freshStore();
    stack.emulator.inject({
      match: { api: "zenlayer-zec", scope: "sa-east-1a" },
      times: 2,
      action: { type: "failure", failure: "throttle", retryAfterSeconds: 0 },
    });
    const r = await stack.sync(
      stack.config(["zenlayer-zec"], () => ({ scopes: ["sa-east-1a"] })),
      { store },
    );
    expect(r.scopes[0]).toMatchObject({ status: "complete", requests: 3 });
  });
});
