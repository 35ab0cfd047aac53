// The commit stage of one scope (lib/sync/scope/commit.ts): the order of its writes, and what it records as
// they land, against a store that only notes the calls.
import { describe, expect, it } from "vitest";
import type { AccountConfig } from "../../../../lib/config.ts";
import { ImageSyncError } from "../../../../lib/errors.ts";
import { createLogger } from "../../../../lib/log.ts";
import type { Anomaly } from "../../../../lib/model.ts";
import type { Store } from "../../../../lib/store/store.ts";
import type { Change } from "../../../../lib/sync/diff.ts";
import type { PointerWrite } from "../../../../lib/sync/pointers.ts";
import { commitChanges } from "../../../../lib/sync/scope/commit.ts";
import { newProgress, type Scope, type ScopeContext } from "../../../../lib/sync/scope/context.ts";
import type { WritePlan } from "../../../../lib/sync/scope/decide-changes.ts";

const change = (imageId: string, kind: Change["kind"] = "added") =>
  ({ kind, before: null, after: { imageId } }) as unknown as Change;
const pointer = { before: null, after: {}, moved: true } as unknown as PointerWrite;
const anomaly = { wouldDeprecate: 12, knownImages: 20 } as unknown as Anomaly;
const ref = { runId: "r0", chunks: 1, count: 3 };

function setup(opts: { now?: number; failAfterFirstBatch?: boolean; dryRun?: boolean } = {}) {
  const calls: string[] = [];
  const store = {
    clearManifest: async () => void calls.push("clearManifest"),
    writeChanges: async (changes: readonly Change[], onWritten: (c: readonly Change[], n: number) => void) => {
      calls.push(`writeChanges ${changes.length}`);
      onWritten(changes.slice(0, 1), 1);
      if (opts.failAfterFirstBatch) throw new ImageSyncError("CONCURRENT_MODIFICATION", "changed behind our back");
      onWritten(changes.slice(1), 1);
      return 2;
    },
    writePointers: async (writes: readonly PointerWrite[]) => {
      calls.push(`writePointers ${writes.length}`);
      return writes.length;
    },
    putAnomaly: async () => void calls.push("putAnomaly"),
  } as unknown as Store;
  const ctx = {
    store,
    dryRun: opts.dryRun ?? false,
    now: () => opts.now ?? 1_000,
    leasedAt: 0,
    leaseMs: 16 * 60_000,
  } as unknown as ScopeContext;
  const scope = {
    account: { name: "a", api: "tencent-cvm" } as AccountConfig,
    name: "r",
    key: { account: "a", api: "tencent-cvm", provider: "tencent", scope: "r" },
    storeKey: { account: "a", scope: "r" },
    previous: undefined,
    log: createLogger({ level: "error" }),
    startMs: 0,
    counter: { requests: 0 },
  } as Scope;
  return { calls, ctx, scope, landed: newProgress(undefined).landed };
}

const plan = (over: Partial<WritePlan> = {}): WritePlan => ({
  apply: [change("i1"), change("i2", "deprecated")],
  pointers: [pointer],
  anomaly: null,
  status: {},
  ...over,
});

describe("commitChanges", () => {
  it("clears the manifest reference first, then writes images, pointers and the anomaly, recording each", async () => {
    const { calls, ctx, scope, landed } = setup();
    await commitChanges(ctx, scope, plan({ anomaly }), ref, landed);
    expect(calls).toEqual(["clearManifest", "writeChanges 2", "writePointers 1", "putAnomaly"]);
    expect(landed).toMatchObject({ writes: 3, pointerWrites: 1, pointersMoved: 1, manifestCleared: true });
    expect(landed.counts).toEqual({ added: 1, updated: 0, deprecated: 1, restored: 0 });
    expect(landed.written.map((c) => c.after.imageId)).toEqual(["i1", "i2"]);
  });

  it("writes nothing once the holds are about to lapse", async () => {
    const { calls, ctx, scope, landed } = setup({ now: 16 * 60_000 - 30_000 });
    await expect(commitChanges(ctx, scope, plan(), ref, landed)).rejects.toMatchObject({ code: "LEASE_LAPSED" });
    expect(calls).toEqual([]);
    expect(landed.manifestCleared).toBe(false);
  });

  it("keeps what landed when a write fails, and writes nothing after it", async () => {
    const { calls, ctx, scope, landed } = setup({ failAfterFirstBatch: true });
    await expect(commitChanges(ctx, scope, plan(), ref, landed)).rejects.toMatchObject({
      code: "CONCURRENT_MODIFICATION",
    });
    expect(calls).toEqual(["clearManifest", "writeChanges 2"]);
    expect(landed.written.map((c) => c.after.imageId)).toEqual(["i1"]);
    expect(landed).toMatchObject({ writes: 2, pointersMoved: 0 });
  });

  it("in a dry run counts what would be written and writes nothing", async () => {
    const { calls, ctx, scope, landed } = setup({ dryRun: true });
    await commitChanges(ctx, scope, plan({ anomaly }), ref, landed);
    expect(calls).toEqual([]);
    expect(landed.counts).toEqual({ added: 1, updated: 0, deprecated: 1, restored: 0 });
    expect(landed).toMatchObject({ written: [], writes: 0, pointersMoved: 1 });
  });

  it("leaves a manifest reference alone when there is nothing to write", async () => {
    const { calls, ctx, scope, landed } = setup();
    await commitChanges(ctx, scope, plan({ apply: [], pointers: [] }), ref, landed);
    expect(calls).toEqual(["writeChanges 0", "writePointers 0"]);
    expect(landed.manifestCleared).toBe(false);
  });
});
