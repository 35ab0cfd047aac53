// Latest-image pointers: the pure plan (move only when the answer changes, stale instead of deleted), then real
// syncs of the emulator into dynalite, the stream consumer's code on what they wrote, and the pointers'
// SSM parameters through the real @aws-sdk/client-ssm client to a local endpoint speaking SSM's protocol.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SSMClient } from "@aws-sdk/client-ssm";
import { marshall } from "@aws-sdk/util-dynamodb";
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../../lib/cli.ts";
import type { StreamRecord } from "../../../lib/events/change-event.ts";
import {
  delivered as asDelivered,
  localPublisher,
  streamRecordsFor,
  streamRecordsForPointers,
} from "../../../lib/events/local.ts";
import { movedPointerFromRecord, pointerEvent } from "../../../lib/events/pointer-event.ts";
import { processStreamRecords } from "../../../lib/events/process.ts";
import schema from "../../../lib/events/schema.json" with { type: "json" };
import {
  defaultSsmClient,
  loadParameterSettings,
  parameterName,
  ssmParameterPublisher,
  staleParameterName,
} from "../../../lib/events/ssm-publish.ts";
import type { ChangeDetail, DeliveredEvent, PointerDetail, StaleDetail } from "../../../lib/events/types.ts";
import type { FetchedImage, LatestPointer, StoredImage } from "../../../lib/model.ts";
import { imageItem, pointerItem, pointerSk } from "../../../lib/store/items.ts";
import type { Store } from "../../../lib/store/store.ts";
import { diffScope } from "../../../lib/sync/diff.ts";
import { type PointerWrite, planPointers } from "../../../lib/sync/pointers.ts";
import { type LocalSsm, startLocalSsm } from "../../helpers/ssm.ts";
import { type Stack, startStack } from "../../helpers/stack.ts";

const STACK_NAME = "image-sync-test";

// ---------------------------------------------------------------------------------------------------------
// The pure plan.

const key = { account: "tc", api: "tencent-cvm" as const, provider: "tencent" as const, scope: "ap-guangzhou" };

function fetched(id: string, family: string | null, version: string | null, created: string | null): FetchedImage {
  return {
    imageId: id,
    name: `${family ?? "?"} ${version ?? ""} ${id}`,
    description: null,
    osType: "linux",
    osFamily: family,
    osVersion: version,
    architecture: "x86_64",
    imageType: "public",
    family: null,
    status: "NORMAL",
    available: true,
    unusable: null,
    sizeGiB: 20,
    createdAt: created,
    raw: { ImageId: id },
  };
}

/** Images as the store holds them after a sweep of `images` on top of `before` (the real diff). */
function images(before: Map<string, StoredImage>, list: FetchedImage[], runId: string): Map<string, StoredImage> {
  const r = diffScope({ key, stored: before, fetched: list, baseline: before.size === 0, now: `${runId}T`, runId });
  const after = new Map(before);
  for (const c of r.changes) after.set(c.after.imageId, c.after);
  return after;
}

function plan(
  imgs: Map<string, StoredImage>,
  stored: Map<string, LatestPointer>,
  runId: string,
  baseline = false,
): PointerWrite[] {
  return planPointers({
    key,
    images: imgs.values(),
    stored,
    baseline,
    now: `2026-01-0${runId.slice(-1)}T00:00:00.000Z`,
    runId,
  });
}

/** The stored pointers after applying `writes`. */
function apply(stored: Map<string, LatestPointer>, writes: PointerWrite[]): Map<string, LatestPointer> {
  const next = new Map(stored);
  for (const w of writes) next.set(pointerSk(w.after), w.after);
  return next;
}

describe("planPointers", () => {
  const u2204a = fetched("u2204a", "ubuntu", "22.04", "2025-01-01T00:00:00Z");
  const u2204b = fetched("u2204b", "ubuntu", "22.04", "2025-06-01T00:00:00Z");
  const u2404 = fetched("u2404", "ubuntu", "24.04", "2025-02-01T00:00:00Z");
  const nover = fetched("nover", "ubuntu", null, "2025-01-01T00:00:00Z");
  const nofam = fetched("nofam", null, "1", "2025-01-01T00:00:00Z");
  const broken = { ...fetched("broken", "debian", "12", "2026-01-01T00:00:00Z"), available: false, status: "CREATING" };

  it("baseline: one pointer per family and version with a usable image, newest first, 'any' for no version", () => {
    const imgs = images(new Map(), [u2204a, u2204b, u2404, nover, nofam, broken], "r1");
    const writes = plan(imgs, new Map(), "r1", true);
    const by = Object.fromEntries(writes.map((w) => [pointerSk(w.after), w]));
    expect(Object.keys(by).sort()).toEqual([
      "OS#public#ubuntu#0000000022.0000000004#x86_64",
      "OS#public#ubuntu#0000000024.0000000004#x86_64",
      "OS#public#ubuntu#any#x86_64",
    ]);
    expect(by["OS#public#ubuntu#0000000022.0000000004#x86_64"]).toMatchObject({
      before: null,
      moved: true,
      after: {
        imageId: "u2204b",
        osVersion: "22.04",
        baseline: true,
        previous: null,
        rev: 1,
        stale: false,
        runId: "r1",
      },
    });
    expect(by["OS#public#ubuntu#any#x86_64"]?.after).toMatchObject({ imageId: "nover", osVersion: null });
    expect(pointerItem(by["OS#public#ubuntu#any#x86_64"]?.after as LatestPointer)).toMatchObject({
      PK: "PTR#tc#ap-guangzhou",
      SK: "OS#public#ubuntu#any#x86_64",
      itemType: "pointer",
      GSI2PK: "LATEST#ubuntu",
      GSI2SK: "any#tc#ap-guangzhou#public#x86_64",
    });
  });

  it("nothing changed: no write; a new build of one version moves exactly that pointer, once", () => {
    const imgs = images(new Map(), [u2204a, u2204b, u2404], "r1");
    const stored = apply(new Map(), plan(imgs, new Map(), "r1", true));
    expect(plan(imgs, stored, "r2")).toEqual([]);
    // An older build appearing moves nothing.
    const older = images(
      imgs,
      [u2204a, u2204b, u2404, fetched("u2204old", "ubuntu", "22.04", "2020-01-01T00:00:00Z")],
      "r2",
    );
    expect(plan(older, stored, "r2")).toEqual([]);
    const newer = images(
      older,
      [u2204a, u2204b, u2404, fetched("u2204c", "ubuntu", "22.04", "2026-01-01T00:00:00Z")],
      "r3",
    );
    const writes = plan(newer, stored, "r3");
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({
      moved: true,
      after: { imageId: "u2204c", previous: { imageId: "u2204b" }, baseline: false, rev: 2, runId: "r3" },
    });
    expect(plan(newer, apply(stored, writes), "r4")).toEqual([]);
  });

  it("no usable image left: the pointer keeps its image and is marked stale once; the same image back makes it fresh without a move", () => {
    const imgs = images(new Map(), [u2204b, u2404], "r1");
    const stored = apply(new Map(), plan(imgs, new Map(), "r1", true));
    const gone = images(imgs, [u2404], "r2");
    const writes = plan(gone, stored, "r2");
    expect(writes).toEqual([
      {
        before: stored.get("OS#public#ubuntu#0000000022.0000000004#x86_64"),
        moved: false,
        after: expect.objectContaining({
          imageId: "u2204b",
          stale: true,
          staleSince: "2026-01-02T00:00:00.000Z",
          rev: 2,
        }),
      },
    ]);
    const staleStored = apply(stored, writes);
    expect(plan(gone, staleStored, "r3")).toEqual([]);
    const back = images(gone, [u2204b, u2404], "r4");
    const fresh = plan(back, staleStored, "r4");
    expect(fresh).toEqual([
      {
        before: expect.anything(),
        moved: false,
        after: expect.objectContaining({ imageId: "u2204b", stale: false, rev: 3, runId: "r1" }),
      },
    ]);
    // Another image for a stale pointer is a move, from the image it kept naming.
    const other = images(gone, [u2404, u2204a], "r5");
    expect(plan(other, staleStored, "r5")).toEqual([
      expect.objectContaining({
        moved: true,
        after: expect.objectContaining({
          imageId: "u2204a",
          previous: { imageId: "u2204b", name: "ubuntu 22.04 u2204b" },
          stale: false,
        }),
      }),
    ]);
  });
});

describe("pointer stream records", () => {
  const u2204a = fetched("u2204a", "ubuntu", "22.04", "2025-01-01T00:00:00Z");
  const u2204b = fetched("u2204b", "ubuntu", "22.04", "2025-06-01T00:00:00Z");
  const validate = new Ajv({ validateFormats: false, allErrors: true }).compile(schema);

  it("only a move is a move: baseline inserts publish without an event; stale marks, REMOVEs and other items do nothing", () => {
    const imgs = images(new Map(), [u2204a], "r1");
    const baseline = plan(imgs, new Map(), "r1", true);
    const [insert] = streamRecordsForPointers(baseline);
    const pointer = movedPointerFromRecord(insert as StreamRecord);
    expect(pointer).toMatchObject({ imageId: "u2204a", baseline: true });
    expect(pointerEvent(pointer as LatestPointer)).toBeNull();

    const stored = apply(new Map(), baseline);
    const moved = plan(images(imgs, [u2204a, u2204b], "r2"), stored, "r2");
    const [modify] = streamRecordsForPointers(moved);
    const event = pointerEvent(movedPointerFromRecord(modify as StreamRecord) as LatestPointer);
    expect(event?.detail).toMatchObject({
      previous: { imageId: "u2204a", name: "ubuntu 22.04 u2204a" },
      current: { imageId: "u2204b", createdAt: "2025-06-01T00:00:00Z" },
      runId: "r2",
      detectedAt: "2026-01-02T00:00:00.000Z",
    });
    // The same move delivered twice has the same id; the event validates against the published schema.
    expect(pointerEvent(movedPointerFromRecord(modify as StreamRecord) as LatestPointer)?.detail.eventId).toBe(
      event?.detail.eventId,
    );
    const entry = { Source: "image-sync", DetailType: event?.detailType, Detail: JSON.stringify(event?.detail) };
    expect(validate(asDelivered(entry)), JSON.stringify(validate.errors)).toBe(true);
    expect(validate(asDelivered({ ...entry, Detail: JSON.stringify({ ...event?.detail, current: null }) }))).toBe(
      false,
    );

    const stale = plan(images(imgs, [], "r3"), stored, "r3");
    expect(stale.map((w) => w.moved)).toEqual([false]);
    expect(movedPointerFromRecord(streamRecordsForPointers(stale)[0] as StreamRecord)).toBeNull();
    const item = marshall(pointerItem(stored.get("OS#public#ubuntu#0000000022.0000000004#x86_64") as LatestPointer));
    expect(movedPointerFromRecord({ eventName: "REMOVE", dynamodb: { OldImage: item } })).toBeNull();
    const image = marshall(imageItem(imgs.get("u2204a") as StoredImage), { removeUndefinedValues: true });
    expect(movedPointerFromRecord({ eventName: "INSERT", dynamodb: { NewImage: image } })).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------------------
// Real syncs, the stream consumer and SSM.

let stack: Stack;
let ssm: LocalSsm;
let client: SSMClient;
let dir: string;

beforeAll(async () => {
  [stack, ssm] = await Promise.all([startStack({ scale: 0.1 }), startLocalSsm()]);
  client = defaultSsmClient({ endpoint: ssm.endpoint, region: "us-east-1", localCredentials: true });
  dir = mkdtempSync(join(tmpdir(), "image-sync-pointers-"));
});
afterAll(async () => {
  client?.destroy();
  await Promise.all([stack?.close(), ssm?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Rec = Record<string, unknown>;
const vm = (scope: string) => stack.emulator.catalogue.get("zenlayer-vm")?.get(scope) as Rec[];

/** A zenlayer-vm Fedora build; Zenlayer states no creation time, so the (dated) id orders builds. */
function fedora(id: string, version: string, status = "AVAILABLE"): Rec {
  return {
    imageVersion: version,
    imageId: id,
    imageName: `Fedora ${version} x86 64-bit`,
    imageDescription: null,
    osType: "linux",
    imageSize: "30",
    imageStatus: status,
    category: "Fedora",
    imageType: "PUBLIC_IMAGE",
  };
}

const FEDORA_39 = "/image-sync-test/latest/zenlayer-vm/FRA-A/public/fedora/39/x86_64/image-id";
const FEDORA_39_STALE = "/image-sync-test/latest/zenlayer-vm/FRA-A/public/fedora/39/x86_64/stale";
const FEDORA_39_SK = "OS#public#fedora#0000000039#x86_64";

/** One sync of zenlayer-vm FRA-A, then the stream consumer's code on what it wrote, publishing to SSM. */
async function syncOnce(store: Store) {
  const records: StreamRecord[] = [];
  const writesBefore = store.stats.writeRequests;
  const report = await stack.sync(
    stack.config(["zenlayer-vm"], () => ({ scopes: ["FRA-A"] })),
    {
      store,
      onChanges: (changes, _report, pointers) => {
        records.push(...streamRecordsFor(changes), ...streamRecordsForPointers(pointers));
      },
    },
  );
  const delivered: DeliveredEvent[] = [];
  const putsBefore = ssm.puts.length;
  const result = await processStreamRecords(records, {
    publish: localPublisher((e) => delivered.push(e)),
    parameters: ssmParameterPublisher({ client, stackName: STACK_NAME }),
  });
  const scope = report.scopes[0];
  if (scope?.status !== "complete") throw new Error(`sync failed: ${JSON.stringify(scope)}`);
  return {
    scope,
    result,
    writes: store.stats.writeRequests - writesBefore,
    puts: ssm.puts.slice(putsBefore),
    moved: delivered.filter((e) => e["detail-type"] === "Latest Image Changed").map((e) => e.detail as PointerDetail),
    deprecated: delivered.filter((e) => e["detail-type"] === "Image Deprecated").map((e) => e.detail as ChangeDetail),
    stale: delivered.filter((e) => e["detail-type"] === "Latest Image Stale").map((e) => e.detail as StaleDetail),
  };
}

describe("pointers over real syncs, with their SSM parameters", () => {
  it("move exactly once per change, with one event and one parameter write each, and write nothing when nothing changed", async () => {
    const store = await stack.freshStore();
    vm("FRA-A").push(
      fedora("fedora39-20250101", "39"),
      fedora("fedora39-20250301", "39"),
      fedora("fedora40-20250601", "40"),
    );

    // Baseline: every pointer published, no event.
    const first = await syncOnce(store);
    const pointers = await store.loadPointers({ account: "zenlayer-vm", scope: "FRA-A" });
    expect(first.scope.pointersMoved).toBe(pointers.size);
    expect(first.scope.pointerWrites).toBe(pointers.size);
    expect(pointers.size).toBeGreaterThan(3);
    expect([...pointers.values()].every((p) => p.baseline && p.previous === null && !p.stale)).toBe(true);
    expect(first.moved).toEqual([]);
    // Two parameters per pointer: its image id, and whether it is stale.
    expect(first.puts).toHaveLength(pointers.size * 2);
    expect(first.result.batchItemFailures).toEqual([]);
    for (const p of pointers.values()) {
      expect(ssm.parameters.get(parameterName(STACK_NAME, p))).toEqual({
        value: p.imageId,
        version: 1,
        type: "String",
      });
      expect(ssm.parameters.get(staleParameterName(STACK_NAME, p))?.value).toBe("false");
    }
    expect(ssm.parameters.get(FEDORA_39)?.value).toBe("fedora39-20250301");
    expect(first.puts.every((p) => p.Type === "String" && p.Overwrite === true)).toBe(true);

    // Nothing changed: no pointer write, no event, no parameter write.
    const steady = await syncOnce(store);
    expect(steady.scope).toMatchObject({ writes: 0, pointerWrites: 0, pointersMoved: 0 });
    expect(steady.writes).toBe(2); // the account's lease taken, and let go with the record of the unchanged sweep
    expect(steady.moved).toEqual([]);
    expect(steady.puts).toEqual([]);

    // A new Fedora 39 build: one image added, one pointer moved, one event, one parameter write.
    vm("FRA-A").push(fedora("fedora39-20250901", "39"));
    const moved = await syncOnce(store);
    expect(moved.scope).toMatchObject({ added: 1, pointersMoved: 1, pointerWrites: 1 });
    expect(moved.moved).toHaveLength(1);
    expect(moved.moved[0]).toMatchObject({
      account: "zenlayer-vm",
      scope: "FRA-A",
      osFamily: "fedora",
      osVersion: "39",
      previous: { imageId: "fedora39-20250301", name: "Fedora 39 x86 64-bit" },
      current: { imageId: "fedora39-20250901", name: "Fedora 39 x86 64-bit", createdAt: null },
      message:
        "Latest public fedora 39 x86_64 in zenlayer-vm FRA-A: Fedora 39 x86 64-bit (fedora39-20250901), was Fedora 39 x86 64-bit (fedora39-20250301)",
    });
    expect(moved.puts.map((p) => [p.Name, p.Value])).toEqual([
      [FEDORA_39, "fedora39-20250901"],
      [FEDORA_39_STALE, "false"],
    ]);
    expect(ssm.parameters.get(FEDORA_39)).toMatchObject({ value: "fedora39-20250901", version: 2 });

    // Again nothing: the move is not repeated.
    const again = await syncOnce(store);
    expect(again.scope).toMatchObject({ pointerWrites: 0 });
    expect([again.moved, again.puts]).toEqual([[], []]);

    // The provider withdraws the new build: it is deprecated with the previous build as its replacement, and the
    // pointer moves back to that build.
    const list = vm("FRA-A");
    list.splice(
      list.findIndex((r) => r.imageId === "fedora39-20250901"),
      1,
    );
    const back = await syncOnce(store);
    expect(back.deprecated.map((d) => [d.imageId, d.replacement])).toEqual([
      [
        "fedora39-20250901",
        {
          imageId: "fedora39-20250301",
          name: "Fedora 39 x86 64-bit",
          osVersion: "39",
          architecture: "x86_64",
          why: "same-version",
        },
      ],
    ]);
    expect((await store.getImage("zenlayer-vm", "FRA-A", "fedora39-20250901"))?.replacement).toMatchObject({
      imageId: "fedora39-20250301",
    });
    expect(back.moved.map((m) => [m.previous?.imageId, m.current.imageId])).toEqual([
      ["fedora39-20250901", "fedora39-20250301"],
    ]);
    expect(ssm.parameters.get(FEDORA_39)).toMatchObject({ value: "fedora39-20250301", version: 3 });

    // Every Fedora 39 build becomes unusable: deprecations point to Fedora 40; the pointer is marked stale (one
    // write) and keeps its image so the parameter still resolves; its `stale` parameter turns "true" and one
    // "Latest Image Stale" event goes out, once.
    for (const r of list) if (String(r.imageId).startsWith("fedora39")) r.imageStatus = "UNAVAILABLE";
    const stale = await syncOnce(store);
    expect(stale.deprecated.map((d) => d.replacement)).toEqual([
      {
        imageId: "fedora40-20250601",
        name: "Fedora 40 x86 64-bit",
        osVersion: "40",
        architecture: "x86_64",
        why: "next-version",
      },
      {
        imageId: "fedora40-20250601",
        name: "Fedora 40 x86 64-bit",
        osVersion: "40",
        architecture: "x86_64",
        why: "next-version",
      },
    ]);
    expect(stale.scope).toMatchObject({ pointersMoved: 0, pointerWrites: 1 });
    expect(stale.moved).toEqual([]);
    expect(stale.puts.map((p) => [p.Name, p.Value])).toEqual([
      [FEDORA_39, "fedora39-20250301"],
      [FEDORA_39_STALE, "true"],
    ]);
    expect(stale.stale).toHaveLength(1);
    expect(stale.stale[0]).toMatchObject({
      line: "os",
      osFamily: "fedora",
      osVersion: "39",
      architecture: "x86_64",
      imageType: "public",
      current: { imageId: "fedora39-20250301" },
      legacy: false,
    });
    expect(stale.stale[0]?.message).toMatch(/^Latest public fedora 39 x86_64 in zenlayer-vm FRA-A is stale/);
    const p39 = (await store.loadPointers({ account: "zenlayer-vm", scope: "FRA-A" })).get(FEDORA_39_SK);
    expect(p39).toMatchObject({ imageId: "fedora39-20250301", stale: true });
    expect(ssm.parameters.get(FEDORA_39)).toMatchObject({ value: "fedora39-20250301", version: 4 });
    expect(ssm.parameters.get(FEDORA_39_STALE)?.value).toBe("true");
    const later = await syncOnce(store);
    expect([later.scope.pointerWrites, later.stale, later.puts]).toEqual([0, [], []]);

    // The same build usable again: fresh, no move. Then the cleanup leaves the other tests' catalogue as it was.
    for (const r of list) if (r.imageId === "fedora39-20250301") r.imageStatus = "AVAILABLE";
    const fresh = await syncOnce(store);
    expect(fresh.scope).toMatchObject({ restored: 1, pointersMoved: 0, pointerWrites: 1 });
    expect([fresh.moved, fresh.stale]).toEqual([[], []]);
    expect(fresh.puts.map((p) => [p.Name, p.Value])).toEqual([
      [FEDORA_39, "fedora39-20250301"],
      [FEDORA_39_STALE, "false"],
    ]);
    expect((await store.loadPointers({ account: "zenlayer-vm", scope: "FRA-A" })).get(FEDORA_39_SK)?.stale).toBe(false);
    list.splice(0, list.length, ...list.filter((r) => !String(r.imageId).startsWith("fedora")));
  });

  it("a parameter write that fails reports its own stream record as failed; a throttled one is retried by the client", async () => {
    const base = { ...key, osFamily: "ubuntu", imageId: "img-1", name: "Ubuntu", createdAt: null, previous: null };
    const pointer = (family: string, version: string, rev: number): LatestPointer => ({
      ...base,
      osFamily: family,
      osVersion: version,
      movedAt: `2026-01-01T00:00:0${rev}.000Z`,
      runId: `r${rev}`,
      baseline: false,
      stale: false,
      staleSince: null,
      rev,
    });
    const writes: PointerWrite[] = [
      { before: null, moved: true, after: pointer("ubuntu", "22.04", 1) },
      { before: null, moved: true, after: pointer("debian", "12", 1) },
      { before: null, moved: true, after: pointer("rocky", "9", 1) },
    ];
    const records = streamRecordsForPointers(writes);
    ssm.failWhen = (put, attempt) =>
      put.Name.endsWith("/debian/12") ? "denied" : put.Name.endsWith("/rocky/9") && attempt === 0 ? "throttle" : false;
    try {
      const events: DeliveredEvent[] = [];
      const result = await processStreamRecords(records, {
        publish: localPublisher((e) => events.push(e)),
        parameters: ssmParameterPublisher({ client, stackName: STACK_NAME }),
      });
      expect(result.batchItemFailures).toEqual([{ itemIdentifier: records[1]?.dynamodb?.SequenceNumber }]);
      expect(result.parameters).toBe(2);
      expect(ssm.parameters.get("/image-sync-test/latest/tc/ap-guangzhou/rocky/9")?.value).toBe("img-1");
      expect(ssm.puts.filter((p) => p.Name.endsWith("/rocky/9"))).toHaveLength(2);
      // The events are published regardless: the retried record's event has the same id.
      expect(events.map((e) => e["detail-type"])).toEqual([
        "Latest Image Changed",
        "Latest Image Changed",
        "Latest Image Changed",
      ]);
    } finally {
      ssm.failWhen = () => false;
    }
  });

  it("parameter names keep only the characters SSM allows; a pointer moved twice in one batch ends at its last image", async () => {
    const odd = { account: "zl prod", scope: "ap/guang zhou#1", osFamily: "windows server", osVersion: null };
    expect(parameterName(STACK_NAME, odd)).toBe("/image-sync-test/latest/zl_prod/ap_guang_zhou_1/windows_server/any");
    expect(parameterName("s", { ...odd, osVersion: "2022 R2", scope: "上海" })).toBe(
      "/s/latest/zl_prod/__/windows_server/2022_R2",
    );
    const at = (imageId: string, rev: number): LatestPointer => ({
      ...key,
      ...odd,
      imageId,
      name: null,
      createdAt: null,
      movedAt: `2026-01-0${rev}T00:00:00.000Z`,
      runId: `r${rev}`,
      baseline: rev === 1,
      previous: null,
      stale: false,
      staleSince: null,
      rev,
    });
    const publish = ssmParameterPublisher({ client, stackName: STACK_NAME, concurrency: 4 });
    // The local endpoint refuses names SSM would refuse, so only a sanitised name is stored.
    expect(await publish([at("img-a", 1), at("img-b", 2)])).toEqual([true, true]);
    const name = "/image-sync-test/latest/zl_prod/ap_guang_zhou_1/windows_server/any";
    expect(ssm.parameters.get(name)?.value).toBe("img-b");
    expect(ssm.puts.filter((p) => p.Name === name)).toHaveLength(1);
  });

  it("publishing is on only with STACK_NAME; a bad stack name or an endpoint without it is a configuration error", () => {
    expect(loadParameterSettings({})).toBeNull();
    expect(loadParameterSettings({ STACK_NAME: "image-sync-prod" })).toEqual({ stackName: "image-sync-prod" });
    expect(loadParameterSettings({ STACK_NAME: "x", SSM_ENDPOINT: "http://127.0.0.1:1" })).toEqual({
      stackName: "x",
      endpoint: "http://127.0.0.1:1",
    });
    expect(() => loadParameterSettings({ SSM_ENDPOINT: "http://127.0.0.1:1" })).toThrow(/STACK_NAME/);
    expect(() => loadParameterSettings({ STACK_NAME: "image sync/prod" })).toThrow(/STACK_NAME/);
  });

  it("the CLI publishes the parameters after a sync when STACK_NAME is set, and only on change", async () => {
    const table = `pointers-cli-${Date.now()}`;
    const config = join(dir, "config.json");
    writeFileSync(config, JSON.stringify(stack.config(["tencent-cvm"], () => ({ scopes: ["ap-singapore"] }))));
    const env = {
      DYNAMODB_ENDPOINT: stack.dynamo.endpoint,
      TABLE_NAME: table,
      AWS_REGION: "us-east-1",
      STACK_NAME: "image-sync-cli",
      SSM_ENDPOINT: ssm.endpoint,
    };
    const cli = async (events: string) => {
      const before = ssm.puts.length;
      const code = await main(["sync", "--config", config, "--events", join(dir, events)], {
        stdout: () => {},
        stderr: () => {},
        env,
      });
      const lines = readFileSync(join(dir, events), "utf8").split("\n").filter(Boolean);
      return { code, puts: ssm.puts.slice(before), lines };
    };
    const first = await cli("first.jsonl");
    expect(first.code).toBe(0);
    expect(first.puts.length).toBeGreaterThan(0);
    expect(first.puts.every((p) => p.Name.startsWith("/image-sync-cli/latest/tencent-cvm/ap-singapore/"))).toBe(true);
    expect(first.lines).toEqual([]);
    const second = await cli("second.jsonl");
    expect(second).toMatchObject({ code: 0, puts: [], lines: [] });

    // A newer Ubuntu 22.04 build in the region moves one pointer: one event, one parameter.
    const list = stack.emulator.catalogue.get("tencent-cvm")?.get("ap-singapore") as Rec[];
    const template = list.find((r) => r.OsName === "Ubuntu Server 22.04 LTS 64bit") ?? list[0];
    list.push({
      ...template,
      ImageId: "img-ubuntu2204new",
      OsName: "Ubuntu Server 22.04 LTS 64bit",
      Platform: "Ubuntu",
      ImageName: "Ubuntu Server 22.04 LTS 64bit",
      ImageType: "PUBLIC_IMAGE",
      CreatedTime: "2030-01-01T00:00:00Z",
      ImageState: "NORMAL",
      ImageDeprecated: false,
      Architecture: "x86_64",
    });
    try {
      const third = await cli("third.jsonl");
      expect(third.code).toBe(0);
      expect(third.puts.map((p) => [p.Name, p.Value])).toEqual([
        ["/image-sync-cli/latest/tencent-cvm/ap-singapore/public/ubuntu/22.04/x86_64/image-id", "img-ubuntu2204new"],
        ["/image-sync-cli/latest/tencent-cvm/ap-singapore/public/ubuntu/22.04/x86_64/stale", "false"],
      ]);
      const types = third.lines.map((l) => JSON.parse(l)["detail-type"]).sort();
      expect(types).toEqual(["Image Added", "Latest Image Changed"]);
    } finally {
      list.splice(
        list.findIndex((r) => r.ImageId === "img-ubuntu2204new"),
        1,
      );
    }
  });
});
