// Every item written is under DynamoDB's 400 KB whatever the provider sends; an image that cannot be stored
// fails alone; numbers beyond 2^53 in a provider record are kept exactly. Emulator over real HTTP, dynalite.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseJsonLossless } from "../../../lib/json.ts";
import type { FetchedImage, StoredImage } from "../../../lib/model.ts";
import { ITEM_LIMIT_BYTES, itemSizeBytes } from "../../../lib/store/item-size.ts";
import { imageItem } from "../../../lib/store/items.ts";
import { createStore } from "../../../lib/store/store.ts";
import { fitRaw, TRIM_MARKER } from "../../../lib/sync/fit.ts";
import { startDynamoProxy } from "../../helpers/dynamo-proxy.ts";
import { type Stack, startStack } from "../../helpers/stack.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ scale: 0.2 });
});
afterAll(async () => {
  await stack?.close();
});

const records = (scope: string) => {
  const list = stack.emulator.catalogue.get("zenlayer-vm")?.get(scope);
  if (!list) throw new Error(`no zenlayer-vm ${scope}`);
  return list;
};
const vm = (scope: string) => stack.config(["zenlayer-vm"], () => ({ scopes: [scope] }));
const manyFields = () => Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`f${i}`, "y".repeat(900)]));

describe("fitRaw", () => {
  it("trims 500 fields of 900 bytes (455 KB) largest first until the whole item fits, keeping the id", () => {
    const image = {
      imageId: "img-1",
      description: "d".repeat(200 * 1024),
      raw: { imageId: "img-1", ...manyFields(), small: 1 },
    } as unknown as FetchedImage;
    const fitted = fitRaw(image);
    const item = imageItem({ ...fitted, account: "a", scope: "s", rev: 1 } as unknown as StoredImage);
    expect(itemSizeBytes(item)).toBeLessThan(ITEM_LIMIT_BYTES);
    expect(fitted.raw.imageId).toBe("img-1");
    expect(fitted.raw.small).toBe(1);
    expect(fitted.raw[TRIM_MARKER]).toMatchObject({ droppedCount: expect.any(Number) });
    expect(fitRaw(image)).toEqual(fitted);
  });
});

describe("oversized provider records, over real HTTP", () => {
  it("a record of 500 fields of 900 bytes is trimmed and stored; the scope completes", async () => {
    const store = await stack.freshStore();
    const rec = records("FRA-A")[0] as Record<string, unknown>;
    const fields = manyFields();
    Object.assign(rec, fields);
    try {
      const r = await stack.sync(vm("FRA-A"), { store });
      expect(r.scopes[0]).toMatchObject({ status: "complete", added: records("FRA-A").length });
      const img = await store.getImage("zenlayer-vm", "FRA-A", String(rec.imageId));
      expect(img?.raw.imageId).toBe(rec.imageId);
      expect(img?.raw[TRIM_MARKER]).toMatchObject({ droppedCount: expect.any(Number) });
    } finally {
      for (const k of Object.keys(fields)) delete rec[k];
    }
  });

  it("an image that cannot be stored fails alone, naming it; the rest of its batch is written, nothing deprecated", async () => {
    const store = await stack.freshStore();
    const list = records("HKG-A");
    expect(list.length).toBeGreaterThan(25);
    const rec = list[3] as Record<string, unknown>;
    const was = rec.imageDescription;
    rec.imageDescription = "z".repeat(450 * 1024);
    try {
      const r = await stack.sync(vm("HKG-A"), { store });
      expect(r.scopes[0]).toMatchObject({ status: "failed", deprecated: 0 });
      expect(r.scopes[0]?.error?.code).toBe("ITEM_TOO_LARGE");
      expect(r.scopes[0]?.error?.message).toContain(String(rec.imageId));
      const stored = await store.listImages({ account: "zenlayer-vm", scope: "HKG-A", all: true });
      expect(stored.map((i) => i.imageId).sort()).toEqual(
        list
          .map((x) => String(x.imageId))
          .filter((id) => id !== rec.imageId)
          .sort(),
      );
      expect(stored.filter((i) => i.deprecationReason === "missing")).toEqual([]);
    } finally {
      rec.imageDescription = was;
    }
  });
});

describe("an item DynamoDB refuses although it measured under the limit", () => {
  it("fails alone: its BatchWriteItem is written image by image", async () => {
    const proxy = await startDynamoProxy(stack.dynamo.endpoint);
    const table = (await stack.freshStore()).tableName;
    const store = createStore({ tableName: table, endpoint: proxy.endpoint, localCredentials: true });
    const list = records("LAX-A");
    const refused = String((list[5] as Record<string, unknown>).imageId);
    proxy.refusedImageIds.add(refused);
    try {
      const r = await stack.sync(vm("LAX-A"), { store });
      expect(r.scopes[0]).toMatchObject({ status: "failed", deprecated: 0 });
      expect(r.scopes[0]?.error?.code).toBe("ITEM_TOO_LARGE");
      expect(r.scopes[0]?.error?.message).toContain(refused);
      expect(proxy.seen.refused).toBe(2);
      const stored = await store.listImages({ account: "zenlayer-vm", scope: "LAX-A", all: true });
      expect(stored.length).toBe(list.length - 1);
      expect(stored.some((i) => i.imageId === refused)).toBe(false);
    } finally {
      store.close();
      await proxy.close();
    }
  });
});

describe("numbers beyond 2^53 in a provider body", () => {
  const BODY =
    '{"requestId":"r-big","response":{"requestId":"r-big","images":[{"imageId":"img-big","imageName":"Big 22.04",' +
    '"catalog":"ubuntu","imageType":"PUBLIC_IMAGE","osType":"linux","buildNumber":12345678901234567890123,' +
    '"nested":{"ids":[9007199254740993,-9007199254740993,42],"huge":1.5e300,"fine":9007199254740991}}]}}';

  it("are kept exactly, as strings, by the lossless parse", () => {
    expect(parseJsonLossless('{"a":"12345678901234567890 in a string","b":12345678901234567890}')).toEqual({
      a: "12345678901234567890 in a string",
      b: "12345678901234567890",
    });
  });

  it("are stored without loss through the zenlayer-bmc adapter", async () => {
    const store = await stack.freshStore();
    stack.emulator.inject({
      match: { api: "zenlayer-bmc", action: "DescribeImages" },
      times: 1,
      action: { type: "http", status: 200, body: BODY, headers: { "content-type": "application/json" } },
    });
    try {
      const r = await stack.sync(stack.config(["zenlayer-bmc"]), { store });
      expect(r.scopes[0]).toMatchObject({ status: "complete", added: 1 });
      const img = await store.getImage("zenlayer-bmc", "global", "img-big");
      expect(img?.raw.buildNumber).toBe("12345678901234567890123");
      expect(img?.raw.nested).toEqual({
        ids: ["9007199254740993", "-9007199254740993", 42],
        huge: "1.5e300",
        fine: 9007199254740991,
      });
    } finally {
      stack.emulator.clearFaults();
    }
  });
});
