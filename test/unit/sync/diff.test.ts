import { describe, expect, it } from "vitest";
import type { FetchedImage, StoredImage } from "../../../lib/model.ts";
import { diffScope } from "../../../lib/sync/diff.ts";
import { contentHash, stableStringify } from "../../../lib/sync/hash.ts";
import { fetchedImage } from "../../helpers/images.ts";

const key = { account: "acct", api: "zenlayer-zec" as const, provider: "zenlayer" as const, scope: "asia-east-1a" };
const T0 = "2026-01-01T00:00:00.000Z";
const T1 = "2026-01-02T00:00:00.000Z";

const fetched = fetchedImage;

/** What the store holds after a baseline diff of `images` at T0. */
function storedFrom(images: FetchedImage[]): Map<string, StoredImage> {
  const r = diffScope({ key, stored: new Map(), fetched: images, baseline: true, now: T0, runId: "r0" });
  return new Map(r.changes.map((c) => [c.after.imageId, c.after]));
}

const run = (stored: Map<string, StoredImage>, images: FetchedImage[]) =>
  diffScope({ key, stored, fetched: images, baseline: false, now: T1, runId: "r1" });

describe("diffScope", () => {
  it("baseline: every image added, marked baseline, with first-seen time", () => {
    const r = diffScope({
      key,
      stored: new Map(),
      fetched: [fetched("a"), fetched("b")],
      baseline: true,
      now: T0,
      runId: "r0",
    });
    expect(r.changes.map((c) => [c.kind, c.after.imageId, c.after.lastChange.baseline])).toEqual([
      ["added", "a", true],
      ["added", "b", true],
    ]);
    const a = r.changes[0]?.after;
    expect(a).toMatchObject({
      state: "active",
      firstSeenAt: T0,
      lastChangedAt: T0,
      rev: 1,
      deprecatedAt: null,
      account: "acct",
    });
    expect(a).not.toHaveProperty("unusable");
    expect(r.counts).toEqual({ active: 2, deprecated: 0 });
  });

  it("unchanged images produce no change at all", () => {
    const stored = storedFrom([fetched("a"), fetched("b")]);
    const r = run(stored, [fetched("b"), fetched("a")]);
    expect(r.changes).toEqual([]);
    expect(r.unchanged).toBe(2);
  });

  it("key order in the raw record is not a change", () => {
    const stored = storedFrom([fetched("a", { raw: { x: 1, y: 2 } })]);
    expect(run(stored, [fetched("a", { raw: { y: 2, x: 1 } })]).changes).toEqual([]);
  });

  it("a content change is an update that keeps firstSeenAt and bumps rev", () => {
    const stored = storedFrom([fetched("a")]);
    const r = run(stored, [fetched("a", { description: "new", raw: { imageId: "a", imageDescription: "new" } })]);
    expect(r.changes).toHaveLength(1);
    expect(r.changes[0]).toMatchObject({
      kind: "updated",
      after: { firstSeenAt: T0, lastChangedAt: T1, rev: 2, description: "new" },
    });
    expect(r.changes[0]?.after.lastChange).toEqual({ kind: "updated", at: T1, runId: "r1", baseline: false });
  });

  it("an image absent from a complete sweep is deprecated as missing, content kept, never deleted", () => {
    const stored = storedFrom([fetched("a"), fetched("b")]);
    const r = run(stored, [fetched("a")]);
    expect(r.changes).toHaveLength(1);
    const c = r.changes[0];
    expect(c?.kind).toBe("deprecated");
    expect(c?.after).toMatchObject({
      imageId: "b",
      state: "deprecated",
      deprecatedAt: T1,
      deprecationReason: "missing",
      available: false,
    });
    expect(c?.after.name).toBe("Ubuntu b");
    expect(c?.after.lastChange.reason).toBe("missing");
    expect(r.counts).toEqual({ active: 1, deprecated: 1 });
  });

  it("an already deprecated missing image is not written again", () => {
    const stored = storedFrom([fetched("a"), fetched("b")]);
    const once = run(stored, [fetched("a")]);
    for (const c of once.changes) stored.set(c.after.imageId, c.after);
    const again = run(stored, [fetched("a")]);
    expect(again.changes).toEqual([]);
    expect(again.unchanged).toBe(2);
  });

  it("a status that makes the image unusable deprecates it with reason status", () => {
    const stored = storedFrom([fetched("a")]);
    const r = run(stored, [fetched("a", { status: "UNAVAILABLE", available: false, unusable: "status" })]);
    expect(r.changes[0]).toMatchObject({
      kind: "deprecated",
      after: { state: "deprecated", deprecationReason: "status", status: "UNAVAILABLE" },
    });
  });

  it("a provider deprecation flag deprecates with reason flag", () => {
    const stored = storedFrom([fetched("a")]);
    const r = run(stored, [fetched("a", { unusable: "flag", raw: { ImageDeprecated: true } })]);
    expect(r.changes[0]).toMatchObject({ kind: "deprecated", after: { deprecationReason: "flag" } });
  });

  it("a deprecated image that is listed and usable again is restored", () => {
    const stored = storedFrom([fetched("a")]);
    for (const c of run(stored, []).changes) stored.set(c.after.imageId, c.after);
    expect(stored.get("a")?.state).toBe("deprecated");
    const r = diffScope({
      key,
      stored,
      fetched: [fetched("a")],
      baseline: false,
      now: "2026-01-03T00:00:00.000Z",
      runId: "r2",
    });
    expect(r.changes[0]).toMatchObject({
      kind: "restored",
      after: { state: "active", deprecatedAt: null, deprecationReason: null, firstSeenAt: T0, available: true },
    });
  });

  it("a missing image that reappears unusable stays deprecated and records the new reason", () => {
    const stored = storedFrom([fetched("a")]);
    for (const c of run(stored, []).changes) stored.set(c.after.imageId, c.after);
    const r = run(stored, [fetched("a", { status: "FAILED", available: false, unusable: "status" })]);
    expect(r.changes[0]).toMatchObject({
      kind: "updated",
      after: { state: "deprecated", deprecationReason: "status", deprecatedAt: T1 },
    });
  });

  it("a deprecated-by-status image whose content does not change is not written", () => {
    const bad = fetched("a", { status: "UNAVAILABLE", available: false, unusable: "status" });
    const stored = storedFrom([fetched("a")]);
    for (const c of run(stored, [bad]).changes) stored.set(c.after.imageId, c.after);
    expect(run(stored, [bad]).changes).toEqual([]);
  });

  it("a new image that is already unusable is added as deprecated", () => {
    const r = run(new Map(), [fetched("n", { status: "FAILED", available: false, unusable: "status" })]);
    expect(r.changes[0]).toMatchObject({
      kind: "added",
      after: { state: "deprecated", deprecationReason: "status", deprecatedAt: T1 },
    });
  });

  it("a transitional status (CREATING) neither deprecates nor alerts as unusable", () => {
    const stored = storedFrom([fetched("a")]);
    const r = run(stored, [fetched("a", { status: "CREATING", available: false })]);
    expect(r.changes[0]).toMatchObject({ kind: "updated", after: { state: "active", available: false } });
  });
});

describe("contentHash", () => {
  it("is stable over key order and sensitive to values", () => {
    expect(stableStringify({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
    expect(contentHash(fetched("a"))).toBe(contentHash(fetched("a")));
    expect(contentHash(fetched("a"))).not.toBe(contentHash(fetched("a", { sizeGiB: 21 })));
  });
});
