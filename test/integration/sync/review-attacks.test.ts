// Attacks from an adversarial review of the issue-14 fixes (defects 1-6, 8): each test drives a real sync (the
// emulator over HTTP, dynalite behind the fault-injecting proxy) into a situation where the contract broke: a
// write DynamoDB applied but answered with a 5xx (the SDK retries it), a BatchWriteItem partly processed, a hold
// that lapsed, a clock an hour ahead, a lease of an older version, a consumer that throws. Each failed before the
// commit that brought it here.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HttpClient } from "../../../lib/providers/http.ts";
import { LEASE_PK, liveHolds } from "../../../lib/store/items.ts";
import type { Store } from "../../../lib/store/store.ts";
import {
  type DynamoProxy,
  INTERNAL_ERROR as internalError,
  type ProxiedStack,
  startProxiedStack,
} from "../../helpers/dynamo-proxy.ts";
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
const records = (scope: string) => {
  const list = stack.emulator.catalogue.get("zenlayer-vm")?.get(scope);
  if (!list) throw new Error(`no zenlayer-vm ${scope}`);
  return list;
};
const vm = (...scopes: string[]) => stack.config(["zenlayer-vm"], () => ({ scopes }));
const leaseItem = (store: Store) => store.getItem({ PK: LEASE_PK, SK: "zenlayer-vm" });

describe("holds: a write DynamoDB applied but answered with a 5xx (the SDK retries it)", () => {
  it("an acquire that landed before its 500 does not leave the run's own hold behind as another run's", async () => {
    const store = await proxiedStore();
    expect((await stack.sync(vm("FRA-A"), { store })).ok).toBe(true);
    let once = true;
    proxy.hook = (t, body) => {
      if (t !== "UpdateItem" || !body.includes('":hold"') || !once) return undefined;
      once = false;
      return { reply: () => internalError };
    };
    let r: Awaited<ReturnType<Stack["sync"]>>;
    try {
      r = await stack.sync(vm("FRA-A"), { store });
    } finally {
      proxy.hook = undefined;
    }
    // The hold is this run's: it should sweep the scope and let the hold go.
    expect({
      swept: r.scopes.map((s) => [s.scope, s.status, s.error?.code ?? null]),
      liveAfterRun: [...liveHolds(await leaseItem(store), Date.now()).keys()],
    }).toEqual({ swept: [["FRA-A", "complete", null]], liveAfterRun: [] });
  });

  it("an image write that landed before its 500 is reported and handed over, not lost as a conflict", async () => {
    const store = await proxiedStore();
    const scope = "SIN-A";
    expect((await stack.sync(vm(scope), { store })).ok).toBe(true);
    const record = records(scope)[0] as Record<string, unknown>;
    const saved = record.imageDescription;
    record.imageDescription = "changed by the provider";
    let once = true;
    proxy.hook = (t, body) => {
      if (t !== "PutItem" || !body.includes(`"IMAGE#${String(record.imageId)}"`) || !once) return undefined;
      once = false;
      return { reply: () => internalError };
    };
    const handed: string[] = [];
    try {
      const r = await stack.sync(vm(scope), {
        store,
        onChanges: (changes) => void handed.push(...changes.map((c) => `${c.kind} ${c.after.imageId}`)),
      });
      // The write is in the table ...
      expect((await store.getImage("zenlayer-vm", scope, String(record.imageId)))?.description).toBe(
        "changed by the provider",
      );
      // ... so it must be in the report and with the consumer (the next run sees nothing to change: last chance).
      expect({ updated: r.scopes[0]?.updated, handed }).toEqual({
        updated: 1,
        handed: [`updated ${String(record.imageId)}`],
      });
    } finally {
      proxy.hook = undefined;
      record.imageDescription = saved;
    }
  });
});

describe("writes that land before the failure are reported (defect 8)", () => {
  it("a batch of new images partly processed, the rest unprocessed to the end: the processed ones are reported", async () => {
    const store = await proxiedStore();
    const scope = "HKG-A";
    expect((await stack.sync(vm(scope), { store })).ok).toBe(true);
    const list = records(scope);
    const template = list[0] as Record<string, unknown>;
    const fresh = Array.from({ length: 10 }, (_, i) => ({ ...template, imageId: `img-review-${i}` }));
    list.push(...fresh);
    let calls = 0;
    // DynamoDB under a hot partition: the first request processes half, every resend processes nothing.
    proxy.hook = (t, body) => {
      if (t !== "BatchWriteItem" || !body.includes('"IMAGE#img-review-')) return undefined;
      const parsed = JSON.parse(body) as { RequestItems: Record<string, unknown[]> };
      const [table, items] = Object.entries(parsed.RequestItems)[0] as [string, unknown[]];
      if (calls++ === 0) {
        const keep = items.slice(0, 5);
        return {
          send: JSON.stringify({ RequestItems: { [table]: keep } }),
          reply: () => ({ status: 200, body: JSON.stringify({ UnprocessedItems: { [table]: items.slice(5) } }) }),
        };
      }
      return {
        send: null,
        reply: () => ({ status: 200, body: JSON.stringify({ UnprocessedItems: { [table]: items } }) }),
      };
    };
    const handed: string[] = [];
    try {
      const r = await stack.sync(vm(scope), {
        store,
        onChanges: (changes) => void handed.push(...changes.map((c) => `${c.kind} ${c.after.imageId}`)),
      });
      expect(r.scopes[0]?.status).toBe("failed");
      const landed = (await store.listImages({ account: "zenlayer-vm", scope, all: true }))
        .filter((i) => i.imageId.startsWith("img-review-"))
        .map((i) => `added ${i.imageId}`)
        .sort();
      expect(landed).toHaveLength(5);
      expect({ added: r.scopes[0]?.added, handed: [...handed].sort() }).toEqual({ added: 5, handed: landed });
    } finally {
      proxy.hook = undefined;
      list.splice(list.length - fresh.length, fresh.length);
    }
  });
});

describe("no hold outlives its run (defect 4/6)", () => {
  it("an account of more than 50 scopes whose second lease update fails lets the first 50 holds go", {
    timeout: 120_000,
  }, async () => {
    const store = await proxiedStore();
    const fakes = Array.from({ length: 58 }, (_, i) => `ZZ-${String(i).padStart(3, "0")}`);
    // The second chunk of holds (scopes 50..59) cannot be taken: DynamoDB keeps answering 500.
    proxy.hook = (t, body) =>
      t === "UpdateItem" && body.includes('":hold"') && body.includes('"S#ZZ-050"')
        ? { send: null, reply: () => internalError }
        : undefined;
    try {
      const r = await stack.sync(vm("FRA-A", "HKG-A", ...fakes), { store });
      expect(r.ok).toBe(false);
    } finally {
      proxy.hook = undefined;
    }
    // The run is over: none of its holds may be live.
    expect([...liveHolds(await leaseItem(store), Date.now()).keys()].sort()).toEqual([]);
    const next = await stack.sync(vm("FRA-A", "HKG-A"), { store });
    expect(next.scopes.map((s) => [s.scope, s.status])).toEqual([
      ["FRA-A", "complete"],
      ["HKG-A", "complete"],
    ]);
  });
});

describe("a run whose hold lapsed writes nothing for that scope (README, Failure handling)", () => {
  it("LEASE_LAPSED leaves the status the scope's new owner wrote", async () => {
    const store = await proxiedStore();
    const scope = "LAX-A";
    expect((await stack.sync(vm(scope), { store })).ok).toBe(true);
    const record = records(scope)[0] as Record<string, unknown>;
    const saved = record.imageDescription;
    record.imageDescription = "changed before both runs";
    // Run A is held up on its first provider request until its hold has lapsed and run B has synced the scope.
    let open: () => void = () => {};
    const gate = new Promise<void>((r) => {
      open = r;
    });
    let reached: () => void = () => {};
    const blocked = new Promise<void>((r) => {
      reached = r;
    });
    const gated: HttpClient = {
      send: async (req) => {
        reached();
        await gate;
        return stack.http.send(req);
      },
      close: () => Promise.resolve(),
    };
    try {
      const a = stack.sync(vm(scope), { store, http: gated, leaseMs: 1_500 });
      await blocked;
      await new Promise((r) => setTimeout(r, 1_700));
      const b = await stack.sync(vm(scope), { store });
      expect(b.scopes[0]).toMatchObject({ status: "complete", updated: 1 });
      const afterB = await store.getScopeStatus("zenlayer-vm", scope);
      open();
      const ra = await a;
      expect(ra.scopes[0]?.error?.code).toBe("LEASE_LAPSED");
      const status = await store.getScopeStatus("zenlayer-vm", scope);
      expect({ lastRunId: status?.lastRunId, manifest: status?.manifest }).toEqual({
        lastRunId: b.runId,
        manifest: afterB?.manifest,
      });
    } finally {
      open();
      record.imageDescription = saved;
    }
  });
});

describe("sweep records (W#) and clock jumps", () => {
  it("a run whose clock is an hour ahead does not hide the failures of the runs after it", async () => {
    const store = await proxiedStore();
    const scope = "FRA-A";
    expect((await stack.sync(vm(scope), { store })).ok).toBe(true);
    // Steady: recorded on the lease (W#) at the jumped clock's time.
    const ahead = await stack.sync(vm(scope), { store, now: () => Date.now() + 3_600_000 });
    expect(ahead.scopes[0]).toMatchObject({ status: "complete", writes: 0 });
    // The next run, on a correct clock, fails the scope.
    stack.emulator.inject({
      match: { api: "zenlayer-vm", scope },
      times: 20,
      action: { type: "failure", failure: "auth" },
    });
    try {
      const failed = await stack.sync(vm(scope), { store });
      expect(failed.scopes[0]?.status).toBe("failed");
      const status = await store.getScopeStatus("zenlayer-vm", scope);
      expect({ outcome: status?.lastOutcome, runId: status?.lastRunId }).toEqual({
        outcome: "failed",
        runId: failed.runId,
      });
    } finally {
      stack.emulator.clearFaults();
    }
  });
});

describe("an upgrade from the old lease shape (owner, leaseUntil on one item per account or per batch)", () => {
  it("a live lease of an old-version worker (keyed by its batch id) keeps the new inline run off its scopes", async () => {
    const store = await proxiedStore();
    // An old-version worker is sweeping batch b-7f3a (FRA-A among its scopes) as the new version deploys.
    const { DynamoDBClient } = await import("@aws-sdk/client-dynamodb");
    const { DynamoDBDocumentClient, PutCommand, UpdateCommand } = await import("@aws-sdk/lib-dynamodb");
    const doc = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        region: "us-east-1",
        endpoint: stack.dynamo.endpoint,
        credentials: { accessKeyId: "local", secretAccessKey: "local" },
      }),
    );
    await doc.send(
      new PutCommand({
        TableName: store.tableName,
        Item: {
          PK: LEASE_PK,
          SK: "b-7f3a",
          itemType: "lease",
          owner: "20261201T000000Z-0ld000",
          leaseUntil: Date.now() + 10 * 60_000,
        },
      }),
    );
    const r = await stack.sync(vm("FRA-A"), { store });
    // And the other way round: the old version's acquire (its exact UpdateItem) while a new run holds FRA-A.
    const taken = await store.acquireScopes("zenlayer-vm", ["HKG-A"], "new-owner", Date.now(), 10 * 60_000);
    expect(taken).toEqual(["HKG-A"]);
    let oldTookAccount = true;
    try {
      await doc.send(
        new UpdateCommand({
          TableName: store.tableName,
          Key: { PK: LEASE_PK, SK: "zenlayer-vm" },
          UpdateExpression: "SET itemType = :type, #owner = :owner, leaseUntil = :until, expiresAt = :expires",
          ConditionExpression: "attribute_not_exists(#owner) OR leaseUntil < :now OR #owner = :owner",
          ExpressionAttributeNames: { "#owner": "owner" },
          ExpressionAttributeValues: {
            ":type": "lease",
            ":owner": "20261201T000000Z-0ld001",
            ":until": Date.now() + 16 * 60_000,
            ":now": Date.now(),
            ":expires": Math.floor(Date.now() / 1000) + 86_400,
          },
        }),
      );
    } catch {
      oldTookAccount = false;
    }
    doc.destroy();
    expect({ newRunOnOldWorkersScope: r.scopes[0]?.status, oldRunTookHeldAccount: oldTookAccount }).toEqual({
      newRunOnOldWorkersScope: "skipped",
      oldRunTookHeldAccount: false,
    });
  });
});

describe("a consumer that fails (onChanges throws)", () => {
  it("the scope is reported once, and its committed status is not overwritten as failed", async () => {
    const store = await proxiedStore();
    const scope = "SIN-A";
    expect((await stack.sync(vm(scope), { store })).ok).toBe(true);
    const record = records(scope)[1] as Record<string, unknown>;
    const saved = record.imageDescription;
    record.imageDescription = "changed for the consumer";
    let calls = 0;
    try {
      const r = await stack.sync(vm(scope), {
        store,
        onChanges: () => {
          calls++;
          throw new Error("consumer down");
        },
      });
      const status = await store.getScopeStatus("zenlayer-vm", scope);
      expect({ entries: r.scopes.length, calls, outcome: status?.lastOutcome }).toEqual({
        entries: 1,
        calls: 1,
        outcome: "complete",
      });
    } finally {
      record.imageDescription = saved;
    }
  });
});
