import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { marshall } from "@aws-sdk/util-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertLine } from "../../../lib/events/alert.ts";
import { changeEventFromRecord, type StreamRecord } from "../../../lib/events/change-event.ts";
import { type delivered, localPublisher, streamRecordsFor } from "../../../lib/events/local.ts";
import { processStreamRecords } from "../../../lib/events/process.ts";
import { eventBridgePublisher } from "../../../lib/events/publish.ts";
import type { FetchedImage, StoredImage } from "../../../lib/model.ts";
import { imageItem, statusItem } from "../../../lib/store/items.ts";
import { diffScope } from "../../../lib/sync/diff.ts";
import { withRunChanges } from "../../../lib/sync/run-changes.ts";
import { type LocalEventBridge, startLocalEventBridge } from "../../helpers/eventbridge.ts";
import { fetchedImage } from "../../helpers/images.ts";

const key = { account: "zl", api: "zenlayer-zec" as const, provider: "zenlayer" as const, scope: "asia-east-1a" };
const image = (id: string, over: Partial<FetchedImage> = {}): FetchedImage =>
  fetchedImage(id, {
    name: "Ubuntu Server 20.04 LTS",
    osVersion: "20.04",
    architecture: null,
    raw: { imageId: id, big: "x".repeat(50) },
    ...over,
  });

/** Runs the pure diff the way the sync does and returns the written images, as the store would hold them. */
function history() {
  const base = diffScope({
    key,
    stored: new Map(),
    fetched: [image("a"), image("b"), image("c")],
    baseline: true,
    now: "2026-01-01T00:00:00.000Z",
    runId: "run1",
  });
  const stored = new Map(base.changes.map((c) => [c.after.imageId, c.after]));
  const next = diffScope({
    key,
    stored,
    fetched: [image("a", { status: "UNAVAILABLE", available: false, unusable: "status" }), image("c"), image("d")],
    baseline: false,
    now: "2026-01-02T00:00:00.000Z",
    runId: "run2",
  });
  return { base, next };
}

const m = (item: Record<string, unknown>) => marshall(item, { removeUndefinedValues: true });
const rec = (
  eventName: string,
  seq: string,
  next?: StoredImage | Record<string, unknown>,
  prev?: StoredImage,
): StreamRecord => ({
  eventName,
  dynamodb: {
    SequenceNumber: seq,
    ...(next ? { NewImage: m("itemType" in next ? next : imageItem(next as StoredImage)) } : {}),
    ...(prev ? { OldImage: m(imageItem(prev)) } : {}),
  },
});

describe("stream records to change events", () => {
  const { base, next } = history();
  const byId = (id: string) => next.changes.find((c) => c.after.imageId === id);

  it("INSERT of a new image after the baseline is Image Added", () => {
    const c = byId("d");
    const e = changeEventFromRecord(rec("INSERT", "1", c?.after));
    expect(e?.detailType).toBe("Image Added");
    expect(e?.detail).toMatchObject({
      changeType: "added",
      account: "zl",
      scope: "asia-east-1a",
      imageId: "d",
      reason: null,
      before: null,
      runId: "run2",
    });
    expect(e?.detail.after).not.toHaveProperty("raw");
  });

  it("MODIFY to an unusable status is Image Deprecated with reason status; a missing image with reason missing", () => {
    const a = byId("a");
    const e = changeEventFromRecord(rec("MODIFY", "2", a?.after, a?.before ?? undefined));
    expect(e?.detailType).toBe("Image Deprecated");
    expect(e?.detail).toMatchObject({
      reason: "status",
      before: { state: "active" },
      after: { state: "deprecated", status: "UNAVAILABLE" },
    });
    const b = byId("b");
    const missing = changeEventFromRecord(rec("MODIFY", "3", b?.after, b?.before ?? undefined));
    expect(missing?.detail.reason).toBe("missing");
    expect(missing?.detail.message).toBe(
      "Deprecated: Ubuntu Server 20.04 LTS (b) in zl asia-east-1a: missing from listing",
    );
  });

  it("baseline writes, REMOVE records, non-image items and rewrites of the same change emit nothing", () => {
    const first = base.changes[0]?.after as StoredImage;
    expect(changeEventFromRecord(rec("INSERT", "4", first))).toBeNull();
    expect(
      changeEventFromRecord({ eventName: "REMOVE", dynamodb: { SequenceNumber: "5", OldImage: m(imageItem(first)) } }),
    ).toBeNull();
    const status = statusItem({
      account: "zl",
      api: "zenlayer-zec",
      scope: "s",
      lastRunId: "r",
      lastAttemptAt: "t",
      lastOutcome: "complete",
      lastCompleteAt: "t",
      baselineAt: "t",
      lastError: null,
      counts: { active: 1, deprecated: 0 },
    });
    expect(changeEventFromRecord(rec("MODIFY", "6", status))).toBeNull();
    const d = byId("d")?.after as StoredImage;
    expect(changeEventFromRecord(rec("MODIFY", "7", d, d))).toBeNull();
  });

  it("the same change delivered twice, in other batches, is the same event; any other change another id", async () => {
    // As the engine writes them; threshold 1 so that a batch-dependent `digested` would show.
    const stamped = withRunChanges(next.changes);
    const a = stamped.find((c) => c.after.imageId === "a") as (typeof stamped)[number];
    const others = stamped.filter((c) => c !== a);
    const detailsOf = async (records: StreamRecord[]) => {
      const entries: Array<{ DetailType?: string; Detail?: string }> = [];
      await processStreamRecords(records, {
        digestThreshold: 1,
        publish: async (e) => {
          entries.push(...e);
          return e.map(() => true);
        },
      });
      return entries.filter((e) => JSON.parse(e.Detail ?? "{}").imageId === "a").map((e) => e.Detail);
    };
    const alone = await detailsOf([rec("MODIFY", "8", a.after, a.before ?? undefined)]);
    const redelivered = await detailsOf([
      ...others.map((c, i) => rec(c.before ? "MODIFY" : "INSERT", `9${i}`, c.after, c.before ?? undefined)),
      rec("MODIFY", "99", a.after, a.before ?? undefined),
    ]);
    expect(alone).toHaveLength(1);
    expect(redelivered).toEqual(alone);

    // Each identity field (the revision written included) on its own changes the id; nothing else does.
    const after = a.after;
    const variants: StoredImage[] = [
      { ...after, account: "zl2" },
      { ...after, scope: "asia-east-1b" },
      { ...after, imageId: "a2" },
      { ...after, lastChange: { ...after.lastChange, kind: "updated" } },
      { ...after, lastChange: { ...after.lastChange, runId: "run3" } },
      // Another revision is another write: a redelivered worker message writing the image again in the run.
      { ...after, rev: after.rev + 7 },
    ];
    const ids = [after, ...variants].map(
      (v) => changeEventFromRecord(rec("MODIFY", "10", v, a.before ?? undefined))?.detail.eventId,
    );
    expect(new Set(ids).size).toBe(7);
    const noise = { ...after, lastChangedAt: "2030-01-01T00:00:00.000Z", description: "other" };
    expect(changeEventFromRecord(rec("MODIFY", "11", noise, a.before ?? undefined))?.detail.eventId).toBe(ids[0]);
  });

  it("alert lines read as a sentence", () => {
    const c = byId("d");
    const e = changeEventFromRecord(rec("INSERT", "1", c?.after));
    expect(alertLine(e!.detail)).toBe("Added: Ubuntu Server 20.04 LTS (d) in zl asia-east-1a");
  });
});

describe("publishing through the real EventBridge client", () => {
  let bridge: LocalEventBridge;
  let client: EventBridgeClient;
  beforeAll(async () => {
    bridge = await startLocalEventBridge();
    client = new EventBridgeClient({
      endpoint: bridge.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "x", secretAccessKey: "y" },
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    client.destroy();
    await bridge.close();
  });

  /** n added-image changes of one run, as stream records. */
  function addedRecords(n: number, runId = "runX") {
    const fetched = Array.from({ length: n }, (_, i) => image(`img-${i}`));
    const r = diffScope({ key, stored: new Map(), fetched, baseline: false, now: "2026-02-01T00:00:00.000Z", runId });
    // As the engine writes them: stamped with what the scope's run adds up to.
    return streamRecordsFor(withRunChanges(r.changes));
  }

  it("sends in chunks of 10, resends entries that came back with an ErrorCode, and reports nothing failed", async () => {
    bridge.calls.length = 0;
    bridge.accepted.length = 0;
    bridge.failWhen = (e, seen) => seen === 0 && JSON.parse(e.Detail).imageId.endsWith("3");
    const records = addedRecords(23);
    const publish = eventBridgePublisher({ client, busName: "bus", sleep: async () => {} });
    const r = await processStreamRecords(records, { publish, digestThreshold: 100 });
    expect(r.batchItemFailures).toEqual([]);
    expect(bridge.calls.slice(0, 3).map((c) => c.length)).toEqual([10, 10, 3]);
    // img-3 and img-13 failed once and were resent alone.
    expect(bridge.calls[3]?.map((e) => JSON.parse(e.Detail).imageId).sort()).toEqual(["img-13", "img-3"]);
    expect(new Set(bridge.accepted.map((e) => JSON.parse(e.Detail).eventId)).size).toBe(23);
    expect(bridge.accepted.every((e) => e.EventBusName === "bus" && e.Source === "image-sync")).toBe(true);
  });

  it("reports exactly the records it could not publish, by SequenceNumber", async () => {
    bridge.failWhen = (e) => ["img-2", "img-7"].includes(JSON.parse(e.Detail).imageId);
    const records = addedRecords(12);
    const publish = eventBridgePublisher({ client, busName: "bus", attempts: 3, sleep: async () => {} });
    const r = await processStreamRecords(records, { publish, digestThreshold: 100 });
    const expected = [records[2], records[7]].map((x) => ({ itemIdentifier: x?.dynamodb?.SequenceNumber }));
    expect(r.batchItemFailures).toEqual(expected);
  });

  it("a failing PutEvents call fails its whole chunk after the retries", async () => {
    bridge.failWhen = () => false;
    bridge.failCalls = true;
    try {
      const records = addedRecords(3);
      const publish = eventBridgePublisher({ client, busName: "bus", attempts: 2, sleep: async () => {} });
      const r = await processStreamRecords(records, { publish, digestThreshold: 100 });
      expect(r.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.map((x) => x.dynamodb?.SequenceNumber));
    } finally {
      bridge.failCalls = false;
    }
  });

  it("many changes of one scope in one run become one digest alert besides the per-image events", async () => {
    bridge.failWhen = () => false;
    bridge.accepted.length = 0;
    const records = addedRecords(40, "bigrun");
    const publish = eventBridgePublisher({ client, busName: "bus", sleep: async () => {} });
    const r = await processStreamRecords(records, { publish, digestThreshold: 25 });
    expect(r.digests).toHaveLength(1);
    expect(r.digests[0]?.message).toMatch(
      /^image-sync run bigrun: 40 image changes \(40 added\) in zl asia-east-1a \(40\)$/,
    );
    const digests = bridge.accepted.filter((e) => e.DetailType === "Sync Digest");
    expect(digests).toHaveLength(1);
    expect(
      bridge.accepted
        .filter((e) => e.DetailType === "Image Added")
        .every((e) => JSON.parse(e.Detail).digested === true),
    ).toBe(true);
  });
});

describe("local delivery shape", () => {
  it("is shaped as EventBridge delivers an event to a target, id = eventId", async () => {
    const out: unknown[] = [];
    const { next } = history();
    await processStreamRecords(streamRecordsFor(next.changes), { publish: localPublisher((e) => out.push(e)) });
    expect(out).toHaveLength(next.changes.length);
    const first = out[0] as ReturnType<typeof delivered>;
    expect(Object.keys(first).sort()).toEqual([
      "account",
      "detail",
      "detail-type",
      "id",
      "region",
      "resources",
      "source",
      "time",
      "version",
    ]);
    expect(first.id).toBe((first.detail as { eventId: string }).eventId);
    expect(first.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });
});
