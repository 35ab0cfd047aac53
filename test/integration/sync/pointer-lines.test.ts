// Issue 16: answers safe to launch from. Pointers and replacements per architecture and image type, Zenlayer
// architectures read from the names the seeds show, Tencent image families, and the upgrade from the pointer
// items of before (one per OS family and version): pure plans first, then real syncs of the emulator into
// dynalite, the stream consumer's code on what they wrote, and SSM through the real client to a local endpoint.

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SSMClient } from "@aws-sdk/client-ssm";
import { PutParameterCommand } from "@aws-sdk/client-ssm";
import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StreamRecord } from "../../../lib/events/change-event.ts";
import { localPublisher, streamRecordsFor, streamRecordsForPointers } from "../../../lib/events/local.ts";
import { processStreamRecords } from "../../../lib/events/process.ts";
import schema from "../../../lib/events/schema.json" with { type: "json" };
import { defaultSsmClient, parameterName, ssmParameterPublisher } from "../../../lib/events/ssm-publish.ts";
import type { DeliveredEvent, PointerDetail, StaleDetail } from "../../../lib/events/types.ts";
import type { FetchedImage, LatestPointer, StoredImage } from "../../../lib/model.ts";
import { normalizeApi3Image } from "../../../lib/providers/tencent/normalize.ts";
import { architectureFromName, normalizeZonalImage } from "../../../lib/providers/zenlayer/normalize.ts";
import { latestImage, whereLatest } from "../../../lib/query/index.ts";
import { imageItem, legacyPointerSk, pointerItem, pointerSk } from "../../../lib/store/items.ts";
import type { Store } from "../../../lib/store/store.ts";
import { diffScope } from "../../../lib/sync/diff.ts";
import { contentHash, preFamilyHash } from "../../../lib/sync/hash.ts";
import { type PointerWrite, planPointers } from "../../../lib/sync/pointers.ts";
import { chooseReplacement, isUsable, newest } from "../../../lib/sync/replacement.ts";
import { fetchedImage } from "../../helpers/images.ts";
import { type LocalSsm, startLocalSsm } from "../../helpers/ssm.ts";
import { type Stack, startStack } from "../../helpers/stack.ts";

const key = { account: "tc", api: "tencent-cvm" as const, provider: "tencent" as const, scope: "ap-guangzhou" };
const T = (day: number) => `2026-01-0${day}T00:00:00.000Z`;

/** Images as the store holds them after a sweep of `list` on top of `before` (the real diff). */
function stored(list: FetchedImage[], before = new Map<string, StoredImage>()): Map<string, StoredImage> {
  const r = diffScope({ key, stored: before, fetched: list, baseline: before.size === 0, now: T(1), runId: "r1" });
  const after = new Map(before);
  for (const c of r.changes) after.set(c.after.imageId, c.after);
  return after;
}

const plan = (images: Map<string, StoredImage>, pointers = new Map<string, LatestPointer>(), baseline = true) =>
  planPointers({ key, images: images.values(), stored: pointers, baseline, now: T(2), runId: "r2" });

const bySk = (writes: PointerWrite[]) => new Map(writes.map((w) => [pointerSk(w.after), w.after]));

const at = (created: string) => `2025-${created}T00:00:00Z`;
const x86 = fetchedImage("img-x86", { createdAt: at("01-01"), architecture: "x86_64" });
const arm = fetchedImage("img-arm", { createdAt: at("03-01"), architecture: "arm64" });

describe("pointers per line (pure)", () => {
  it("a mixed-architecture scope: x86_64 and arm64 of one version give two pointers, never one for both", () => {
    const writes = plan(stored([x86, arm]));
    expect([...bySk(writes).keys()].sort()).toEqual([
      "OS#public#ubuntu#0000000022.0000000004#arm64",
      "OS#public#ubuntu#0000000022.0000000004#x86_64",
    ]);
    const p = bySk(writes);
    expect(p.get("OS#public#ubuntu#0000000022.0000000004#x86_64")).toMatchObject({
      line: "os",
      imageId: "img-x86",
      architecture: "x86_64",
      imageType: "public",
      family: null,
    });
    expect(p.get("OS#public#ubuntu#0000000022.0000000004#arm64")?.imageId).toBe("img-arm");
  });

  it("a newer custom image does not move the public pointer: it has its own, of its own type", () => {
    const base = stored([x86]);
    const pointers = bySk(plan(base));
    const custom = fetchedImage("img-custom", { createdAt: at("09-01"), imageType: "custom", name: "web-golden" });
    const writes = plan(stored([x86, custom], base), pointers, false);
    expect(writes.map((w) => [pointerSk(w.after), w.after.imageId, w.moved])).toEqual([
      ["OS#custom#ubuntu#0000000022.0000000004#x86_64", "img-custom", true],
    ]);
    const shared = fetchedImage("img-shared", { createdAt: at("10-01"), imageType: "shared" });
    const market = fetchedImage("img-mkt", { createdAt: at("11-01"), imageType: "marketplace" });
    const all = bySk(plan(stored([x86, custom, shared, market])));
    expect(all.get("OS#public#ubuntu#0000000022.0000000004#x86_64")?.imageId).toBe("img-x86");
    expect(all.size).toBe(4);
  });

  it("an image of unknown architecture has its own 'unknown' line, never a known architecture's", () => {
    const unknown = fetchedImage("img-unknown", { createdAt: at("12-01"), architecture: null });
    const p = bySk(plan(stored([x86, unknown])));
    expect(p.get("OS#public#ubuntu#0000000022.0000000004#x86_64")?.imageId).toBe("img-x86");
    expect(p.get("OS#public#ubuntu#0000000022.0000000004#unknown")).toMatchObject({
      imageId: "img-unknown",
      architecture: "unknown",
    });
  });

  it("a custom image of a Tencent image family also keeps the family's pointer: its newest usable image", () => {
    const golden = (id: string, created: string, over: Partial<FetchedImage> = {}) =>
      fetchedImage(id, {
        createdAt: at(created),
        imageType: "custom",
        family: "web-golden",
        osVersion: "20.04",
        ...over,
      });
    const images = stored([
      golden("img-g1", "01-01"),
      golden("img-g2", "02-01", { osVersion: "22.04" }),
      golden("img-g3", "03-01", { available: false, status: "CREATING" }),
      // A public image naming a family is no custom golden line.
      fetchedImage("img-pub", { createdAt: at("04-01"), family: "web-golden" }),
    ]);
    const p = bySk(plan(images));
    expect(p.get("FAMILY#web-golden#x86_64")).toMatchObject({
      line: "family",
      family: "web-golden",
      imageId: "img-g2",
      osVersion: "22.04",
      imageType: "custom",
    });
    expect([...p.keys()].filter((k) => k.startsWith("FAMILY#"))).toEqual(["FAMILY#web-golden#x86_64"]);
  });

  it("the upgrade from pointers of before: each is marked stale once, the new ones are published without alerts", () => {
    const images = stored([x86, arm]);
    const legacy: LatestPointer = {
      ...key,
      osFamily: "ubuntu",
      osVersion: "22.04",
      imageId: "img-arm",
      name: "Ubuntu img-arm",
      createdAt: at("03-01"),
      movedAt: T(1),
      runId: "old",
      baseline: true,
      previous: null,
      stale: false,
      staleSince: null,
      rev: 3,
    };
    const before = new Map([[legacyPointerSk("ubuntu", "22.04"), legacy]]);
    const writes = plan(images, before, false);
    const old = writes.find((w) => w.before === legacy);
    expect(old?.after).toMatchObject({ imageId: "img-arm", stale: true, staleSince: T(2), rev: 4 });
    const fresh = writes.filter((w) => w.after.line === "os");
    expect(fresh).toHaveLength(2);
    expect(fresh.every((w) => w.moved && w.after.baseline && w.after.previous === null)).toBe(true);
    // Once per-line pointers exist, a new line is news again, and the legacy pointer is not written again.
    const after = new Map([...before, ...bySk(writes)].map(([k, v]) => [k, bySk(writes).get(k) ?? v]));
    const later = plan(stored([x86, arm, fetchedImage("img-2404", { osVersion: "24.04" })], images), after, false);
    expect(later.map((w) => [w.after.osVersion, w.moved, w.after.baseline])).toEqual([["24.04", true, false]]);
  });
});

describe("replacements of the same line (pure)", () => {
  it("same architecture and type: an arm64 or custom build never replaces an x86_64 public one", () => {
    const old = fetchedImage("img-old", { createdAt: at("01-01") });
    const sameArch = fetchedImage("img-x86-new", { createdAt: at("02-01") });
    const armNew = fetchedImage("img-arm-new", { createdAt: at("06-01"), architecture: "arm64" });
    const customNew = fetchedImage("img-custom-new", { createdAt: at("07-01"), imageType: "custom" });
    const images = stored([old, sameArch, armNew, customNew]);
    const deprecated = images.get("img-old") as StoredImage;
    expect(chooseReplacement(deprecated, images.values())).toEqual({
      imageId: "img-x86-new",
      name: "Ubuntu img-x86-new",
      osVersion: "22.04",
      architecture: "x86_64",
      why: "same-version",
    });
    // No x86_64 public image left at this version: the next version of the same line, before anything else.
    const next = fetchedImage("img-2404", { osVersion: "24.04", createdAt: at("01-01") });
    const armOnly = stored([old, armNew, customNew, next]);
    expect(chooseReplacement(armOnly.get("img-old") as StoredImage, armOnly.values())).toMatchObject({
      imageId: "img-2404",
      why: "next-version",
    });
    // Nothing of the same architecture and type: none is named.
    const none = stored([old, armNew, customNew]);
    expect(chooseReplacement(none.get("img-old") as StoredImage, none.values())).toBeNull();
  });

  it("an image of unknown architecture has none; a custom image of a family is replaced within its family first", () => {
    const unknown = stored([
      fetchedImage("img-u", { architecture: null }),
      fetchedImage("img-v", { architecture: null }),
    ]);
    expect(chooseReplacement(unknown.get("img-u") as StoredImage, unknown.values())).toBeNull();
    const g = (id: string, family: string, created: string) =>
      fetchedImage(id, { imageType: "custom", family, createdAt: at(created) });
    const images = stored([g("img-a1", "a", "01-01"), g("img-a2", "a", "02-01"), g("img-b", "b", "09-01")]);
    expect(chooseReplacement(images.get("img-a1") as StoredImage, images.values())).toMatchObject({
      imageId: "img-a2",
      why: "same-family",
    });
  });
});

describe("Zenlayer architecture from the names (the seeds' examples)", () => {
  it.each([
    ["Ubuntu Server 18.04 LTS x86 64-bit", "x86_64"],
    ["Debian 11.5 Amd x86 64-bit", "x86_64"],
    ["CentOS 7.4.1708 x86 64-bit", "x86_64"],
    ["CentOS7.4-x86_64", "x86_64"],
    ["Ubuntu Server 22.04 LTS aarch64", "arm64"],
    ["Debian 12.5 arm64", "arm64"],
    ["Ubuntu Server 24.04 LTS", null],
    ["Farm image", null],
  ])("%s -> %s", (name, arch) => {
    expect(architectureFromName(name)).toBe(arch);
  });

  it("a zec/vm record of unknown architecture answers no architecture-specific line", () => {
    const zec = normalizeZonalImage({
      imageId: "ubuntu2404_20240101",
      imageName: "Ubuntu Server 24.04 LTS",
      imageType: "PUBLIC_IMAGE",
      imageVersion: "Server 24.04 LTS",
      imageStatus: "AVAILABLE",
      category: "Ubuntu",
      osType: "linux",
    });
    expect(zec).toMatchObject({ architecture: null, family: null, osVersion: "24.04" });
    const vm = normalizeZonalImage({ imageId: "img-1", imageName: "Debian 11.5 Amd x86 64-bit", category: "Debian" });
    expect(vm).toMatchObject({ architecture: "x86_64", osVersion: "11.5" });
  });
});

describe("Tencent ImageFamily and the content hash", () => {
  const record = (family: unknown) => ({
    ImageId: "img-1",
    OsName: "Ubuntu Server 22.04 LTS 64bit",
    ImageType: "PRIVATE_IMAGE",
    ImageName: "web-prod-1",
    Architecture: "arm",
    ImageState: "NORMAL",
    Platform: "Ubuntu",
    ImageFamily: family,
  });

  it("normalises ImageFamily as family (empty or absent: null), kept as spelled", () => {
    expect(normalizeApi3Image(record("Web-Golden ")).family).toBe("Web-Golden");
    expect(normalizeApi3Image(record("")).family).toBeNull();
    expect(normalizeApi3Image({ ...record(undefined) }).family).toBeNull();
  });

  it("an image of no family keeps its pre-family hash; one with a family is rewritten silently, once", () => {
    const none = normalizeApi3Image(record(""));
    expect(contentHash(none)).toBe(preFamilyHash(none));
    const golden = normalizeApi3Image(record("web-golden"));
    expect(contentHash(golden)).not.toBe(preFamilyHash(golden));
    // Stored before families existed: the pre-family hash, no family attribute.
    const [before] = stored([golden]).values() as IterableIterator<StoredImage>;
    const { family: _family, ...rest } = before as StoredImage;
    const old = { ...rest, contentHash: preFamilyHash(golden) } as StoredImage;
    const upgrade = diffScope({
      key,
      stored: new Map([["img-1", old]]),
      fetched: [golden],
      baseline: false,
      now: T(3),
      runId: "r3",
    });
    expect(upgrade.changes).toHaveLength(1);
    expect(upgrade.changes[0]).toMatchObject({
      kind: "updated",
      silent: true,
      after: { family: "web-golden", contentHash: contentHash(golden), lastChange: old.lastChange },
    });
    expect(upgrade.changes[0]?.after.lastChangedAt).toBe(old.lastChangedAt);
    // A real change to the record is an update as ever.
    const renamed = normalizeApi3Image({ ...record("web-golden"), ImageName: "web-prod-2" });
    const real = diffScope({
      key,
      stored: new Map([["img-1", old]]),
      fetched: [renamed],
      baseline: false,
      now: T(3),
      runId: "r3",
    });
    expect(real.changes[0]).toMatchObject({ kind: "updated", after: { lastChange: { kind: "updated", runId: "r3" } } });
    expect(real.changes[0]?.silent).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------------
// Real syncs of tencent-cvm ap-guangzhou, the stream consumer, and SSM.

const STACK_NAME = "image-sync-lines";
let stack: Stack;
let ssm: LocalSsm;
let client: SSMClient;
type Rec = Record<string, unknown>;

beforeAll(async () => {
  [stack, ssm] = await Promise.all([startStack({ scale: 0.1 }), startLocalSsm()]);
  client = defaultSsmClient({ endpoint: ssm.endpoint, region: "us-east-1", localCredentials: true });
  listing().push(
    api3("img-u2204x86", "PUBLIC_IMAGE", "x86_64", "2029-01-01T00:00:00Z"),
    api3("img-u2204arm", "PUBLIC_IMAGE", "arm", "2029-02-01T00:00:00Z"),
    api3("img-gold1", "PRIVATE_IMAGE", "x86_64", "2029-03-01T00:00:00Z", "ops-golden"),
    api3("img-gold2", "PRIVATE_IMAGE", "x86_64", "2029-04-01T00:00:00Z", "ops-golden"),
  );
});
afterAll(async () => {
  client?.destroy();
  await Promise.all([stack?.close(), ssm?.close()]);
});

const listing = () => stack.emulator.catalogue.get("tencent-cvm")?.get("ap-guangzhou") as Rec[];

/** A Tencent API 3.0 Ubuntu 22.04 image, newer than any the emulator makes up. */
function api3(id: string, type: string, arch: string, created: string, family = ""): Rec {
  return {
    ImageId: id,
    OsName: "Ubuntu Server 22.04 LTS 64bit",
    ImageType: type,
    CreatedTime: created,
    ImageName: type === "PUBLIC_IMAGE" ? "Ubuntu Server 22.04 LTS 64bit" : `${family}-${id}`,
    ImageDescription: "",
    ImageSize: 20,
    Architecture: arch,
    ImageState: "NORMAL",
    Platform: "Ubuntu",
    ImageCreator: "",
    ImageSource: type === "PUBLIC_IMAGE" ? "OFFICIAL" : "CREATE_IMAGE",
    SyncPercent: 100,
    IsSupportCloudinit: true,
    SnapshotSet: [],
    Tags: [],
    LicenseType: "TencentCloud",
    ImageFamily: family,
    ImageDeprecated: false,
  };
}

const SCOPE = { account: "tencent-cvm", scope: "ap-guangzhou" };
const validate = new Ajv({ strict: false }).compile(schema);

/** One sync of the scope, then the stream consumer's code on what it wrote, publishing to SSM. */
async function syncOnce(store: Store) {
  const records: StreamRecord[] = [];
  const report = await stack.sync(
    stack.config(["tencent-cvm"], () => ({ scopes: ["ap-guangzhou"] })),
    {
      store,
      onChanges: (changes, _r, pointers) => {
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
  for (const e of delivered) expect(validate(e), JSON.stringify(validate.errors)).toBe(true);
  const of = (type: string) => delivered.filter((e) => e["detail-type"] === type);
  return {
    scope,
    result,
    types: delivered.map((e) => e["detail-type"]),
    moved: of("Latest Image Changed").map((e) => e.detail as PointerDetail),
    stale: of("Latest Image Stale").map((e) => e.detail as StaleDetail),
    puts: ssm.puts.slice(putsBefore),
  };
}

const value = (name: string) => ssm.parameters.get(name)?.value;

describe("per-line pointers over real syncs", () => {
  it("the emulator speaks as the providers do: ImageFamily on some Tencent custom images, arch text in Zenlayer names", () => {
    const made = listing().filter(
      (r) => !["img-u2204x86", "img-u2204arm", "img-gold1", "img-gold2"].includes(String(r.ImageId)),
    );
    expect(made.some((r) => r.ImageType === "PRIVATE_IMAGE" && r.ImageFamily !== "")).toBe(true);
    expect(made.every((r) => r.ImageFamily === "" || r.ImageType === "PRIVATE_IMAGE")).toBe(true);
    const vmNames = [...(stack.emulator.catalogue.get("zenlayer-vm")?.values() ?? [])]
      .flat()
      .map((r) => String(r.imageName));
    expect(vmNames.some((n) => / x86 64-bit$/.test(n))).toBe(true);
    expect(vmNames.some((n) => /(aarch64|arm64)$/.test(n))).toBe(true);
  });

  it("two architectures of one version: two pointers and two SSM parameters; a family pointer; queries by line", async () => {
    const store = await stack.freshStore();
    const first = await syncOnce(store);
    expect(first.result.batchItemFailures).toEqual([]);
    const pointers = await store.loadPointers(SCOPE);
    const x86 = pointers.get("OS#public#ubuntu#0000000022.0000000004#x86_64") as LatestPointer;
    const arm = pointers.get("OS#public#ubuntu#0000000022.0000000004#arm64") as LatestPointer;
    expect([x86.imageId, arm.imageId]).toEqual(["img-u2204x86", "img-u2204arm"]);
    const base = `/${STACK_NAME}/latest/tencent-cvm/ap-guangzhou`;
    expect(parameterName(STACK_NAME, x86)).toBe(`${base}/public/ubuntu/22.04/x86_64/image-id`);
    expect(value(`${base}/public/ubuntu/22.04/x86_64/image-id`)).toBe("img-u2204x86");
    expect(value(`${base}/public/ubuntu/22.04/arm64/image-id`)).toBe("img-u2204arm");
    expect(value(`${base}/public/ubuntu/22.04/arm64/stale`)).toBe("false");
    // The newer custom images do not move the public pointers: they have their own line and their family's.
    expect(pointers.get("OS#custom#ubuntu#0000000022.0000000004#x86_64")?.imageId).toBe("img-gold2");
    expect(pointers.get("FAMILY#ops-golden#x86_64")).toMatchObject({ imageId: "img-gold2", family: "ops-golden" });
    expect(value(`${base}/family/ops-golden/x86_64/image-id`)).toBe("img-gold2");

    // The queries answer per line and refuse to guess.
    await expect(
      latestImage(store, { osFamily: "ubuntu", osVersion: "22.04", scope: "ap-guangzhou", imageType: "public" }),
    ).rejects.toMatchObject({ code: "AMBIGUOUS_QUERY" });
    const q = { osFamily: "ubuntu", osVersion: "22.04", scope: "ap-guangzhou", imageType: "public" };
    expect((await latestImage(store, { ...q, architecture: "aarch64" }))?.imageId).toBe("img-u2204arm");
    expect((await latestImage(store, { ...q, architecture: "x86_64" }))?.imageId).toBe("img-u2204x86");
    expect((await latestImage(store, { family: "ops-golden", scope: "ap-guangzhou" }))?.imageId).toBe("img-gold2");
    expect(
      await latestImage(store, { family: "ops-golden", scope: "ap-guangzhou", architecture: "arm64" }),
    ).toBeUndefined();
    const where = await whereLatest(store, { osFamily: "ubuntu", osVersion: "22.04", imageType: "public" });
    expect(where.items.map((p) => [p.scope, p.architecture, p.imageId])).toEqual([
      ["ap-guangzhou", "arm64", "img-u2204arm"],
      ["ap-guangzhou", "x86_64", "img-u2204x86"],
    ]);
    const byFamily = await whereLatest(store, { family: "ops-golden" });
    expect(byFamily.items.map((p) => p.imageId)).toEqual(["img-gold2"]);

    // The family's newest image withdrawn: the family pointer moves back, one event naming the family.
    const gold2 = listing().find((r) => r.ImageId === "img-gold2") as Rec;
    gold2.ImageState = "CREATEFAILED";
    try {
      const back = await syncOnce(store);
      const familyMove = back.moved.find((m) => m.line === "family");
      expect(familyMove).toMatchObject({
        family: "ops-golden",
        architecture: "x86_64",
        previous: { imageId: "img-gold2" },
        current: { imageId: "img-gold1" },
      });
      expect(familyMove?.message).toMatch(/^Latest image family ops-golden x86_64 in tencent-cvm ap-guangzhou/);
    } finally {
      gold2.ImageState = "NORMAL";
    }
  });

  it("upgrade from today's items: legacy pointers kept and marked stale once, new ones published quietly, no image rewritten but those gaining a family", async () => {
    const store = await stack.freshStore();
    await syncOnce(store);
    const familyImages = await downgradeToTodaysItems(store);
    expect(familyImages).toBeGreaterThan(0);
    // Today's parameters, as the stream consumer of before wrote them.
    const legacy = [...(await store.loadPointers(SCOPE)).values()];
    expect(legacy.every((p) => p.line === undefined)).toBe(true);
    for (const p of legacy)
      await client.send(
        new PutParameterCommand({
          Name: parameterName(STACK_NAME, p),
          Value: p.imageId,
          Type: "String",
          Overwrite: true,
        }),
      );
    const u2204 = legacy.find((p) => p.osFamily === "ubuntu" && p.osVersion === "22.04") as LatestPointer;
    const legacyName = `/${STACK_NAME}/latest/tencent-cvm/ap-guangzhou/ubuntu/22.04`;
    expect(parameterName(STACK_NAME, u2204)).toBe(legacyName);
    // Before, the one Ubuntu 22.04 pointer named the newest of all: a custom image, unfit for a public x86 launch.
    expect(u2204.imageId).toBe("img-gold2");

    const up = await syncOnce(store);
    // Only the images that gain a family are rewritten, silently: no image event, and no move alerted.
    expect(up.scope).toMatchObject({ added: 0, deprecated: 0, restored: 0, updated: familyImages });
    expect(up.types.filter((t) => t.startsWith("Image ") || t === "Latest Image Changed")).toEqual([]);
    expect(up.stale).toHaveLength(legacy.length);
    expect(up.stale.every((s) => s.legacy && s.line === null)).toBe(true);
    expect(up.stale.find((s) => s.osVersion === "22.04" && s.osFamily === "ubuntu")?.message).toMatch(
      /superseded by per-architecture pointers; it keeps naming ops-golden-img-gold2 \(img-gold2\)$/,
    );
    // The old parameter keeps resolving to its last image and says it is stale; the new ones exist.
    expect(value(legacyName)).toBe("img-gold2");
    expect(value(`${legacyName}/stale`)).toBe("true");
    expect(value(`/${STACK_NAME}/latest/tencent-cvm/ap-guangzhou/public/ubuntu/22.04/x86_64/image-id`)).toBe(
      "img-u2204x86",
    );
    const after = await store.loadPointers(SCOPE);
    expect([...after.values()].filter((p) => p.line !== undefined).every((p) => p.baseline && !p.stale)).toBe(true);
    expect([...after.values()].filter((p) => p.line === undefined).every((p) => p.stale)).toBe(true);
    expect((await store.getImage("tencent-cvm", "ap-guangzhou", "img-gold1"))?.family).toBe("ops-golden");
    // where lists the new pointers only.
    const where = await whereLatest(store, { osFamily: "ubuntu", osVersion: "22.04" });
    expect(where.items.every((p) => p.line === "os")).toBe(true);

    // And then nothing: no image, pointer or parameter written, no event.
    const steady = await syncOnce(store);
    expect(steady.scope).toMatchObject({ writes: 0, pointerWrites: 0 });
    expect([steady.types, steady.puts]).toEqual([[], []]);
  });
});

/**
 * Rewrites the table as the code of before left it: images without `family`, hashed without it, no manifest
 * (a new parser hash reads every page anyway); pointers one per OS family and version, the newest usable image
 * of all architectures and types. Returns how many images had a family.
 */
async function downgradeToTodaysItems(store: Store): Promise<number> {
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack.dynamo.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  try {
    await store.clearManifest(SCOPE);
    const images = await store.listImages({ ...SCOPE, all: true });
    let withFamily = 0;
    for (const image of images) {
      const fetched = normalizeApi3Image(image.raw);
      if (fetched.family === null) expect(image.contentHash).toBe(preFamilyHash(fetched));
      else withFamily++;
      const { family: _f, ...old } = image;
      await doc.send(
        new PutCommand({
          TableName: store.tableName,
          Item: { ...imageItem(old as StoredImage), family: undefined, contentHash: preFamilyHash(fetched) },
        }),
      );
    }
    for (const p of (await store.loadPointers(SCOPE)).values())
      await doc.send(
        new DeleteCommand({ TableName: store.tableName, Key: { PK: pointerItem(p).PK, SK: pointerSk(p) } }),
      );
    const groups = new Map<string, StoredImage[]>();
    for (const i of images) {
      if (!i.osFamily || !isUsable(i)) continue;
      const sk = legacyPointerSk(i.osFamily, i.osVersion);
      groups.set(sk, [...(groups.get(sk) ?? []), i]);
    }
    for (const list of groups.values()) {
      const i = newest(list) as StoredImage;
      const p: LatestPointer = {
        ...SCOPE,
        api: "tencent-cvm",
        provider: "tencent",
        osFamily: i.osFamily,
        osVersion: i.osVersion,
        imageId: i.imageId,
        name: i.name,
        createdAt: i.createdAt,
        movedAt: "2026-01-01T00:00:00.000Z",
        runId: "before",
        baseline: true,
        previous: null,
        stale: false,
        staleSince: null,
        rev: 1,
      };
      await doc.send(new PutCommand({ TableName: store.tableName, Item: pointerItem(p) }));
    }
    return withFamily;
  } finally {
    doc.destroy();
  }
}
