// Fault paths end to end: each failure ends in a clear error and an intact catalogue, never in a false
// deprecation or lost images. Emulator over real HTTP, dynalite as the store.

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../../lib/log.ts";
import type { ApiId } from "../../../lib/model.ts";
import { imageItem } from "../../../lib/store/items.ts";
import type { Store } from "../../../lib/store/store.ts";
import { createStore } from "../../../lib/store/store.ts";
import { startDynamoProxy } from "../../helpers/dynamo-proxy.ts";
import { type Stack, startStack } from "../../helpers/stack.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ scale: 0.3 });
});
afterAll(async () => {
  await stack?.close();
});

const records = (api: ApiId, scope: string) => {
  const list = stack.emulator.catalogue.get(api)?.get(scope);
  if (!list) throw new Error(`no ${api} ${scope}`);
  return list;
};
const vm = (scope: string) => stack.config(["zenlayer-vm"], () => ({ scopes: [scope] }));

async function baseline(scope: string): Promise<Store> {
  const store = await stack.freshStore();
  const r = await stack.sync(vm(scope), { store });
  expect(r.ok).toBe(true);
  return store;
}

describe("provider faults", () => {
  it("5xx and connection resets are retried and the sweep completes", async () => {
    const store = await stack.freshStore();
    stack.emulator.inject({
      match: { api: "zenlayer-vm", scope: "FRA-A" },
      times: 1,
      action: { type: "failure", failure: "unavailable" },
    });
    stack.emulator.inject({ match: { api: "zenlayer-vm", scope: "FRA-A" }, times: 1, action: { type: "reset" } });
    const r = await stack.sync(vm("FRA-A"), { store });
    expect(r.scopes[0]).toMatchObject({ status: "complete", fetched: records("zenlayer-vm", "FRA-A").length });
    expect(r.scopes[0]?.requests).toBe(Math.ceil(records("zenlayer-vm", "FRA-A").length / 1000) + 2);
  });

  it("retries are bounded: a provider that keeps failing fails the scope with the last error", async () => {
    const store = await baseline("HKG-A");
    stack.emulator.inject({
      match: { api: "zenlayer-vm", scope: "HKG-A" },
      times: Number.POSITIVE_INFINITY,
      action: { type: "reset" },
    });
    try {
      const r = await stack.sync(vm("HKG-A"), { store });
      expect(r.scopes[0]).toMatchObject({ status: "failed", requests: 3, deprecated: 0 });
      expect(r.scopes[0]?.error?.code).toMatch(/^(ECONNRESET|UND_ERR_SOCKET|UND_ERR_CLOSED|NETWORK_ERROR)$/);
    } finally {
      stack.emulator.clearFaults();
    }
  });

  it("a totalCount that lies makes the scope incomplete after one more sweep; nothing changes", async () => {
    const store = await baseline("LAX-A");
    const before = await store.listImages({ account: "zenlayer-vm", scope: "LAX-A", all: true });
    stack.emulator.inject({
      match: { api: "zenlayer-vm", scope: "LAX-A" },
      times: Number.POSITIVE_INFINITY,
      action: {
        type: "transform",
        apply: (j: { response: { totalCount: number } }) => ({
          ...j,
          response: { ...j.response, totalCount: j.response.totalCount + 3 },
        }),
      },
    });
    records("zenlayer-vm", "LAX-A").splice(0, 2);
    try {
      const r = await stack.sync(vm("LAX-A"), { store });
      expect(r.scopes[0]).toMatchObject({ status: "incomplete", deprecated: 0, writes: 0 });
      expect(r.scopes[0]?.error?.message).toMatch(/inconsistent listing twice: .*totalCount/);
      expect(await store.listImages({ account: "zenlayer-vm", scope: "LAX-A", all: true })).toEqual(before);
    } finally {
      stack.emulator.clearFaults();
    }
  });

  it("pages that shift on every sweep give up as incomplete, not as deprecations", async () => {
    const cvm = stack.config(["tencent-cvm"], () => ({ scopes: ["ap-guangzhou"] }));
    const store = await stack.freshStore();
    expect((await stack.sync(cvm, { store })).ok).toBe(true);
    const list = records("tencent-cvm", "ap-guangzhou");
    expect(list.length).toBeGreaterThan(100);
    let n = 0;
    // Before every second page the provider lists one more image at the front, shifting the offsets.
    stack.emulator.inject({
      match: { api: "tencent-cvm", scope: "ap-guangzhou", pageNumber: 2 },
      times: Number.POSITIVE_INFINITY,
      action: { type: "mutate", apply: () => list.unshift({ ...(list[0] as object), ImageId: `img-shift${n++}` }) },
    });
    try {
      const r = await stack.sync(cvm, { store });
      expect(r.scopes[0]).toMatchObject({ status: "incomplete", deprecated: 0, added: 0, writes: 0 });
      expect(r.scopes[0]?.error?.code).toBe("SWEEP_INCOMPLETE");
    } finally {
      stack.emulator.clearFaults();
      list.splice(0, n);
    }
  });

  it("an empty listing with HTTP 200 is held as an anomaly, and applied only when the next sweep agrees", async () => {
    const store = await baseline("FRA-A");
    const anomalies: unknown[] = [];
    stack.emulator.inject({
      match: { api: "zenlayer-vm", scope: "FRA-A" },
      times: 1,
      action: {
        type: "transform",
        apply: (j: { response: object }) => ({ ...j, response: { ...j.response, totalCount: 0, dataSet: [] } }),
      },
    });
    const held = await stack.sync(vm("FRA-A"), { store, onAnomaly: (a) => void anomalies.push(a) });
    expect(held.scopes[0]).toMatchObject({ status: "complete", deprecated: 0, writes: 0 });
    expect(held.scopes[0]?.held).toBeGreaterThan(10);
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]).toMatchObject({ account: "zenlayer-vm", scope: "FRA-A", knownImages: held.scopes[0]?.held });
    expect((await store.listImages({ account: "zenlayer-vm", scope: "FRA-A" })).length).toBeGreaterThan(10);
    expect((await store.getScopeStatus("zenlayer-vm", "FRA-A"))?.heldDeprecations?.count).toBe(held.scopes[0]?.held);

    // The provider recovers: nothing was lost, the hold is dropped.
    const recovered = await stack.sync(vm("FRA-A"), { store });
    expect(recovered.scopes[0]).toMatchObject({ status: "complete", deprecated: 0, held: 0, writes: 0 });
    expect((await store.getScopeStatus("zenlayer-vm", "FRA-A"))?.heldDeprecations).toBeNull();

    // Two complete sweeps in a row that agree, but the provider still has every image when asked by id: the
    // listing lied twice, and nothing is deprecated.
    const empty = {
      type: "transform" as const,
      apply: (j: { response: object }) => ({ ...j, response: { ...j.response, totalCount: 0, dataSet: [] } }),
    };
    stack.emulator.inject({ match: { api: "zenlayer-vm", scope: "FRA-A", pageNumber: 1 }, times: 2, action: empty });
    const lied = await stack.sync(vm("FRA-A"), { store });
    const liedAgain = await stack.sync(vm("FRA-A"), { store });
    expect(lied.scopes[0]?.deprecated).toBe(0);
    expect(liedAgain.scopes[0]).toMatchObject({ status: "complete", deprecated: 0, held: 0 });

    // Two complete sweeps in a row that agree, and the images are really gone: the mass deprecation is applied.
    const saved = records("zenlayer-vm", "FRA-A").splice(0);
    try {
      const first = await stack.sync(vm("FRA-A"), { store });
      const second = await stack.sync(vm("FRA-A"), { store });
      expect(first.scopes[0]?.deprecated).toBe(0);
      expect(first.scopes[0]?.held).toBeGreaterThan(10);
      expect(second.scopes[0]?.deprecated).toBe(first.scopes[0]?.held);
    } finally {
      records("zenlayer-vm", "FRA-A").push(...saved);
    }
    expect(await store.listImages({ account: "zenlayer-vm", scope: "FRA-A" })).toEqual([]);
  });

  it("a clock-skewed request is rejected as expired and fails the scope without retries", async () => {
    const store = await stack.freshStore();
    stack.emulator.clockSkewMs = 10 * 60_000;
    try {
      // The zec demo account signs its requests (the vm one uses a Bearer token, which has no timestamp).
      const r = await stack.sync(
        stack.config(["zenlayer-zec"], () => ({ scopes: ["sa-east-1a"] })),
        { store },
      );
      expect(r.scopes[0]).toMatchObject({ status: "failed", requests: 1 });
      expect(r.scopes[0]?.error?.code).toBe("AUTH_FAILURE_SIGNATURE_EXPIRED");
    } finally {
      stack.emulator.clockSkewMs = 0;
    }
  });
});

describe("bad data", () => {
  it("unknown enum values are kept raw, the image neither usable nor deprecated", async () => {
    const store = await stack.freshStore();
    const rec = records("zenlayer-vm", "SIN-A").find((r) => r.imageStatus === "AVAILABLE");
    if (!rec) throw new Error("no available image");
    const was = rec.imageStatus;
    rec.imageStatus = "QUARANTINED";
    rec.imageType = "PARTNER_IMAGE";
    try {
      await stack.sync(vm("SIN-A"), { store });
      const img = await store.getImage("zenlayer-vm", "SIN-A", String(rec.imageId));
      expect(img).toMatchObject({
        status: "QUARANTINED",
        available: false,
        state: "active",
        imageType: "PARTNER_IMAGE",
      });
      expect(img?.raw.imageStatus).toBe("QUARANTINED");
    } finally {
      rec.imageStatus = was;
      rec.imageType = "PUBLIC_IMAGE";
    }
  });

  it("a raw record over the item budget is trimmed with a marker; odd unicode is preserved", async () => {
    const store = await stack.freshStore();
    const rec = records("zenlayer-vm", "SIN-A")[0] as Record<string, unknown>;
    const name = rec.imageName;
    rec.imageName = "Ubuntu \u{1F680} 22.04 — Ñandú ☃ 测试 \u200d";
    rec.hugeBlob = "x".repeat(300 * 1024);
    try {
      const r = await stack.sync(vm("SIN-A"), { store });
      expect(r.scopes[0]?.status).toBe("complete");
      const img = await store.getImage("zenlayer-vm", "SIN-A", String(rec.imageId));
      expect(img?.name).toBe(rec.imageName);
      expect(img?.raw._imageSyncTrimmed).toMatchObject({ droppedFields: ["hugeBlob"] });
      expect(img?.raw.imageId).toBe(rec.imageId);
    } finally {
      delete rec.hugeBlob;
      rec.imageName = name;
    }
  });
});

describe("runs that meet each other", () => {
  it("two runs at once never sweep the same scope; a crashed run's hold lapses", async () => {
    const store = await stack.freshStore();
    expect(await store.acquireScopes("zenlayer-vm", ["SIN-A"], "crashed-run", Date.now(), 60_000)).toEqual(["SIN-A"]);
    const blocked = await stack.sync(vm("SIN-A"), { store });
    expect(blocked.ok).toBe(false);
    expect(blocked.scopes).toEqual([
      expect.objectContaining({
        scope: "SIN-A",
        status: "skipped",
        error: expect.objectContaining({ code: "LEASE_HELD" }),
      }),
    ]);
    // Once the crashed run's lease has lapsed, the next run takes it.
    const later = await stack.sync(vm("SIN-A"), { store, now: () => Date.now() + 61_000 });
    expect(later.scopes[0]?.status).toBe("complete");
    // And releases it: an immediate run is not blocked.
    expect((await stack.sync(vm("SIN-A"), { store })).ok).toBe(true);
  });

  it("a concurrent writer's conditional-check failure stops the scope: never overwritten, never re-diffed", async () => {
    const store = await baseline("LAX-A");
    const list = records("zenlayer-vm", "LAX-A");
    const target = list[5] as Record<string, unknown>;
    target.imageDescription = "changed by the provider";
    const raw = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: stack.dynamo.endpoint,
        region: "us-east-1",
        credentials: { accessKeyId: "l", secretAccessKey: "l" },
      }),
    );
    let interfered = false;
    // Another writer touches the image between our read and our write (our store module, wrapped in this test).
    const racing: Store = {
      ...store,
      writeChanges: async (changes, onWritten) => {
        if (!interfered) {
          interfered = true;
          const current = await store.getImage("zenlayer-vm", "LAX-A", String(target.imageId));
          if (!current) throw new Error("missing");
          await raw.send(
            new PutCommand({
              TableName: store.tableName,
              Item: imageItem({ ...current, rev: current.rev + 1, description: "other writer" }),
            }),
          );
        }
        return store.writeChanges(changes, onWritten);
      },
    };
    try {
      // This sweep may be older than the other writer's: it stops, and leaves the other writer's version.
      const r = await stack.sync(vm("LAX-A"), { store: racing });
      expect(r.scopes[0]).toMatchObject({ status: "failed", updated: 0 });
      expect(r.scopes[0]?.error?.code).toBe("CONCURRENT_MODIFICATION");
      expect(await store.getImage("zenlayer-vm", "LAX-A", String(target.imageId))).toMatchObject({
        description: "other writer",
        rev: 2,
      });
      // The next run sweeps again and brings the image up to date.
      const next = await stack.sync(vm("LAX-A"), { store });
      expect(next.scopes[0]).toMatchObject({ status: "complete", updated: 1 });
      const img = await store.getImage("zenlayer-vm", "LAX-A", String(target.imageId));
      expect(img).toMatchObject({ description: "changed by the provider", rev: 3 });
    } finally {
      raw.destroy();
      target.imageDescription = null;
    }
  });

  it("a run out of time budget leaves scopes incomplete; the next run starts with them", async () => {
    const store = await stack.freshStore();
    const cfg = stack.config(["zenlayer-vm"]);
    let started = 0;
    const first = await stack.sync(cfg, { store, scopeConcurrency: 1, canStartScope: () => started++ < 2 });
    const skipped = first.scopes.filter((s) => s.error?.code === "TIME_BUDGET").map((s) => s.scope);
    expect(skipped).toHaveLength(2);
    expect(first.scopes.filter((s) => s.status === "incomplete")).toHaveLength(2);
    // The order scopes start in: each first reads its stored images (no manifest yet) or its page index.
    const order: string[] = [];
    const watched: Store = {
      ...store,
      loadScope: (k) => {
        order.push(k.scope);
        return store.loadScope(k);
      },
      loadPageIndex: (k, ref) => {
        order.push(k.scope);
        return store.loadPageIndex(k, ref);
      },
    };
    await stack.sync(cfg, { store: watched, scopeConcurrency: 1 });
    expect(order.slice(0, 2).sort()).toEqual(skipped.sort());
    expect(order).toHaveLength(4);
  });
});

describe("DynamoDB faults", () => {
  it("unprocessed batch items are resent and throttled requests retried: everything is stored once", async () => {
    const proxy = await startDynamoProxy(stack.dynamo.endpoint);
    const store = createStore({ tableName: `proxy-${Date.now()}`, endpoint: proxy.endpoint, localCredentials: true });
    try {
      await store.ensureTable();
      proxy.unprocessedBatches = 6;
      proxy.throttles = 3;
      const r = await stack.sync(vm("HKG-A"), { store });
      expect(r.scopes[0]?.status).toBe("complete");
      expect(proxy.seen.unprocessed).toBeGreaterThan(0);
      expect(proxy.seen.throttled).toBe(3);
      const n = records("zenlayer-vm", "HKG-A").length;
      expect((await store.listImages({ account: "zenlayer-vm", scope: "HKG-A", all: true })).length).toBe(n);
      expect(store.stats.itemsWritten).toBe(n);
    } finally {
      store.close();
      await proxy.close();
    }
  });
});

describe("secrets", () => {
  it("no log line, error or report contains a credential or a fragment of one, whatever fails", async () => {
    const store = await stack.freshStore();
    // A logger that does NOT redact: what the code itself writes is what is checked.
    const lines: string[] = [];
    const log = createLogger({ level: "debug", format: "json", write: (l) => lines.push(l) });
    const { zenlayer, tencent } = stack.emulator.credentials;
    const credentials = [
      zenlayer.accessKeyId,
      zenlayer.accessKeySecret,
      zenlayer.token,
      tencent.secretId,
      tencent.secretKey,
    ];
    stack.emulator.inject({
      match: { api: "zenlayer-zec" },
      times: 3,
      action: { type: "failure", failure: "throttle", retryAfterSeconds: 0 },
    });
    stack.emulator.inject({ match: { api: "zenlayer-vm" }, times: 1, action: { type: "failure", failure: "auth" } });
    stack.emulator.inject({ match: { api: "tencent-cvm" }, times: 1, action: { type: "failure", failure: "auth" } });
    stack.emulator.inject({
      match: { api: "tencent-cvm-v2" },
      times: Number.POSITIVE_INFINITY,
      action: { type: "reset" },
    });
    stack.emulator.inject({
      match: { api: "tencent-image-v2" },
      times: 1,
      action: { type: "failure", failure: "expired" },
    });
    try {
      const r = await stack.sync(
        stack.config(["zenlayer-zec", "zenlayer-vm", "tencent-cvm", "tencent-cvm-v2", "tencent-image-v2"], (a) => ({
          scopes: {
            "zenlayer-zec": ["sa-east-1a"],
            "zenlayer-vm": ["SIN-A"],
            "tencent-cvm": ["ap-singapore"],
            "tencent-cvm-v2": ["bj"],
            "tencent-image-v2": ["na-siliconvalley"],
          }[a.api as string],
        })),
        { store, log },
      );
      expect(r.scopes.filter((x) => x.status === "failed").length).toBe(5);
      const everything = `${lines.join("\n")}\n${JSON.stringify(r)}`;
      expect(lines.length).toBeGreaterThan(0);
      for (const secret of credentials) {
        expect(secret.length).toBeGreaterThanOrEqual(16);
        for (let i = 0; i + 8 <= secret.length; i++) expect(everything).not.toContain(secret.slice(i, i + 8));
      }
    } finally {
      stack.emulator.clearFaults();
    }
  });
});
