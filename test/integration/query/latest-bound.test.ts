// latestImage's read bound: the OS family's index partition holds every scope of every account and the scope
// is a filter, so a question nothing answers would read all of it. Each Query page has a Limit, and at most
// maxExamined items are examined; a question not settled by then throws READ_LIMIT.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoredImage } from "../../../lib/model.ts";
import {
  DEFAULT_MAX_EXAMINED,
  findImages,
  LATEST_PAGE_ITEMS,
  latestImage,
  QueryError,
} from "../../../lib/query/index.ts";
import type { ItemReader } from "../../../lib/store/store.ts";
import { type Stack, startStack } from "../../helpers/stack.ts";

let stack: Stack;
let ubuntu: StoredImage[];
/** The Limit of every Query page latestImage sent through `counting`. */
let limits: Array<number | undefined> = [];
let counting: ItemReader;

beforeAll(async () => {
  stack = await startStack({ scale: 0.2 });
  expect((await stack.sync(stack.config(["zenlayer-vm"], () => ({ scopes: ["FRA-A", "HKG-A", "SIN-A"] })))).ok).toBe(
    true,
  );
  ubuntu = [];
  let pageToken: string | undefined;
  do {
    const page = await findImages(
      stack.store,
      { osFamily: "ubuntu" },
      { limit: 1000, ...(pageToken ? { pageToken } : {}) },
    );
    ubuntu.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken);
  counting = {
    tableName: stack.store.tableName,
    getItem: (key) => stack.store.getItem(key),
    queryPage: (input) => {
      limits.push(input.Limit);
      return stack.store.queryPage(input);
    },
  };
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

const examined = () => limits.reduce<number>((n, l) => n + (l ?? Number.POSITIVE_INFINITY), 0);

async function refusal(call: Promise<unknown>): Promise<QueryError> {
  const e = await call.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(QueryError);
  return e as QueryError;
}

describe("latestImage reads a bounded part of the OS family's index", () => {
  it("a scope nothing answers in reads at most maxExamined items, in limited pages, then throws READ_LIMIT", async () => {
    expect(ubuntu.length).toBeGreaterThan(10);
    limits = [];
    const q = { osFamily: "ubuntu", scope: "NO-SUCH-ZONE", architecture: "x86_64", imageType: "public" };
    const e = await refusal(latestImage(counting, q, { maxExamined: 7 }));
    expect(e.code).toBe("READ_LIMIT");
    expect(e.message).toContain("found no usable image within 7 items");
    expect(e.message).toContain("osVersion");
    expect(limits).toEqual([7]);

    // Within the default bound the whole (small) partition is read and nothing matches: undefined, not an error.
    expect(ubuntu.length).toBeLessThan(DEFAULT_MAX_EXAMINED);
    limits = [];
    expect(await latestImage(counting, q)).toBeUndefined();
    expect(limits.every((l) => l !== undefined && l <= LATEST_PAGE_ITEMS)).toBe(true);
    expect(limits.length).toBe(Math.ceil((ubuntu.length + 1) / LATEST_PAGE_ITEMS));
    expect(examined()).toBeLessThanOrEqual(DEFAULT_MAX_EXAMINED);
  });

  it("with the architecture left open, a match it cannot prove unambiguous within the bound is refused, not guessed", async () => {
    const usable = ubuntu.filter((i) => i.scope === "FRA-A" && i.state === "active" && i.available);
    expect(usable.length).toBeGreaterThan(1);
    limits = [];
    const e = await refusal(latestImage(counting, { osFamily: "ubuntu", scope: "FRA-A" }, { maxExamined: 2 }));
    expect(e.code).toBe("READ_LIMIT");
    expect(e.message).toMatch(/found a usable image but could not prove|found no usable image/);
    expect(examined()).toBe(2);
  });

  it("a question that names everything stops at its first match", async () => {
    const x86 = ubuntu.find((i) => i.scope === "FRA-A" && i.state === "active" && i.available && i.architecture);
    expect(x86).toBeDefined();
    limits = [];
    const q = {
      osFamily: "ubuntu",
      scope: "FRA-A",
      architecture: String(x86?.architecture),
      imageType: String(x86?.imageType),
    };
    const image = await latestImage(counting, q);
    expect(image?.scope).toBe("FRA-A");
    expect(image).toEqual(await latestImage(stack.store, q, { maxExamined: 100_000 }));
    expect(limits.length).toBeLessThanOrEqual(Math.ceil(ubuntu.length / LATEST_PAGE_ITEMS));
  });

  it("refuses a maxExamined that is not a positive integer", async () => {
    for (const maxExamined of [0, -1, 1.5, Number.NaN]) {
      const e = await refusal(latestImage(stack.store, { osFamily: "ubuntu", scope: "FRA-A" }, { maxExamined }));
      expect(e.code).toBe("INVALID_QUERY");
    }
  });
});
