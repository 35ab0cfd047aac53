// `where`: the latest usable image of an OS family in every scope of every account, across Zenlayer and Tencent,
// after real syncs of the emulator into dynalite: one GSI2 Query on the pointers, paged, stale pointers marked.
// Tests run in file order: the stale test adds a Fedora 39 build that the CLI tests after it expect.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../../lib/cli.ts";
import {
  findImages,
  type LatestPointer,
  latestImage,
  QueryError,
  type WhereQuery,
  whereLatest,
} from "../../../lib/query/index.ts";
import { handleQuery } from "../../../lib/query/invoke.ts";
import { versionKey } from "../../../lib/store/items.ts";
import type { Store } from "../../../lib/store/store.ts";
import { type Stack, startStack } from "../../helpers/stack.ts";

let stack: Stack;
let store: Store;
type Rec = Record<string, unknown>;

/** A zenlayer-vm Fedora build (Zenlayer states no creation time: the dated id orders builds). */
const zl = (id: string, version: string, status = "AVAILABLE"): Rec => ({
  imageVersion: version,
  imageId: id,
  imageName: `Fedora ${version} x86 64-bit`,
  imageDescription: null,
  osType: "linux",
  imageSize: "30",
  imageStatus: status,
  category: "Fedora",
  imageType: "PUBLIC_IMAGE",
});

/** A tencent-cvm Fedora image in the API 3.0 shape. */
const tc = (id: string, version: string, created: string, state = "NORMAL"): Rec => ({
  ImageId: id,
  OsName: `Fedora ${version} 64bit`,
  ImageType: "PUBLIC_IMAGE",
  CreatedTime: created,
  ImageName: `Fedora ${version} 64bit`,
  ImageDescription: "",
  ImageSize: 20,
  Architecture: "x86_64",
  ImageState: state,
  Platform: "Fedora",
  ImageCreator: "",
  ImageSource: "OFFICIAL",
  SyncPercent: 100,
  IsSupportCloudinit: true,
  SnapshotSet: [],
  Tags: [],
  LicenseType: "TencentCloud",
  ImageFamily: "",
  ImageDeprecated: false,
});

const listing = (api: string, scope: string) => stack.emulator.catalogue.get(api as "zenlayer-vm")?.get(scope) as Rec[];

const config = () => ({
  accounts: [
    ...stack.config(["zenlayer-vm"], () => ({ scopes: ["FRA-A", "HKG-A"] })).accounts,
    ...stack.config(["tencent-cvm"], () => ({ scopes: ["ap-guangzhou", "ap-shanghai"] })).accounts,
  ],
});

async function sync() {
  const report = await stack.sync(config(), { store });
  expect(report.ok).toBe(true);
  return report;
}

beforeAll(async () => {
  stack = await startStack({ scale: 0.1 });
  store = await stack.freshStore();
  listing("zenlayer-vm", "FRA-A").push(zl("fedora39-20250101", "39"), zl("fedora40-20250301", "40"));
  listing("zenlayer-vm", "HKG-A").push(zl("fedora40-20250101", "40"), zl("fedora40-20250601", "40"));
  listing("tencent-cvm", "ap-guangzhou").push(
    tc("img-fed39new", "39", "2025-05-01T00:00:00+00:00"),
    tc("img-fed39old", "39", "2025-01-01T00:00:00+00:00"),
  );
  listing("tencent-cvm", "ap-shanghai").push(
    tc("img-fed40", "40", "2025-02-01T00:00:00+00:00"),
    // Never usable: no pointer for Fedora 38 in ap-shanghai.
    tc("img-fed38", "38", "2025-03-01T00:00:00+00:00", "CREATEFAILED"),
  );
  await sync();
});
afterAll(async () => {
  await stack?.close();
});

const row = (p: LatestPointer) => [p.osVersion, p.account, p.scope, p.imageId];

async function all(query: WhereQuery, limit?: number) {
  const items: LatestPointer[] = [];
  let pageToken: string | undefined;
  let pages = 0;
  do {
    const page = await whereLatest(store, query, { ...(limit ? { limit } : {}), ...(pageToken ? { pageToken } : {}) });
    items.push(...page.items);
    pageToken = page.nextPageToken;
    pages++;
  } while (pageToken);
  return { items, pages };
}

describe("whereLatest", () => {
  it("lists the newest usable image per account, scope and version, across providers, with one Query", async () => {
    const reads = store.stats.readRequests;
    const page = await whereLatest(store, { osFamily: "fedora" });
    expect(store.stats.readRequests - reads).toBe(1);
    expect(page.nextPageToken).toBeUndefined();
    expect(page.items.map(row)).toEqual([
      ["39", "tencent-cvm", "ap-guangzhou", "img-fed39new"],
      ["39", "zenlayer-vm", "FRA-A", "fedora39-20250101"],
      ["40", "tencent-cvm", "ap-shanghai", "img-fed40"],
      ["40", "zenlayer-vm", "FRA-A", "fedora40-20250301"],
      ["40", "zenlayer-vm", "HKG-A", "fedora40-20250601"],
    ]);
    expect(page.items[0]).toMatchObject({
      api: "tencent-cvm",
      provider: "tencent",
      osFamily: "fedora",
      name: "Fedora 39 64bit",
      createdAt: "2025-05-01T00:00:00.000Z",
      baseline: true,
      stale: false,
    });
    expect(page.items[0]).not.toHaveProperty("GSI2PK");
  });

  it("is served by the query Lambda's where action too", async () => {
    const viaLambda = await handleQuery({ action: "where", osFamily: "fedora" }, { reader: store, staleAfterHours: 6 });
    const direct = await whereLatest(store, { osFamily: "fedora" });
    expect("pointers" in viaLambda && viaLambda.pointers).toEqual(direct.items);
    expect(await handleQuery({ action: "where" }, { reader: store, staleAfterHours: 6 })).toEqual({
      error: { code: "INVALID_QUERY", message: "exactly one of osFamily and family is required" },
    });
  });

  it("narrows to a version by whole parts; the family is read case-insensitively", async () => {
    expect((await whereLatest(store, { osFamily: "Fedora", osVersion: "40" })).items.map(row)).toEqual([
      ["40", "tencent-cvm", "ap-shanghai", "img-fed40"],
      ["40", "zenlayer-vm", "FRA-A", "fedora40-20250301"],
      ["40", "zenlayer-vm", "HKG-A", "fedora40-20250601"],
    ]);
    expect((await whereLatest(store, { osFamily: "fedora", osVersion: "4" })).items).toEqual([]);
    expect((await whereLatest(store, { osFamily: "fedora", osVersion: "38" })).items).toEqual([]);
    expect((await whereLatest(store, { osFamily: "nosuchos" })).items).toEqual([]);
  });

  it("pages with opaque tokens: every pointer once, in order; a token of another query is refused", async () => {
    const whole = await all({ osFamily: "fedora" });
    const paged = await all({ osFamily: "fedora" }, 2);
    expect(paged.pages).toBe(3);
    expect(paged.items.map(row)).toEqual(whole.items.map(row));
    const first = await whereLatest(store, { osFamily: "fedora" }, { limit: 2 });
    await expect(
      whereLatest(store, { osFamily: "ubuntu" }, { pageToken: first.nextPageToken as string }),
    ).rejects.toMatchObject({ code: "INVALID_PAGE_TOKEN" });
    const images = await findImages(store, { osFamily: "fedora" }, { limit: 1 });
    await expect(
      whereLatest(store, { osFamily: "fedora" }, { pageToken: images.nextPageToken as string }),
    ).rejects.toBeInstanceOf(QueryError);
    await expect(whereLatest(store, { osFamily: " " })).rejects.toMatchObject({ code: "INVALID_QUERY" });
    await expect(whereLatest(store, { osFamily: "fedora", osVersion: "." })).rejects.toMatchObject({
      code: "INVALID_QUERY",
    });
  });

  it("agrees with latestImage (the images' own index) for every pointer of a generated family", async () => {
    const { items } = await all({ osFamily: "ubuntu" });
    expect(new Set(items.map((p) => p.provider))).toEqual(new Set(["zenlayer", "tencent"]));
    for (const p of items) {
      // latestImage reads a version as a prefix: skip the versions another pointer of the scope extends.
      const v = versionKey(p.osVersion);
      const extended = items.some(
        (o) => o !== p && o.account === p.account && o.scope === p.scope && versionKey(o.osVersion).startsWith(`${v}.`),
      );
      // An unknown architecture answers no question that names one.
      if (extended || p.osVersion === null || p.architecture === "unknown") continue;
      const image = await latestImage(store, {
        osFamily: "ubuntu",
        osVersion: p.osVersion,
        scope: p.scope,
        account: p.account,
        architecture: p.architecture as string,
        imageType: p.imageType as string,
      });
      expect(image?.imageId, `${p.account} ${p.scope} ${p.osVersion}`).toBe(p.imageId);
    }
    // And there is a pointer for every scope, version, architecture and image type that has a usable Ubuntu image.
    const expected = new Set<string>();
    for (const [account, scopes] of [
      ["zenlayer-vm", ["FRA-A", "HKG-A"]],
      ["tencent-cvm", ["ap-guangzhou", "ap-shanghai"]],
    ] as const) {
      for (const scope of scopes) {
        for (const i of await store.listImages({ account, scope })) {
          if (i.osFamily === "ubuntu" && i.available && i.state === "active")
            expected.add(
              `${account}|${scope}|${versionKey(i.osVersion) || "any"}|${i.architecture ?? "unknown"}|${i.imageType}`,
            );
        }
      }
    }
    const fresh = items.filter((p) => !p.stale);
    expect(
      new Set(
        fresh.map(
          (p) => `${p.account}|${p.scope}|${versionKey(p.osVersion) || "any"}|${p.architecture}|${p.imageType}`,
        ),
      ),
    ).toEqual(expected);
    // One row per scope, version, architecture and type: no two pointers share them.
    const rows = items.map((p) => `${p.account}|${p.scope}|${p.osVersion}|${p.architecture}|${p.imageType}`);
    expect(new Set(rows).size).toBe(rows.length);
  });

  it("marks a version with no usable image left (its pointer stale), or leaves it out when asked; fresh once it has one", async () => {
    const fra = listing("zenlayer-vm", "FRA-A");
    const f39 = fra.find((r) => r.imageId === "fedora39-20250101") as Rec;
    f39.imageStatus = "UNAVAILABLE";
    await sync();
    const marked = await whereLatest(store, { osFamily: "fedora", osVersion: "39" });
    expect(marked.items.map((p) => [p.scope, p.imageId, p.stale, typeof p.staleSince])).toEqual([
      ["ap-guangzhou", "img-fed39new", false, "object"],
      ["FRA-A", "fedora39-20250101", true, "string"],
    ]);
    expect(
      (await whereLatest(store, { osFamily: "fedora", osVersion: "39", includeStale: false })).items.map(row),
    ).toEqual([["39", "tencent-cvm", "ap-guangzhou", "img-fed39new"]]);
    const lambda = await handleQuery(
      { action: "where", osFamily: "fedora", osVersion: "39" },
      { reader: store, staleAfterHours: 6 },
    );
    expect("pointers" in lambda && lambda.pointers.map((p) => p.stale)).toEqual([false, true]);
    fra.push(zl("fedora39-20250909", "39"));
    await sync();
    expect((await whereLatest(store, { osFamily: "fedora", osVersion: "39" })).items.map(row)).toEqual([
      ["39", "tencent-cvm", "ap-guangzhou", "img-fed39new"],
      ["39", "zenlayer-vm", "FRA-A", "fedora39-20250909"],
    ]);
  });
});

describe("image-sync where", () => {
  async function cli(args: string[]) {
    let stdout = "";
    let stderr = "";
    const code = await main(args, {
      stdout: (t) => {
        stdout += t;
      },
      stderr: (t) => {
        stderr += t;
      },
      env: { DYNAMODB_ENDPOINT: stack.dynamo.endpoint, TABLE_NAME: store.tableName, AWS_REGION: "us-east-1" },
    });
    return { code, stdout, stderr };
  }

  it("--json prints the same answer as whereLatest, as JSON alone on stdout", async () => {
    const r = await cli(["where", "--os", "fedora", "--version", "40", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual((await whereLatest(store, { osFamily: "fedora", osVersion: "40" })).items);
  });

  it("prints a table of account, scope, version, image id and name", async () => {
    const r = await cli(["where", "--os", "fedora"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]?.split(/\s{2,}/)).toEqual([
      "account",
      "scope",
      "version",
      "arch",
      "type",
      "imageId",
      "name",
      "since",
    ]);
    expect(lines.slice(1, -1).map((l) => l.split(/\s{2,}/).slice(0, 7))).toEqual([
      ["tencent-cvm", "ap-guangzhou", "39", "x86_64", "public", "img-fed39new", "Fedora 39 64bit"],
      ["zenlayer-vm", "FRA-A", "39", "x86_64", "public", "fedora39-20250909", "Fedora 39 x86 64-bit"],
      ["tencent-cvm", "ap-shanghai", "40", "x86_64", "public", "img-fed40", "Fedora 40 64bit"],
      ["zenlayer-vm", "FRA-A", "40", "x86_64", "public", "fedora40-20250301", "Fedora 40 x86 64-bit"],
      ["zenlayer-vm", "HKG-A", "40", "x86_64", "public", "fedora40-20250601", "Fedora 40 x86 64-bit"],
    ]);
    expect(lines.at(-1)).toBe("5 latest fedora images in 4 scopes");
  });

  it("needs --os (exit 2) and lists nothing, successfully, for a family nobody has", async () => {
    expect((await cli(["where"])).code).toBe(2);
    expect((await cli(["where", "--os", "fedora", "--family", "x"])).code).toBe(2);
    expect((await cli(["where", "--os", "fedora", "--bogus"])).code).toBe(2);
    const none = await cli(["where", "--os", "plan9", "--json"]);
    expect(none).toMatchObject({ code: 0, stdout: "[]\n" });
  });
});
