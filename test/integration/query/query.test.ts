// The query API against dynalite after real syncs of the emulator: every query, paging past 1 MB pages,
// deprecated images kept out of `latest`, numeric version order, the change history and scope freshness.
//
// The zenlayer-vm dialect (Bearer auth, so its syncs can run on a shifted clock) is synced three times, on
// three UTC days, with catalogue edits in between; tencent-cvm is synced once on the real clock. Tests run in
// file order and call reach(stage) first: stages only advance, so each test sees the stage it names or later.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { StreamRecord } from "../../../lib/events/change-event.ts";
import { type HistoryWriter, storeHistoryWriter } from "../../../lib/events/history.ts";
import { streamRecordsFor } from "../../../lib/events/local.ts";
import { processStreamRecords } from "../../../lib/events/process.ts";
import type { Publisher } from "../../../lib/events/publish.ts";
import { createLogger } from "../../../lib/log.ts";
import type { StoredImage } from "../../../lib/model.ts";
import {
  changesSince,
  createQueryReader,
  findImages,
  getImage,
  handleQuery,
  latestImage,
  listScope,
  parseSince,
  QueryError,
  scopeStatus,
} from "../../../lib/query/index.ts";
import type { ChangeEntry, HistoryEntry, Page } from "../../../lib/query/types.ts";
import { versionKey } from "../../../lib/store/items.ts";
import type { Store } from "../../../lib/store/store.ts";
import type { SyncReport } from "../../../lib/sync/engine.ts";
import { type Stack, startStack } from "../../helpers/stack.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const today0 = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
/** The three vm syncs: noon on three consecutive past UTC days, so history spans day partitions. */
const T = [today0 - 3 * DAY + 12 * HOUR, today0 - 2 * DAY + 12 * HOUR, today0 - DAY + 12 * HOUR] as const;
const BIG = 60_000;

let stack: Stack;
let store: Store;
const reports: SyncReport[] = [];
/** The stream records of the second sync, to deliver them again. */
const secondSyncRecords: StreamRecord[] = [];

type Rec = Record<string, unknown>;
const vmScopes = () => stack.emulator.catalogue.get("zenlayer-vm") as Map<string, Rec[]>;
const records = (scope: string) => vmScopes().get(scope) as Rec[];

/** A zenlayer-vm record as the provider lists it: Fedora, x86 unless arm, optionally carrying a large description. */
function fedora(id: string, version: string, opts: { status?: string; arm?: boolean; bytes?: number } = {}): Rec {
  return {
    imageVersion: version,
    imageId: id,
    imageName: `Fedora ${version} ${opts.arm ? "arm64" : "x86 64-bit"}`,
    imageDescription: opts.bytes ? `${id} `.padEnd(opts.bytes, "lorem ipsum dolor sit amet ") : null,
    osType: "linux",
    imageSize: "30",
    imageStatus: opts.status ?? "AVAILABLE",
    category: "Fedora",
    imageType: "PUBLIC_IMAGE",
  };
}

/** The image a history entry is about; an anomaly (a held mass deprecation) is about none. */
const imageOf = (c: ChangeEntry): string | undefined => (c.changeType === "anomaly" ? undefined : c.imageId);

const noPublish: Publisher = async (entries) => entries.map(() => true);

/** A sync of the vm scopes on a clock shifted to `at`, with the stream consumer recording history (the local path). */
async function vmSync(at: number, capture?: (records: StreamRecord[]) => void): Promise<SyncReport> {
  const history = storeHistoryWriter(store);
  const shift = Date.now() - at;
  const report = await stack.sync(
    stack.config(["zenlayer-vm"], () => ({ scopes: ["FRA-A", "HKG-A", "LAX-A"] })),
    {
      store,
      // LAX-A fails on purpose in every run: its errors are expected, not worth printing.
      log: createLogger({ level: "error", write: () => {} }),
      now: () => Date.now() - shift,
      onChanges: async (changes) => {
        const recs = streamRecordsFor(changes);
        capture?.(recs);
        const r = await processStreamRecords(recs, { publish: noPublish, history });
        expect(r.batchItemFailures).toEqual([]);
      },
    },
  );
  reports.push(report);
  return report;
}

const changeCount = (r: SyncReport) =>
  r.scopes.reduce((n, s) => n + s.added + s.updated + s.deprecated + s.restored, 0);
const removed: Rec[] = [];

/** Runs the syncs up to `stage` (0: baseline, 1: second sync, 2: third sync) with the catalogue edits before each. */
let stage = -1;
async function reach(target: number): Promise<void> {
  while (stage < target) {
    stage++;
    if (stage === 1) {
      // Day 2: fedora 13 becomes unusable; two FRA-A images disappear, two appear, one is re-described.
      (records("HKG-A").find((r) => r.imageId === "img-fedora-13") as Rec).imageStatus = "UNAVAILABLE";
      const fra = records("FRA-A");
      const plain = fra.filter((r) => r.category !== "Fedora" && r.imageStatus === "AVAILABLE");
      for (const r of plain.slice(0, 2)) {
        removed.push(r);
        fra.splice(fra.indexOf(r), 1);
      }
      (plain[2] as Rec).imageDescription = "re-published with security fixes";
      fra.push(
        { ...fedora("img-new-ubuntu-1", "22.04"), category: "Ubuntu", imageName: "Ubuntu Server 22.04 LTS x86 64-bit" },
        { ...fedora("img-new-ubuntu-2", "24.04"), category: "Ubuntu", imageName: "Ubuntu Server 24.04 LTS x86 64-bit" },
      );
      await vmSync(T[1], (recs) => secondSyncRecords.push(...recs));
    } else if (stage === 2) {
      // Day 3: fedora 12 disappears, a removed image comes back, one more is added.
      const hkg = records("HKG-A");
      hkg.splice(
        hkg.findIndex((r) => r.imageId === "img-fedora-12"),
        1,
      );
      records("FRA-A").push(removed[0] as Rec, fedora("img-fedora-7", "7"));
      await vmSync(T[2]);
    } else {
      await vmSync(T[0]);
    }
  }
}

beforeAll(async () => {
  stack = await startStack({ scale: 0.2 });
  store = await stack.freshStore();
  // Over 2.5 MB of Fedora in FRA-A (versions 30-41, two builds each), so the family's index spans several
  // 1 MB pages; HKG-A's few small Fedora images sort below all of them (9 < 10 < ... < 30).
  for (let v = 30; v <= 41; v++) {
    for (const b of [1, 2]) records("FRA-A").push(fedora(`img-fedora-${v}-${b}`, String(v), { bytes: BIG }));
  }
  records("HKG-A").push(
    fedora("img-fedora-9", "9"),
    fedora("img-fedora-10", "10"),
    fedora("img-fedora-11", "11", { status: "CREATING" }),
    fedora("img-fedora-12", "12", { arm: true }),
    fedora("img-fedora-13", "13"),
  );
  // LAX-A never answers: its scope never completes.
  stack.emulator.inject({
    match: { api: "zenlayer-vm", scope: "LAX-A" },
    times: Number.POSITIVE_INFINITY,
    action: { type: "failure", failure: "unavailable" },
  });
  const tencent = await stack.sync(
    stack.config(["tencent-cvm"], () => ({ scopes: ["ap-singapore"] })),
    { store },
  );
  expect(tencent.ok).toBe(true);
  await reach(0);
}, 120_000);

afterAll(async () => {
  store?.close();
  await stack?.close();
});

/** Every item of a paged query, following tokens; fails on a repeated item. */
async function walk<T>(
  call: (token?: string) => Promise<Page<T>>,
  id: (t: T) => string,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await call(token);
    pages++;
    items.push(...page.items);
    token = page.nextPageToken;
    if (pages > 200) throw new Error("page tokens do not end");
  } while (token);
  const ids = items.map(id);
  expect(new Set(ids).size).toBe(ids.length);
  return { items, pages };
}

const numericVersionCompare = (a: string | null, b: string | null): number => {
  const pa = (a ?? "").split(".").map(Number);
  const pb = (b ?? "").split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
};

async function reads<T>(fn: () => Promise<T>): Promise<{ result: T; reads: number }> {
  const before = store.stats.readRequests;
  const result = await fn();
  return { result, reads: store.stats.readRequests - before };
}

describe("image queries", () => {
  it("getImage reads one image by key; listScope lists a scope's active images, or all, page by page", async () => {
    await reach(0);
    const sample = records("HKG-A")[0] as Rec;
    const image = await getImage(store, { account: "zenlayer-vm", scope: "HKG-A", imageId: String(sample.imageId) });
    expect(image).toEqual(await store.getImage("zenlayer-vm", "HKG-A", String(sample.imageId)));
    expect(image?.imageId).toBe(sample.imageId);
    expect(image && "PK" in image).toBe(false);
    expect(await getImage(store, { account: "zenlayer-vm", scope: "HKG-A", imageId: "img-nope" })).toBeUndefined();

    const active = await walk(
      (pageToken) =>
        listScope(
          store,
          { account: "zenlayer-vm", scope: "HKG-A" },
          { limit: 50, ...(pageToken ? { pageToken } : {}) },
        ),
      (i) => i.imageId,
    );
    const expected = await store.listImages({ account: "zenlayer-vm", scope: "HKG-A" });
    expect(active.items.map((i) => i.imageId)).toEqual(expected.map((i) => i.imageId));
    // A full last page carries a token too (DynamoDB cannot know it was the last); the next one is empty.
    expect(active.pages).toBe(Math.floor(expected.length / 50) + 1);
    expect(active.items.every((i) => i.state === "active")).toBe(true);

    const all = await walk(
      (pageToken) =>
        listScope(
          store,
          { account: "zenlayer-vm", scope: "HKG-A", activeOnly: false },
          { limit: 64, ...(pageToken ? { pageToken } : {}) },
        ),
      (i) => i.imageId,
    );
    expect(all.items.length).toBe(records("HKG-A").length);
    // The generated catalogue has unusable images, stored deprecated from the baseline on.
    expect(all.items.length).toBeGreaterThan(active.items.length);
  });

  it("findImages pages past 1 MB DynamoDB pages: tokens walk every image of the family once, newest version first", async () => {
    await reach(0);
    const fedoraIds = [...records("FRA-A"), ...records("HKG-A")]
      .filter((r) => r.category === "Fedora")
      .map((r) => String(r.imageId));
    expect(fedoraIds.length).toBe(29);

    // One call: more than 1 MB, so DynamoDB answers in several pages and the call reads them all.
    const one = await reads(() => findImages(store, { osFamily: "Fedora" }, { limit: 1000 }));
    expect(one.result.items.length).toBe(29);
    expect(one.result.nextPageToken).toBeUndefined();
    expect(one.reads).toBeGreaterThanOrEqual(3);
    const keys = one.result.items.map((i) => versionKey(i.osVersion));
    expect(keys).toEqual([...keys].sort().reverse());
    expect(one.result.items[0]?.osVersion).toBe("41");
    expect(one.result.items.at(-1)?.osVersion).toBe("9");

    // Small pages: the same images in the same order, none twice.
    const paged = await walk(
      (pageToken) => findImages(store, { osFamily: "fedora" }, { limit: 7, ...(pageToken ? { pageToken } : {}) }),
      (i) => `${i.scope}/${i.imageId}`,
    );
    expect(paged.items.map((i) => i.imageId)).toEqual(one.result.items.map((i) => i.imageId));
    expect(paged.pages).toBe(Math.ceil(29 / 7));
    expect(new Set(paged.items.map((i) => i.imageId))).toEqual(new Set(fedoraIds));

    // Filtered: DynamoDB pages stop at 1 MB (about 8 big images), so pages of 10 end inside a DynamoDB page.
    const fra = await walk(
      (pageToken) =>
        findImages(store, { osFamily: "fedora", scope: "FRA-A" }, { limit: 10, ...(pageToken ? { pageToken } : {}) }),
      (i) => i.imageId,
    );
    expect(fra.items.length).toBe(24);
    expect(fra.pages).toBe(3);
    expect(fra.items.every((i) => i.scope === "FRA-A")).toBe(true);
  });

  it("findImages filters by version prefix, architecture, availability, provider and scope", async () => {
    await reach(0);
    const v41 = await findImages(store, { osFamily: "fedora", osVersion: "41" });
    expect(v41.items.map((i) => i.imageId).sort()).toEqual(["img-fedora-41-1", "img-fedora-41-2"]);
    // "4" is a whole-part prefix: it matches no 40 or 41.
    expect((await findImages(store, { osFamily: "fedora", osVersion: "4" })).items).toEqual([]);
    const arm = await findImages(store, { osFamily: "fedora", architecture: "aarch64" });
    expect(arm.items.map((i) => i.imageId)).toEqual(["img-fedora-12"]);
    const unavailable = await findImages(store, { osFamily: "fedora", available: false, state: "active" });
    expect(unavailable.items.map((i) => i.imageId)).toEqual(["img-fedora-11"]);

    // Tencent has its own families; the provider filter keeps them apart from Zenlayer's.
    const tencentImage = (await store.listImages({ account: "tencent-cvm", all: true })).find((i) => i.osFamily);
    expect(tencentImage).toBeDefined();
    const family = tencentImage?.osFamily as string;
    const tencent = await findImages(store, { osFamily: family, provider: "tencent" }, { limit: 1000 });
    const expectedTencent = (await store.listImages({ account: "tencent-cvm", all: true })).filter(
      (i) => i.osFamily === family,
    );
    expect(tencent.items.length).toBe(expectedTencent.length);
    expect(tencent.items.every((i) => i.provider === "tencent")).toBe(true);
    const zenlayer = await findImages(store, { osFamily: family, provider: "zenlayer" }, { limit: 1000 });
    expect(zenlayer.items.every((i) => i.provider === "zenlayer")).toBe(true);
    // Within one version, newer builds first (Tencent images carry their creation time).
    for (let i = 1; i < tencent.items.length; i++) {
      const [a, b] = [tencent.items[i - 1] as StoredImage, tencent.items[i] as StoredImage];
      if (versionKey(a.osVersion) === versionKey(b.osVersion))
        expect((a.createdAt ?? "") >= (b.createdAt ?? "")).toBe(true);
    }
  });

  it("orders versions numerically: 22.04 above 20.04, 10 above 9", async () => {
    await reach(0);
    const ubuntu = await walk(
      (pageToken) =>
        findImages(
          store,
          { osFamily: "ubuntu", scope: "FRA-A", state: "active" },
          { limit: 40, ...(pageToken ? { pageToken } : {}) },
        ),
      (i) => i.imageId,
    );
    const versions = ubuntu.items.map((i) => i.osVersion);
    for (let i = 1; i < versions.length; i++)
      expect(numericVersionCompare(versions[i - 1] ?? null, versions[i] ?? null)).toBeGreaterThanOrEqual(0);
    const at = (v: string) => versions.indexOf(v);
    expect(at("22.04")).toBeGreaterThanOrEqual(0);
    expect(at("20.04")).toBeGreaterThan(at("22.04"));

    const x86 = { architecture: "x86_64", imageType: "public" };
    const latest2204 = await latestImage(store, { osFamily: "ubuntu", osVersion: "22.04", scope: "FRA-A", ...x86 });
    expect(latest2204?.osVersion).toBe("22.04");
    const latest20 = await latestImage(store, { osFamily: "ubuntu", osVersion: "20", scope: "FRA-A", ...x86 });
    expect(latest20?.osVersion).toBe("20.04");
    const usable = records("FRA-A").filter(
      (r) =>
        r.category === "Ubuntu" &&
        r.imageStatus === "AVAILABLE" &&
        r.imageType === "PUBLIC_IMAGE" &&
        / x86 64-bit$/.test(String(r.imageName)),
    );
    const top = usable
      .map((r) => String(r.imageVersion))
      .sort(numericVersionCompare)
      .at(-1);
    expect((await latestImage(store, { osFamily: "ubuntu", scope: "FRA-A", ...x86 }))?.osVersion).toBe(top);

    // A string sort would put 9 first; HKG-A holds Fedora 9 to 13, below 2.5 MB of Fedora 30-41.
    const hkg = await findImages(store, { osFamily: "fedora", scope: "HKG-A" });
    expect(hkg.items.map((i) => i.osVersion)).toEqual(["13", "12", "11", "10", "9"]);
    expect((await latestImage(store, { osFamily: "fedora", osVersion: "10", scope: "HKG-A" }))?.imageId).toBe(
      "img-fedora-10",
    );
    expect((await latestImage(store, { osFamily: "fedora", osVersion: "9", scope: "HKG-A" }))?.imageId).toBe(
      "img-fedora-9",
    );
    // Version prefixes match whole parts: "1" is neither 10 nor 13.
    expect(await latestImage(store, { osFamily: "fedora", osVersion: "1", scope: "HKG-A" })).toBeUndefined();
  });

  it("latestImage is the newest usable image: it reads past 1 MB pages, skips unavailable and deprecated images", async () => {
    await reach(0);
    const first = await reads(() => latestImage(store, { osFamily: "fedora", scope: "HKG-A", architecture: "x86_64" }));
    expect(first.result?.imageId).toBe("img-fedora-13");
    expect(first.reads).toBeGreaterThanOrEqual(3);
    // x86_64 13 and arm64 12 are both usable: a question without an architecture is refused, never guessed.
    await expect(latestImage(store, { osFamily: "fedora", scope: "HKG-A" })).rejects.toMatchObject({
      code: "AMBIGUOUS_QUERY",
      message: expect.stringMatching(/architectures x86_64 and arm64.*ask again with architecture/),
    });
    expect((await latestImage(store, { osFamily: "fedora", scope: "HKG-A", architecture: "arm64" }))?.imageId).toBe(
      "img-fedora-12",
    );
    // 11 is CREATING: active, but not usable yet.
    expect(await latestImage(store, { osFamily: "fedora", osVersion: "11", scope: "HKG-A" })).toBeUndefined();
    expect(await latestImage(store, { osFamily: "fedora", scope: "SIN-A" })).toBeUndefined();
    expect(await latestImage(store, { osFamily: "fedora", scope: "HKG-A", account: "other" })).toBeUndefined();

    // Fedora 13 turns UNAVAILABLE: deprecated (status), so the arm64 Fedora 12 is the newest usable.
    await reach(1);
    expect(await store.getImage("zenlayer-vm", "HKG-A", "img-fedora-13")).toMatchObject({
      state: "deprecated",
      deprecationReason: "status",
    });
    expect((await latestImage(store, { osFamily: "fedora", scope: "HKG-A", architecture: "arm" }))?.imageId).toBe(
      "img-fedora-12",
    );
    // 10 above 9 among x86 images.
    expect((await latestImage(store, { osFamily: "fedora", scope: "HKG-A", architecture: "amd64" }))?.imageId).toBe(
      "img-fedora-10",
    );

    // Fedora 12 disappears from the listing: deprecated (missing), and 10 is the newest usable.
    await reach(2);
    expect(await store.getImage("zenlayer-vm", "HKG-A", "img-fedora-12")).toMatchObject({
      state: "deprecated",
      deprecationReason: "missing",
    });
    // Only x86_64 images are usable now: the question without an architecture has one answer again.
    expect((await latestImage(store, { osFamily: "fedora", scope: "HKG-A" }))?.imageId).toBe("img-fedora-10");
    const deprecated = await findImages(store, { osFamily: "fedora", state: "deprecated" });
    expect(deprecated.items.map((i) => i.imageId)).toEqual(["img-fedora-13", "img-fedora-12"]);
  });

  it("latestImage never answers a deprecated image, even one still marked available", async () => {
    await reach(0);
    const ten = (await store.getImage("zenlayer-vm", "HKG-A", "img-fedora-10")) as StoredImage;
    const other = await stack.freshStore();
    try {
      // The sync withdraws `available` when it deprecates; an item written otherwise must still not be launched.
      await other.writeChanges([
        { kind: "added", before: null, after: ten },
        {
          kind: "added",
          before: null,
          after: { ...ten, imageId: "img-fedora-99", osVersion: "99", state: "deprecated", deprecationReason: "flag" },
        },
      ]);
      expect((await findImages(other, { osFamily: "fedora" })).items.map((i) => i.imageId)).toEqual([
        "img-fedora-99",
        "img-fedora-10",
      ]);
      expect((await latestImage(other, { osFamily: "fedora", scope: "HKG-A" }))?.imageId).toBe("img-fedora-10");
    } finally {
      other.close();
    }
  });

  it("a downstream Lambda's reader (its own client, table name only) answers the same", async () => {
    await reach(0);
    const client = new DynamoDBClient({
      endpoint: stack.dynamo.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    try {
      const reader = createQueryReader({ tableName: store.tableName, client });
      const q = { osFamily: "ubuntu", scope: "FRA-A", architecture: "arm64", imageType: "public" };
      const theirs = await latestImage(reader, q);
      expect(theirs).toEqual(await latestImage(store, q));
      expect(theirs?.architecture).toBe("arm64");
      expect(theirs?.osFamily).toBe("ubuntu");
    } finally {
      client.destroy();
    }
  });

  it("rejects bad input and foreign page tokens with a QueryError", async () => {
    await expect(findImages(store, { osFamily: "" })).rejects.toMatchObject({ code: "INVALID_QUERY" });
    await expect(findImages(store, { osFamily: "fedora", osVersion: "..." })).rejects.toBeInstanceOf(QueryError);
    await expect(findImages(store, { osFamily: "fedora" }, { limit: 0 })).rejects.toMatchObject({
      code: "INVALID_QUERY",
    });
    await expect(latestImage(store, { osFamily: "fedora", scope: "" })).rejects.toMatchObject({
      code: "INVALID_QUERY",
    });
    const page = await findImages(store, { osFamily: "fedora" }, { limit: 2 });
    expect(page.nextPageToken).toBeDefined();
    await expect(
      findImages(store, { osFamily: "ubuntu" }, { limit: 2, pageToken: page.nextPageToken as string }),
    ).rejects.toMatchObject({ code: "INVALID_PAGE_TOKEN" });
    await expect(
      listScope(store, { account: "zenlayer-vm", scope: "FRA-A" }, { pageToken: "bm90IGpzb24" }),
    ).rejects.toMatchObject({ code: "INVALID_PAGE_TOKEN" });
  });
});

describe("change history", () => {
  it("records one history item per change event, partitioned by day, with a 30-day TTL, idempotently", async () => {
    await reach(2);
    const expected = changeCount(reports[1] as SyncReport);
    expect(expected).toBe(6);
    const day = new Date(T[1]).toISOString().slice(0, 10);
    const page = await store.queryPage({
      KeyConditionExpression: "PK = :pk",
      ExpressionAttributeValues: { ":pk": `HIST#${day}` },
    });
    expect(page.items.length).toBe(expected);
    for (const item of page.items) {
      expect(item.itemType).toBe("history");
      expect(item.SK).toBe(`${item.detectedAt}#${item.eventId}`);
      expect(item.expiresAt).toBe(Math.floor(Date.parse(String(item.detectedAt)) / 1000) + 30 * 24 * 3600);
      expect(Object.keys(item).some((k) => k.startsWith("GSI"))).toBe(false);
    }
    // The stream delivers the second sync's records again: same items, nothing new.
    const again = await processStreamRecords(secondSyncRecords, {
      publish: noPublish,
      history: storeHistoryWriter(store),
    });
    expect(again.recorded).toBe(expected);
    const after = await changesSince(store, new Date(T[0]));
    expect(after.items.length).toBe(expected + changeCount(reports[2] as SyncReport));
  });

  it("changesSince: oldest first across day partitions, bounded by since and until, filtered, paged", async () => {
    await reach(2);
    const second = changeCount(reports[1] as SyncReport);
    const third = changeCount(reports[2] as SyncReport);
    expect(third).toBe(3);

    const all = await changesSince(store, new Date(T[0]));
    expect(all.items.length).toBe(second + third);
    expect(all.nextPageToken).toBeUndefined();
    const times = all.items.map((c) => c.detectedAt);
    expect(times).toEqual([...times].sort());
    expect(new Set(all.items.map((c) => c.detectedAt.slice(0, 10)))).toEqual(
      new Set([new Date(T[1]).toISOString().slice(0, 10), new Date(T[2]).toISOString().slice(0, 10)]),
    );
    const kinds = all.items.map((c) => `${c.changeType}:${imageOf(c)}`);
    expect(kinds).toContain("deprecated:img-fedora-13");
    expect(kinds).toContain("deprecated:img-fedora-12");
    expect(kinds).toContain("added:img-new-ubuntu-1");
    expect(kinds).toContain(`restored:${removed[0]?.imageId}`);
    expect(all.items.find((c): c is HistoryEntry => c.changeType === "updated")?.changedFields).toContain(
      "description",
    );
    expect(all.items.find((c) => imageOf(c) === "img-fedora-13")).toMatchObject({
      reason: "status",
      status: "UNAVAILABLE",
      state: "deprecated",
      scope: "HKG-A",
    });

    expect((await changesSince(store, new Date(T[1] + HOUR))).items.length).toBe(third);
    expect((await changesSince(store, new Date(T[0]), { until: new Date(T[1] + HOUR) })).items.length).toBe(second);
    expect((await changesSince(store, new Date(T[2] + HOUR))).items).toEqual([]);

    const hkg = await changesSince(store, new Date(T[0]), { scope: "HKG-A" });
    expect(hkg.items.map(imageOf)).toEqual(["img-fedora-13", "img-fedora-12"]);
    const deprecated = await changesSince(store, new Date(T[0]), { changeType: "deprecated" });
    expect(deprecated.items.length).toBe(4);
    expect((await changesSince(store, new Date(T[0]), { account: "tencent-cvm" })).items).toEqual([]);

    const paged = await walk(
      (pageToken) => changesSince(store, new Date(T[0]), { limit: 4, ...(pageToken ? { pageToken } : {}) }),
      (c) => c.eventId,
    );
    expect(paged.items).toEqual(all.items);
    expect(paged.pages).toBe(Math.ceil((second + third) / 4));

    await expect(changesSince(store, new Date(T[2]), { until: new Date(T[0]) })).rejects.toMatchObject({
      code: "INVALID_QUERY",
    });
    await expect(changesSince(store, new Date(Number.NaN))).rejects.toMatchObject({ code: "INVALID_QUERY" });
    await expect(
      changesSince(store, new Date(T[2] + HOUR), {
        pageToken: (await changesSince(store, new Date(T[0]), { limit: 1 })).nextPageToken as string,
      }),
    ).rejects.toMatchObject({ code: "INVALID_PAGE_TOKEN" });
  });

  it("a history entry that is not stored fails its stream record, so the stream retries it", async () => {
    await reach(2);
    const records = secondSyncRecords.filter((r) => r.dynamodb?.OldImage);
    expect(records.length).toBeGreaterThanOrEqual(2);
    const flaky: HistoryWriter = { record: async (entries) => entries.map((_, i) => i !== 1) };
    const r = await processStreamRecords(records, { publish: noPublish, history: flaky });
    expect(r.batchItemFailures).toEqual([{ itemIdentifier: records[1]?.dynamodb?.SequenceNumber }]);
    expect(r.recorded).toBe(r.events.length - 1);
    const broken: HistoryWriter = {
      record: async () => {
        throw new Error("table gone");
      },
    };
    const all = await processStreamRecords(records, { publish: noPublish, history: broken });
    expect(all.batchItemFailures.length).toBe(all.events.length);
    // Without a writer (as before history existed), nothing is recorded and nothing fails.
    const none = await processStreamRecords(records, { publish: noPublish });
    expect(none).toMatchObject({ batchItemFailures: [], recorded: 0 });
  });

  it("parseSince reads durations and ISO times, nothing else", () => {
    const now = new Date("2025-03-10T12:00:00.000Z");
    expect(parseSince("24h", now)?.toISOString()).toBe("2025-03-09T12:00:00.000Z");
    expect(parseSince("7d", now)?.toISOString()).toBe("2025-03-03T12:00:00.000Z");
    expect(parseSince("30m", now)?.toISOString()).toBe("2025-03-10T11:30:00.000Z");
    expect(parseSince("2025-03-01T00:00:00Z", now)?.toISOString()).toBe("2025-03-01T00:00:00.000Z");
    expect(parseSince("2025-03-01", now)?.toISOString()).toBe("2025-03-01T00:00:00.000Z");
    for (const bad of ["yesterday", "1", "24", "h", "-1h", "2025-13-45"]) expect(parseSince(bad, now)).toBeUndefined();
  });
});

describe("scope status", () => {
  it("reports every scope's last complete sweep, counts and last error, flagging stale ones", async () => {
    await reach(2);
    const fresh = await scopeStatus(store, { now: new Date(T[2] + HOUR) });
    expect(fresh.map((s) => `${s.account}/${s.scope}`)).toEqual([
      "tencent-cvm/ap-singapore",
      "zenlayer-vm/FRA-A",
      "zenlayer-vm/HKG-A",
      "zenlayer-vm/LAX-A",
    ]);
    const by = (list: typeof fresh, scope: string) => list.find((s) => s.scope === scope);
    expect(by(fresh, "FRA-A")).toMatchObject({ stale: false, lastOutcome: "complete", heldDeprecations: 0 });
    expect(by(fresh, "FRA-A")?.ageHours).toBeCloseTo(1, 1);
    const hkgStatus = await store.getScopeStatus("zenlayer-vm", "HKG-A");
    expect(by(fresh, "HKG-A")?.counts).toEqual(hkgStatus?.counts);
    expect(by(fresh, "HKG-A")?.lastCompleteAt).toBe(hkgStatus?.lastCompleteAt);
    // Never complete: stale however fresh the others are, with the error that keeps it so.
    expect(by(fresh, "LAX-A")).toMatchObject({
      stale: true,
      lastCompleteAt: null,
      ageHours: null,
      lastOutcome: "failed",
    });
    expect(by(fresh, "LAX-A")?.lastError?.code).toMatch(/\S/);

    const later = await scopeStatus(store, { now: new Date(T[2] + 7 * HOUR) });
    expect(by(later, "FRA-A")?.stale).toBe(true);
    const lenient = await scopeStatus(store, { now: new Date(T[2] + 7 * HOUR), staleAfterHours: 8 });
    expect(by(lenient, "FRA-A")?.stale).toBe(false);
    const vmOnly = await scopeStatus(store, { account: "zenlayer-vm", now: new Date(T[2] + HOUR) });
    expect(vmOnly.map((s) => s.scope)).toEqual(["FRA-A", "HKG-A", "LAX-A"]);
    await expect(scopeStatus(store, { staleAfterHours: 0 })).rejects.toMatchObject({ code: "INVALID_QUERY" });
  });
});

describe("query Lambda", () => {
  const deps = () => ({ reader: store, staleAfterHours: 6, now: () => new Date(T[2] + HOUR) });

  it("answers latest, changes (paged) and status", async () => {
    await reach(2);
    expect(await handleQuery({ action: "latest", osFamily: "fedora", scope: "HKG-A" }, deps())).toMatchObject({
      image: { imageId: "img-fedora-10", state: "active", available: true },
    });
    expect(await handleQuery({ action: "latest", osFamily: "fedora", scope: "SIN-A" }, deps())).toEqual({
      image: null,
    });
    // FRA-A holds usable Ubuntu images of two architectures and of two types: an error code, never a guess.
    const ambiguous = await handleQuery({ action: "latest", osFamily: "ubuntu", scope: "FRA-A" }, deps());
    expect(ambiguous).toMatchObject({ error: { code: "AMBIGUOUS_QUERY" } });
    expect(
      await handleQuery(
        { action: "latest", osFamily: "ubuntu", scope: "FRA-A", architecture: "aarch64", imageType: "public" },
        deps(),
      ),
    ).toMatchObject({ image: { architecture: "arm64", imageType: "public", osFamily: "ubuntu" } });

    const changes = await handleQuery({ action: "changes", since: new Date(T[0]).toISOString() }, deps());
    expect("changes" in changes && changes.changes.length).toBe(9);
    const first = await handleQuery({ action: "changes", since: "3d", limit: 5 }, deps());
    if (!("changes" in first)) throw new Error(JSON.stringify(first));
    expect(first.changes.length).toBe(5);
    const rest = await handleQuery({ action: "changes", since: "3d", pageToken: first.nextPageToken }, deps());
    if (!("changes" in rest)) throw new Error(JSON.stringify(rest));
    expect([...first.changes, ...rest.changes].map((c) => c.eventId)).toEqual(
      "changes" in changes ? changes.changes.map((c) => c.eventId) : [],
    );
    const hkg = await handleQuery({ action: "changes", since: "3d", scope: "HKG-A", changeType: "deprecated" }, deps());
    expect("changes" in hkg && hkg.changes.map(imageOf)).toEqual(["img-fedora-13", "img-fedora-12"]);

    const status = await handleQuery({ action: "status" }, deps());
    expect(status).toMatchObject({ stale: 1, staleAfterHours: 6 });
    expect("scopes" in status && status.scopes.find((s) => s.stale)?.scope).toBe("LAX-A");
    expect(await handleQuery({ action: "status", staleAfterHours: 0.5 }, deps())).toMatchObject({ stale: 3 });
  });

  it("answers bad input with {error: {code, message}}", async () => {
    const cases: Array<[unknown, RegExp]> = [
      [null, /JSON object/],
      [{}, /action must be one of latest, changes, status/],
      [{ action: "scan" }, /action must be one of/],
      [{ action: "latest", osFamily: "fedora" }, /scope is required/],
      [{ action: "latest", osFamily: "fedora", scope: "HKG-A", os: "x" }, /unknown parameter "os"/],
      [{ action: "latest", osFamily: 7, scope: "HKG-A" }, /osFamily must be a non-empty string/],
      [{ action: "changes" }, /since is required/],
      [{ action: "changes", since: "yesterday" }, /since must be an ISO 8601 time or a duration/],
      [{ action: "changes", since: "1d", changeType: "removed" }, /changeType must be one of/],
      [{ action: "changes", since: "1d", limit: 5000 }, /limit must be an integer/],
      [{ action: "status", staleAfterHours: "6" }, /staleAfterHours must be a number/],
    ];
    for (const [event, message] of cases) {
      const r = await handleQuery(event, deps());
      expect(r, JSON.stringify(event)).toMatchObject({ error: { code: "INVALID_QUERY" } });
      expect("error" in r && r.error.message).toMatch(message);
    }
    expect(await handleQuery({ action: "changes", since: "1d", pageToken: "garbage" }, deps())).toMatchObject({
      error: { code: "INVALID_PAGE_TOKEN" },
    });
  });

  it("the handler module fails at cold start naming TABLE_NAME, and answers once it is set", async () => {
    vi.resetModules();
    vi.stubEnv("TABLE_NAME", "");
    try {
      await expect(import("../../../handlers/query.ts")).rejects.toThrow(/TABLE_NAME/);
      vi.resetModules();
      vi.stubEnv("EVENT_BUS_NAME", "bus");
      await expect(import("../../../handlers/changes.ts")).rejects.toThrow(/TABLE_NAME/);
      vi.resetModules();
      vi.stubEnv("TABLE_NAME", "images");
      const { handler } = await import("../../../handlers/query.ts");
      expect(await handler({ action: "nope" })).toMatchObject({ error: { code: "INVALID_QUERY" } });
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
